"""Deleting one conversation of a user's history, from PostgreSQL and from Redis if it is live."""

from __future__ import annotations

import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from app.services.history import ConversationNotFound, HistoryUnavailable, connect
from app.services.identity_db_async import HistoryPool
from app.services.redis_keys import (
    ARCHIVE_DUE_KEY,
    ARCHIVE_LEASED_KEY,
    messages_key,
    session_key,
)

logger = logging.getLogger(__name__)

# The tombstone is written in the same statement as the DELETE (also for a conversation that
# only lives in Redis yet): an archiver that read it just before will not write it back.
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
    pool: HistoryPool,
    redis: aioredis.Redis,
    user_id: str,
    conversation_id: uuid.UUID,
) -> None:
    """Delete the user's conversation from PostgreSQL and, if live, from Redis.

    A live session that names another user wins over everything: 404 and nothing deleted. The
    user's own live session is removed from Redis first, so the archiver cannot write it back.
    """
    key = str(conversation_id)
    live_owner, live = await _live_session(redis, key)
    if live_owner and live_owner != user_id:
        raise ConversationNotFound()
    owns_live = live and live_owner == user_id
    if owns_live:
        await _delete_live(redis, key)
    async with connect(pool) as connection:
        deleted = await connection.fetchrow(_DELETE, conversation_id, user_id, owns_live)
    if deleted is None and not owns_live:
        raise ConversationNotFound()
    if deleted is not None and live and not live_owner:
        # An anonymous live copy of a conversation archived under this user.
        await _delete_live(redis, key)
    logger.info("history delete user=%s conversation=%s", user_id, conversation_id)


async def _live_session(redis: aioredis.Redis, key: str) -> tuple[str | None, bool]:
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hget(session_key(key), "user_id")
            pipe.exists(session_key(key), messages_key(key))
            owner, exists = await pipe.execute()
    except (RedisError, OSError) as exc:
        logger.error("history redis error: %s", type(exc).__name__)
        raise HistoryUnavailable() from exc
    return owner, bool(exists)


async def _delete_live(redis: aioredis.Redis, key: str) -> None:
    try:
        # Not MULTI: archive:due lives in another cluster slot than the conversation's keys.
        async with redis.pipeline(transaction=False) as pipe:
            pipe.delete(session_key(key), messages_key(key))
            pipe.zrem(ARCHIVE_DUE_KEY, key)
            pipe.zrem(ARCHIVE_LEASED_KEY, key)
            await pipe.execute()
    except (RedisError, OSError) as exc:
        logger.error("history redis error: %s", type(exc).__name__)
        raise HistoryUnavailable() from exc
