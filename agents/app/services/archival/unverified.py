"""Conversations the chat opened while PostgreSQL was away, settled when they are archived.

``start`` looks an unknown id up in the archive (to restore it for its owner, or refuse a
deleted one). When PostgreSQL does not answer, the chat still starts and the session is marked
``unverified``. Nearly always the id is new. If it was not (a stale tab of a conversation that
was archived, of another user or deleted), writing it under its own id would lose one of the
two conversations: the upsert keeps the row with more messages, and a tombstoned id is never
written. So when such an id meets a row that is not its own (another start time) or a
tombstone, it is archived under an id of its own, derived from the chat's id and start time,
so every later archive of the same session lands on the same row. The original row is never
touched; the new row belongs to whoever held the session.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import asyncpg

# Fixed: the derived ids must be the same in every process and release.
_NAMESPACE = uuid.UUID("6b1f0a52-4a6e-4f55-9a43-3c1e5d0b7e21")

_TAKEN = """
SELECT w.id::text AS id, c.started_at, c.id IS NOT NULL AS archived,
       EXISTS (SELECT 1 FROM conversation_tombstones t WHERE t.id = w.id) AS deleted
  FROM unnest($1::uuid[]) AS w(id)
  LEFT JOIN conversations AS c ON c.id = w.id
"""


def derived_id(conversation_id: str, started_at: datetime | None) -> str:
    stamp = started_at.isoformat() if started_at is not None else ""
    return str(uuid.uuid5(_NAMESPACE, f"{conversation_id}/{stamp}"))


async def settle_ids(
    connection: asyncpg.Connection,
    *,
    ids: list[str],
    started_at: list[datetime | None],
    metadata: list[str],
    unverified: set[int],
) -> tuple[list[str], list[str]]:
    """The ids (and metadata) to write the batch under: an unverified conversation whose id
    is another conversation's row or a tombstone gets its derived id (and says which chat id
    it came from in its metadata)."""
    if not unverified:
        return ids, metadata
    position = {ids[index]: index for index in unverified}
    rows = await connection.fetch(_TAKEN, list(position))
    taken = {
        row["id"]
        for row in rows
        if row["deleted"]
        or (row["archived"] and row["started_at"] != started_at[position[row["id"]]])
    }
    if not taken:
        return ids, metadata
    ids, metadata = list(ids), list(metadata)
    for index in unverified:
        if ids[index] in taken:
            extra = {**json.loads(metadata[index]), "chat_conversation_id": ids[index]}
            ids[index] = derived_id(ids[index], started_at[index])
            metadata[index] = json.dumps(extra)
    return ids, metadata
