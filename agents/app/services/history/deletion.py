"""Deleting one conversation of a user's history, from PostgreSQL and from Redis if it is live."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from typing import TypeVar

from app.exceptions import ConversationNotFound, StoreUnavailable
from app.services.archival.store import CONVERSATION_LOCK_SPACE, LOCK_FOR_DELETING
from app.services.identity_db import Pool, connect
from app.services.session_manager import SessionManager
from shared.redis_client import REDIS_ERRORS

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The tombstone is written in the same statement as the DELETE (also for a conversation that
# only lives in Redis yet): an archiver that read it just before will not write it back. The
# statement runs under the conversation's advisory lock (see archive_store), so an archiver's
# upsert of the same id is either wholly before it or sees the tombstone.
_DELETE = """
WITH gone AS (
    DELETE FROM conversations WHERE id = $1 AND user_id = $2 RETURNING id
), tombstone AS (
    INSERT INTO conversation_tombstones (id)
    SELECT $1 WHERE $3 OR EXISTS (SELECT 1 FROM gone)
    ON CONFLICT (id) DO NOTHING
)
SELECT id FROM gone
"""


async def delete_conversation(
    *,
    pool: Pool,
    sessions: SessionManager,
    user_id: str,
    conversation_id: uuid.UUID,
) -> None:
    """Delete the user's conversation from PostgreSQL and, if live, from Redis.

    A live session that names another user wins over everything: 404 and nothing deleted. The
    user's own live session is removed from Redis first, so the archiver cannot write it back.
    """
    key = str(conversation_id)
    live_owner, live = await _redis_call(sessions.live_owner(conversation_id=key))
    if live_owner and live_owner != user_id:
        raise ConversationNotFound()
    owns_live = live and live_owner == user_id
    if owns_live:
        await _redis_call(sessions.delete_live_conversation(conversation_id=key))
    async with connect(pool) as connection, connection.transaction():
        await connection.execute(LOCK_FOR_DELETING, CONVERSATION_LOCK_SPACE, conversation_id)
        deleted = await connection.fetchrow(_DELETE, conversation_id, user_id, owns_live)
    if deleted is None and not owns_live:
        raise ConversationNotFound()
    if deleted is not None and live and not live_owner:
        # An anonymous live copy of a conversation archived under this user.
        await _redis_call(sessions.delete_live_conversation(conversation_id=key))
    logger.info("history delete user=%s conversation=%s", user_id, conversation_id)


async def _redis_call(call: Awaitable[T]) -> T:
    """Redis unreachable: 503, retry."""
    try:
        return await call
    except REDIS_ERRORS as exc:
        logger.error("history redis error: %s", type(exc).__name__)
        raise StoreUnavailable() from exc
