"""The reconciliation sweep: a rare SCAN of the live sessions that queues any conversation that is
newer than its archived row but in neither queue set (for example a session write whose queue
entry was never made). The queue is what archival trusts; this only catches what missed it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import asyncpg

from app.core.redis_keys import conversation_due_key, messages_key, session_key
from app.services.archival import store
from app.services.archival.queue import queued_or_leased
from shared.redis_client import AnyRedis

logger = logging.getLogger(__name__)

SESSION_PATTERN = "conv:{*}:session"
Connect = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


async def reconcile(redis: AnyRedis, *, connection: Connect) -> int:
    """Queue the live conversations the archive is behind on and the queue does not know; how
    many."""
    queued, chunk = 0, []
    async for key in redis.scan_iter(match=SESSION_PATTERN, count=1000):
        chunk.append(key[len("conv:{") : -len("}:session")])
        if len(chunk) >= 500:
            queued += await _reconcile_chunk(redis, ids=chunk, connection=connection)
            chunk = []
    if chunk:
        queued += await _reconcile_chunk(redis, ids=chunk, connection=connection)
    if queued:
        logger.warning("reconciliation queued %d conversations missing from the index", queued)
    return queued


async def _reconcile_chunk(redis: AnyRedis, *, ids: list[str], connection: Connect) -> int:
    known = await queued_or_leased(redis, ids=ids)
    candidates = [i for i in ids if i not in known and store.canonical_id(i) is not None]
    if not candidates:
        return 0
    pipe = redis.pipeline(transaction=False)
    for conversation_id in candidates:
        pipe.hget(session_key(conversation_id), "version")
        pipe.llen(messages_key(conversation_id))
    replies = await pipe.execute()
    async with connection() as conn:
        archived = await store.archived_state(conn, ids=candidates)
    stale: dict[str, float] = {}
    for index, conversation_id in enumerate(candidates):
        version, count = int(replies[2 * index] or 0), int(replies[2 * index + 1])
        if count and (count, version) > archived.get(conversation_id, (0, -1)):
            stale[conversation_id] = time.time()
    if stale:
        pipe = redis.pipeline(transaction=False)
        for conversation_id, due_at in stale.items():
            pipe.zadd(conversation_due_key(conversation_id), {conversation_id: due_at}, nx=True)
        await pipe.execute()
    return len(stale)
