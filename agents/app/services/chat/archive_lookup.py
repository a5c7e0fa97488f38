"""What the chat needs from archived conversations in PostgreSQL (read only), over the pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.services.identity_db import HistoryPool, connect

TOPIC_MAX_CHARS = 80

# One round trip answers both "is it archived?" and "did its owner delete it?".
_FIND_CONVERSATION = """
    SELECT c.id, c.user_id, c.merchant_id, c.workflow_name, c.started_at, c.ended_at, c.messages,
           EXISTS (SELECT 1 FROM conversation_tombstones t WHERE t.id = w.id) AS deleted
      FROM (SELECT $1::uuid AS id) AS w
      LEFT JOIN conversations AS c ON c.id = w.id
    """


class DeletedConversationError(Exception):
    """Its owner deleted it: it must not come back to life under the same id."""


# The newest archived conversation of the user, other than the current one, and its first user
# message (found inside PostgreSQL, so only one short string crosses the wire).
_LAST_TOPIC = """
    SELECT c.started_at,
           (SELECT m.value ->> 'content'
              FROM jsonb_array_elements(c.messages) WITH ORDINALITY AS m(value, position)
             WHERE m.value ->> 'sender' = 'user'
             ORDER BY m.position
             LIMIT 1) AS topic
      FROM conversations AS c
     WHERE c.user_id = $1 AND c.id <> $2::uuid
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
    messages: list[dict[str, Any]]


@dataclass(frozen=True)
class PreviousConversation:
    """The user's last archived conversation: when, and its first user message (truncated)."""

    started_at: str | None
    topic: str | None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def truncate_topic(topic: str | None, limit: int = TOPIC_MAX_CHARS) -> str | None:
    if topic is None:
        return None
    flat = " ".join(topic.split())
    if not flat:
        return None
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


async def find_archived_conversation(
    *, pool: HistoryPool, conversation_id: str
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
        messages=[m for m in messages if isinstance(m, dict)],
    )


async def previous_conversation(
    *, pool: HistoryPool, user_id: str, conversation_id: str
) -> PreviousConversation | None:
    async with connect(pool) as connection:
        row = await connection.fetchrow(_LAST_TOPIC, user_id, conversation_id)
    if row is None:
        return None
    return PreviousConversation(
        started_at=_iso(row["started_at"]), topic=truncate_topic(row["topic"])
    )
