"""The archive index: which live conversation must be archived by when, and who is archiving it.

Session writes keep ``archive:due`` (a sorted set scored by the unix time by which a conversation
must be archived), so the archiver finds its work with one range query instead of scanning the
keyspace. ``LT`` means a write can only bring a deadline forward, never push it back: a busy
conversation is still archived about ARCHIVE_IDLE_SECONDS after its first unarchived write, and
an ended one at once.

The archiver's side is three Lua scripts over a second sorted set, ``archive:leased`` (member =
conversation id, score = when the lease ends):

- claim: return expired leases to ``archive:due`` (their worker died), then atomically move up
  to N due members into ``archive:leased``. Two workers never get the same member, and a dead
  worker's claim comes back by itself. Leases live in their own set so that ``--all`` (claim
  everything, due or not) cannot re-claim its own leases and the "oldest due" age is not
  disturbed by them.
- ack: after the commit, drop a lease only if the session's ``version`` is still the archived
  one. If a write came in meanwhile, that write has re-queued the member in ``archive:due``
  (and the lease is dropped); if another worker has since claimed it, the lease is left alone.
- release: hand claims back to ``archive:due`` (shutdown, or PostgreSQL unreachable in --once).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from app.core.redis_keys import ARCHIVE_DUE_KEY, ARCHIVE_LEASED_KEY, messages_key, session_key

# KEYS: due, leased. ARGV: now, limit, lease_until, max_score.
_CLAIM = """
local expired = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, 1000,
                           'WITHSCORES')
for i = 1, #expired, 2 do
  redis.call('ZADD', KEYS[1], 'LT', expired[i + 1], expired[i])
  redis.call('ZREM', KEYS[2], expired[i])
end
local ids = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[4], 'BYSCORE', 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[3], id)
end
return ids
"""

# KEYS: due, leased, then one session key per conversation. ARGV: id, version pairs
# (version "" = the session was gone when read). Returns how many leases were settled.
_ACK = """
local settled = 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i]
  local current = redis.call('HGET', KEYS[2 + (i + 1) / 2], 'version')
  if (current or '') == ARGV[i + 1] then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[1], id)
    settled = settled + 1
  elseif redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZREM', KEYS[2], id)
  end
end
return settled
"""

# KEYS: due, leased. ARGV: due_at, ids...
_RELEASE = """
for i = 2, #ARGV do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[1], 'LT', ARGV[1], ARGV[i])
  end
end
return #ARGV - 1
"""


def schedule_archival(pipe: Any, *, conversation_id: str, due_at: float) -> None:
    """Queue ``conversation_id`` for archival by ``due_at`` (or keep its earlier deadline)."""
    pipe.zadd(ARCHIVE_DUE_KEY, {conversation_id: due_at}, lt=True)


async def claim_due(
    redis: aioredis.Redis,
    *,
    now: float,
    limit: int,
    lease_seconds: float,
    max_score: float | None = None,
) -> list[str]:
    """Lease up to ``limit`` conversations due by ``max_score`` (default ``now``)."""
    upper = now if max_score is None else max_score
    ids = await redis.eval(
        _CLAIM,
        2,
        ARCHIVE_DUE_KEY,
        ARCHIVE_LEASED_KEY,
        repr(now),
        str(limit),
        repr(now + lease_seconds),
        "+inf" if math.isinf(upper) else repr(upper),
    )
    return list(ids)


async def ack_archived(redis: aioredis.Redis, *, versions: Mapping[str, str]) -> int:
    """Settle leases whose session still has the archived version; returns how many."""
    if not versions:
        return 0
    ids = list(versions)
    args: list[str] = []
    for conversation_id in ids:
        args += [conversation_id, versions[conversation_id]]
    keys = [ARCHIVE_DUE_KEY, ARCHIVE_LEASED_KEY, *(session_key(i) for i in ids)]
    return int(await redis.eval(_ACK, len(keys), *keys, *args))


async def release_claims(redis: aioredis.Redis, *, ids: Sequence[str], due_at: float) -> None:
    """Give leased conversations back to the due queue (due at ``due_at`` or earlier)."""
    if ids:
        await redis.eval(_RELEASE, 2, ARCHIVE_DUE_KEY, ARCHIVE_LEASED_KEY, repr(due_at), *ids)


async def extend_leases(redis: aioredis.Redis, *, ids: Sequence[str], until: float) -> None:
    """Keep our leases alive while a batch waits for PostgreSQL (XX: never re-create one)."""
    if ids:
        await redis.zadd(ARCHIVE_LEASED_KEY, dict.fromkeys(ids, until), xx=True)


async def extend_ttls(redis: aioredis.Redis, *, ids: Iterable[str], seconds: int) -> None:
    """Push the TTL of conversations' keys out to ``seconds`` (GT: never shorten one)."""
    pipe = redis.pipeline(transaction=False)
    for conversation_id in ids:
        pipe.expire(session_key(conversation_id), seconds, gt=True)
        pipe.expire(messages_key(conversation_id), seconds, gt=True)
    await pipe.execute()


async def at_risk_ids(
    redis: aioredis.Redis, *, key: str, horizon: float, offset: int, count: int
) -> list[str]:
    """A page of the conversations in ``key`` (due or leased) by ``horizon``, to keep alive."""
    members = await redis.zrangebyscore(key, "-inf", horizon, start=offset, num=count)
    # decode_responses=True: members are str, which the client's type hints cannot know.
    return cast(list[str], members)


async def next_due_at(redis: aioredis.Redis) -> float | None:
    """The earliest deadline among queued conversations and running leases, if any."""
    pipe = redis.pipeline(transaction=False)
    pipe.zrange(ARCHIVE_DUE_KEY, 0, 0, withscores=True)
    pipe.zrange(ARCHIVE_LEASED_KEY, 0, 0, withscores=True)
    firsts = cast(list[list[tuple[str, float]]], await pipe.execute())
    scores = [entries[0][1] for entries in firsts if entries]
    return min(scores) if scores else None


async def oldest_due_age(redis: aioredis.Redis, *, now: float) -> float:
    """Seconds the most overdue conversation has waited past its deadline (0 when none)."""
    first = await next_due_at(redis)
    return max(0.0, now - first) if first is not None else 0.0


async def queued_or_leased(redis: aioredis.Redis, *, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are in either set (the reconciliation sweep skips those)."""
    pipe = redis.pipeline(transaction=False)
    for conversation_id in ids:
        pipe.zscore(ARCHIVE_DUE_KEY, conversation_id)
        pipe.zscore(ARCHIVE_LEASED_KEY, conversation_id)
    scores = await pipe.execute()
    return {
        conversation_id
        for index, conversation_id in enumerate(ids)
        if scores[2 * index] is not None or scores[2 * index + 1] is not None
    }
