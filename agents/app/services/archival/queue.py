"""The archive queue: which live conversation must be archived by when, and who is archiving it.

Session writes queue a conversation in its shard's ``archive:{n}:due`` (a sorted set scored by
the unix time by which it must be archived), so the archiver finds its work with range queries
instead of scanning the keyspace. ``LT`` means a write can only bring a deadline forward, never
push it back: a busy conversation is still archived about ARCHIVE_IDLE_SECONDS after its first
unarchived write, and an ended one at once.

The archiver's side is three Lua scripts, each over one shard's pair (``{n}`` is their hash
tag, so a Redis Cluster keeps a pair in one slot and the pairs spread over its shards):

- claim: return expired leases of the shard to its due set (their worker died), then move up
  to N due members into ``archive:{n}:leased``, scored by the end of the lease. Two workers
  never get the same member, and a dead worker's claim comes back by itself. Claims walk the
  shards in turn from where the last one stopped. Every claim scores its leases with a value of
  its own (the lease end plus a random fraction of a millisecond), so a worker recognises its
  own leases: one that expired and was claimed again by another worker is left alone.
- ack: after the commit, per conversation, the session's ``version`` is read (it lives in the
  conversation's own slot) and the lease, if still ours, is dropped when that version is the
  archived one, or handed back to the due set when a write came in meanwhile.
- release: hand our leases back to the due set (shutdown, or PostgreSQL unreachable in --once).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from app.core.redis_keys import (
    ARCHIVE_SHARDS,
    LEGACY_DUE_KEY,
    LEGACY_LEASED_KEY,
    due_key,
    leased_key,
    messages_key,
    session_key,
    shard_of,
)
from app.core.redis_scripts import LuaScript, run_pipeline
from shared.redis_client import AnyRedis

# KEYS: due, leased. ARGV: now, limit, lease_until, max_score.
CLAIM = LuaScript(
    """
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
)

# KEYS: due, leased. ARGV: our lease score, now, then (id, '1' archived as is | '0' changed).
ACK = LuaScript(
    """
local settled = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local score = redis.call('ZSCORE', KEYS[2], id)
  if score and tonumber(score) == tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[2], id)
    if ARGV[i + 1] == '1' then
      settled = settled + 1
    else
      redis.call('ZADD', KEYS[1], 'LT', ARGV[2], id)
    end
  end
end
return settled
"""
)

# KEYS: due, leased. ARGV: our lease score, due_at, then ids.
RELEASE = LuaScript(
    """
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('ZADD', KEYS[1], 'LT', ARGV[2], ARGV[i])
  end
end
return 1
"""
)

# KEYS: leased. ARGV: our lease score, the new one, then ids. Never re-creates a lease.
EXTEND = LuaScript(
    """
for i = 3, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[1]) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[i])
  end
end
return 1
"""
)

# KEYS: due. ARGV: the score a refused write queued the id with, the id. Removes that entry
# only, so a concurrent write's own (other) deadline is kept.
UNQUEUE = LuaScript(
    """
local score = redis.call('ZSCORE', KEYS[1], ARGV[2])
if score and tonumber(score) == tonumber(ARGV[1]) then redis.call('ZREM', KEYS[1], ARGV[2]) end
return 1
"""
)

QUEUE_SCRIPTS = (CLAIM, ACK, RELEASE, EXTEND, UNQUEUE)


def _score(value: float) -> str:
    return "+inf" if math.isinf(value) else repr(value)


def _unique(lease_until: float) -> float:
    return lease_until + random.random() / 1000


def _by_shard(ids: Iterable[str]) -> dict[int, list[str]]:
    shards: dict[int, list[str]] = {}
    for conversation_id in ids:
        shards.setdefault(shard_of(conversation_id), []).append(conversation_id)
    return shards


def all_keys() -> list[str]:
    return [key for shard in range(ARCHIVE_SHARDS) for key in (due_key(shard), leased_key(shard))]


