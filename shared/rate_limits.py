"""Abuse limits kept in Redis, through the ``limits`` library, shared by every process.

One limiter per service, on the service's own Redis client (its connection pool, so TLS and
timeouts are those of ``shared.redis_client``). The strategy is the moving window: exact (the
31st message within any 60 s is refused, not just within a calendar minute, so a burst across a
minute boundary cannot double the limit), one Lua call per hit (~0.3 ms here, about one Redis
round trip), and a key that holds at most ``limit`` timestamps and expires a minute after the
last hit. Keys: ``ratelimit:LIMITER/<name>/<subject>/<limit>/1/minute``.

A Redis error is not swallowed: the caller answers as it does for any Redis outage (503 or the
chat's "briefly unavailable"), since allowing everything while Redis is down would let the
abuse the limit exists for through exactly when the system is weakest.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisClusterStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection

from shared.redis_client import AnyRedis

KEY_PREFIX = "ratelimit"
# What limits' own cluster client must share with ours: credentials, TLS and timeouts (its URL
# carries only a node; limits has no rediss scheme for a cluster, TLS is the ``ssl`` option).
_SHARED_CLUSTER_OPTIONS = (
    "username",
    "password",
    "ssl_cert_reqs",
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_check_hostname",
    "socket_timeout",
    "socket_connect_timeout",
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    """``await limiter.hit(name=..., subject=..., per_minute=...)`` counts one event."""

    def __init__(self, redis: AnyRedis) -> None:
        storage: RedisStorage | RedisClusterStorage
        if isinstance(redis, RedisCluster):
            # limits keeps a cluster client of its own, found from any node of ours.
            node = next(iter(redis.nodes_manager.startup_nodes.values()))
            ours = redis.connection_kwargs
            options = {
                name: ours[name] for name in _SHARED_CLUSTER_OPTIONS if ours.get(name) is not None
            }
            if issubclass(ours.get("connection_class", object), SSLConnection):
                options = {**options, "ssl": True}
            storage = RedisClusterStorage(
                f"async+redis+cluster://{node.host}:{node.port}",
                implementation="redispy",
                key_prefix=KEY_PREFIX,
                **options,
            )
        else:
            storage = RedisStorage(
                "async+redis://",
                implementation="redispy",
                # limits types its pass-through options as scalars; redis-py takes the pool as is.
                connection_pool=redis.connection_pool,  # type: ignore[arg-type]
                key_prefix=KEY_PREFIX,
            )
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._items: dict[int, RateLimitItemPerMinute] = {}

    async def aclose(self) -> None:
        """Close the cluster client limits made for itself (on one node it borrows our pool)."""
        if isinstance(self._storage, RedisClusterStorage):
            await self._storage.bridge.storage.aclose()  # type: ignore[attr-defined]

    def _item(self, per_minute: int) -> RateLimitItemPerMinute:
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerMinute(per_minute)
        return item

    async def hit(self, *, name: str, subject: str, per_minute: int) -> Decision:
        """Count one event of ``name`` for ``subject``; refused (and not counted) past the limit."""
        item = self._item(per_minute)
        if await self._strategy.hit(item, name, subject):
            return Decision(allowed=True)
        stats = await self._strategy.get_window_stats(item, name, subject)
        return Decision(
            allowed=False, retry_after_seconds=max(1, math.ceil(stats.reset_time - time.time()))
        )
