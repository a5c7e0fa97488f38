"""What the chat needs from archived conversations in PostgreSQL (read only), over the pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.services.identity_db import Pool, connect

# One round trip answers both "is it archived?" and "did its owner delete it?".
_FIND_CONVERSATION = """
    SELECT c.id, c.user_id, c.merchant_id, c.workflow_name, c.started_at, c.ended_at, c.messages,
           c.archived_at,
           EXISTS (SELECT 1 FROM conversation_tombstones t WHERE t.id = w.id) AS deleted
      FROM (SELECT $1::uuid AS id) AS w
      LEFT JOIN conversations AS c ON c.id = w.id
    """


class DeletedConversationError(Exception):
    """Its owner deleted it: it must not come back to life under the same id."""


# The newest listed archived conversation of the user other than the current one, and its title
# (migration 009: a generated title, else the merchant's first message condensed).
_LAST_TOPIC = """
    SELECT c.started_at, COALESCE(c.title, c.first_message_title) AS topic
      FROM conversations AS c
     WHERE c.user_id = $1 AND c.id <> $2::uuid AND c.first_message_title IS NOT NULL
     ORDER BY c.started_at DESC NULLS LAST, c.id DESC
     LIMIT 1
    """


@dataclass(frozen=True)
class ArchivedConversation:
    conversation_id: str
    user_id: str | None
    merchant_id: str | None
    workflow: str | None
    started_at: str | None
    ended_at: str | None
    archived_at: str | None
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class PreviousConversation:
    """The user's last archived conversation: when, and its title."""

    started_at: str | None
    topic: str | None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


async def find_archived_conversation(
    *, pool: Pool, conversation_id: str
) -> ArchivedConversation | None:
    async with connect(pool) as connection:
        row = await connection.fetchrow(_FIND_CONVERSATION, conversation_id)
    assert row is not None  # the VALUES side always yields one row
    if row["deleted"]:
        raise DeletedConversationError(conversation_id)
    if row["id"] is None:
        return None
    messages = row["messages"] if isinstance(row["messages"], list) else []
    return ArchivedConversation(
        conversation_id=str(row["id"]),
        user_id=row["user_id"],
        merchant_id=row["merchant_id"],
        workflow=row["workflow_name"],
        started_at=_iso(row["started_at"]),
        ended_at=_iso(row["ended_at"]),
        archived_at=_iso(row["archived_at"]),
        messages=[m for m in messages if isinstance(m, dict)],
    )


async def previous_conversation(
    *, pool: Pool, user_id: str, conversation_id: str
) -> PreviousConversation | None:
    async with connect(pool) as connection:
        row = await connection.fetchrow(_LAST_TOPIC, user_id, conversation_id)
    if row is None:
        return None
    return PreviousConversation(started_at=_iso(row["started_at"]), topic=row["topic"])