@dataclass
class Claim:
    """Leases one claim took; ``lease_until`` is their score, which identifies them as ours."""

    ids: list[str] = field(default_factory=list)
    lease_until: float = 0.0


class ShardCursor:
    """Where the next claim starts, so the shards take turns."""

    def __init__(self) -> None:
        self.next = random.randrange(ARCHIVE_SHARDS)

    def order(self) -> list[int]:
        return [(self.next + step) % ARCHIVE_SHARDS for step in range(ARCHIVE_SHARDS)]


async def claim_due(
    redis: AnyRedis,
    *,
    now: float,
    limit: int,
    lease_seconds: float,
    max_score: float | None = None,
    cursor: ShardCursor | None = None,
) -> Claim:
    """Lease up to ``limit`` conversations due by ``max_score`` (default ``now``)."""
    claim = Claim(lease_until=_unique(now + lease_seconds))
    upper = _score(now if max_score is None else max_score)
    for shard in (cursor or ShardCursor()).order():
        keys = [due_key(shard), leased_key(shard)]
        args = [repr(now), limit - len(claim.ids), repr(claim.lease_until), upper]

        def build(pipe: Any, keys: list[str] = keys, args: list[Any] = args) -> None:
            CLAIM.queue(pipe, keys, args)

        replies = await run_pipeline(redis, build, scripts=QUEUE_SCRIPTS)
        claim.ids += cast(list[str], replies[0])
        if len(claim.ids) >= limit:
            if cursor is not None:
                cursor.next = (shard + 1) % ARCHIVE_SHARDS
            break
    return claim


async def ack_archived(
    redis: AnyRedis, *, claim: Claim, versions: Mapping[str, str], now: float
) -> int:
    """Settle our leases: dropped where the session still has the archived version (``""``:
    it was gone), handed back to the due set where a write came in since; how many settled."""
    ids = [conversation_id for conversation_id in claim.ids if conversation_id in versions]
    if not ids:
        return 0
    pipe = redis.pipeline(transaction=False)
    for conversation_id in ids:
        pipe.hget(session_key(conversation_id), "version")
    current = await pipe.execute()
    unchanged = {
        conversation_id: (version or "") == versions[conversation_id]
        for conversation_id, version in zip(ids, current, strict=True)
    }

    def build(pipe: Any) -> None:
        for shard, members in _by_shard(ids).items():
            pairs = [item for i in members for item in (i, "1" if unchanged[i] else "0")]
            ACK.queue(
                pipe,
                [due_key(shard), leased_key(shard)],
                [repr(claim.lease_until), repr(now), *pairs],
            )

    replies = await run_pipeline(redis, build, scripts=QUEUE_SCRIPTS)
    return sum(int(settled) for settled in replies)


async def release_claims(
    redis: AnyRedis, *, claim: Claim, ids: Sequence[str], due_at: float
) -> None:
    """Give our leases among ``ids`` back to the due queue (due at ``due_at`` or earlier)."""
    if not ids:
        return

    def build(pipe: Any) -> None:
        for shard, members in _by_shard(ids).items():
            RELEASE.queue(
                pipe,
                [due_key(shard), leased_key(shard)],
                [repr(claim.lease_until), repr(due_at), *members],
            )

    await run_pipeline(redis, build, scripts=QUEUE_SCRIPTS)


async def extend_leases(redis: AnyRedis, *, claim: Claim, until: float) -> None:
    """Keep our leases alive while a batch waits for PostgreSQL."""
    if not claim.ids:
        return
    new = _unique(until)

    def build(pipe: Any) -> None:
        for shard, members in _by_shard(claim.ids).items():
            EXTEND.queue(pipe, [leased_key(shard)], [repr(claim.lease_until), repr(new), *members])

    await run_pipeline(redis, build, scripts=QUEUE_SCRIPTS)
    claim.lease_until = new


async def unqueue_refused_write(redis: AnyRedis, *, conversation_id: str, due_at: float) -> None:
    """Take back the entry a write queued together with its script when the script refused
    because the conversation does not exist (nothing to archive, so nothing should be queued)."""
    await run_pipeline(
        redis,
        lambda pipe: UNQUEUE.queue(
            pipe, [due_key(shard_of(conversation_id))], [repr(due_at), conversation_id]
        ),
        scripts=QUEUE_SCRIPTS,
    )


async def extend_ttls(redis: AnyRedis, *, ids: Iterable[str], seconds: int) -> None:
    """Push the TTL of conversations' keys out to ``seconds`` (GT: never shorten one)."""
    pipe = redis.pipeline(transaction=False)
    for conversation_id in ids:
        pipe.expire(session_key(conversation_id), seconds, gt=True)
        pipe.expire(messages_key(conversation_id), seconds, gt=True)
    await pipe.execute()


async def at_risk_ids(
    redis: AnyRedis, *, key: str, horizon: float, offset: int, count: int
) -> list[str]:
    """A page of the conversations in ``key`` (a due or leased set) by ``horizon``."""
    members = await redis.zrangebyscore(key, "-inf", horizon, start=offset, num=count)
    # decode_responses=True: members are str, which the client's type hints cannot know.
    return cast(list[str], members)


async def _firsts(redis: AnyRedis, keys: Sequence[str]) -> list[float]:
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.zrange(key, 0, 0, withscores=True)
    firsts = cast(list[list[tuple[str, float]]], await pipe.execute())
    return [entries[0][1] for entries in firsts if entries]


async def next_due_at(redis: AnyRedis) -> float | None:
    """The earliest deadline among queued conversations and running leases, if any."""
    scores = await _firsts(redis, all_keys())
    return min(scores) if scores else None


async def oldest_due_age(redis: AnyRedis, *, now: float) -> float:
    """Seconds the most overdue conversation has waited past its deadline (0 when none)."""
    first = await next_due_at(redis)
    return max(0.0, now - first) if first is not None else 0.0


async def queue_sizes(redis: AnyRedis) -> tuple[int, int]:
    """(queued, leased) over every shard."""
    pipe = redis.pipeline(transaction=False)
    for key in all_keys():
        pipe.zcard(key)
    counts = await pipe.execute()
    return sum(counts[0::2]), sum(counts[1::2])


async def earliest_lease_end(redis: AnyRedis) -> float | None:
    scores = await _firsts(redis, [leased_key(shard) for shard in range(ARCHIVE_SHARDS)])
    return min(scores) if scores else None


async def queued_or_leased(redis: AnyRedis, *, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are in either set of their shard (the reconciliation sweep skips those)."""
    pipe = redis.pipeline(transaction=False)
    for conversation_id in ids:
        shard = shard_of(conversation_id)
        pipe.zscore(due_key(shard), conversation_id)
        pipe.zscore(leased_key(shard), conversation_id)
    scores = await pipe.execute()
    return {
        conversation_id
        for index, conversation_id in enumerate(ids)
        if scores[2 * index] is not None or scores[2 * index + 1] is not None
    }


async def adopt_legacy_queue(redis: AnyRedis, *, now: float) -> int:
    """Move what the unsharded queue of earlier releases still holds into the shards (leases
    there belonged to workers of the old release: they become due now); how many moved."""
    moved = 0
    for key in (LEGACY_DUE_KEY, LEGACY_LEASED_KEY):
        while entries := cast(
            list[tuple[str, float]], await redis.zrange(key, 0, 499, withscores=True)
        ):
            pipe = redis.pipeline(transaction=False)
            for conversation_id, score in entries:
                due_at = score if key == LEGACY_DUE_KEY else now
                pipe.zadd(due_key(shard_of(conversation_id)), {conversation_id: due_at}, lt=True)
            await pipe.execute()
            await redis.zrem(key, *(conversation_id for conversation_id, _ in entries))
            moved += len(entries)
    return moved
