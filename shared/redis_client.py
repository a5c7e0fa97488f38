"""One Redis client factory for both services: a single node or a Redis Cluster, one code path.

``REDIS_CLUSTER=true`` makes ``REDIS_URL`` name any node of a cluster, and the client is
redis-py's cluster client; everything else stays the same, because no command, transaction or
script of ours touches keys of two hash slots (a conversation's keys share its ``{id}`` tag and
the archive queue is sharded into tagged pairs). A single node is the cluster of one shard.

Heroku Redis speaks TLS (``rediss://``) with a self-signed certificate, so for ``rediss`` URLs
certificate verification is relaxed unless REDIS_SSL_VERIFY=true says the server's chain is real.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from typing import Any, TypeAlias

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from shared.settings import ServiceSettings

AnyRedis: TypeAlias = aioredis.Redis | RedisCluster

# What "Redis did not answer" looks like: the cluster client's own failures ("cannot be
# connected", a slot not covered) are RedisClusterException, which is not a RedisError.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)


def _options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
    }
    if url.startswith("rediss://") and os.environ.get("REDIS_SSL_VERIFY", "").lower() != "true":
        options["ssl_cert_reqs"] = ssl.CERT_NONE
    return options


def create_async_redis(
    url: str, *, cluster: bool = False, max_connections: int = 100, **overrides: Any
) -> AnyRedis:
    """An async client for ``url``: a cluster client when ``cluster``, else one whose pool
    makes a burst wait for a free connection.

    The default single-node pool raises "Too many connections" past its limit, turning a busy
    moment (a few hundred sockets writing at once) into errors; a blocking pool queues them for
    up to 10 s. The cluster client has no blocking pool, so its per-node limit is set well above
    what one process opens.
    """
    options = {**_options(url), **overrides}
    if cluster:
        return RedisCluster.from_url(url, max_connections=max(max_connections, 500), **options)
    pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=10, **options
    )
    # from_pool: the client owns the pool, so aclose() also closes its connections.
    return aioredis.Redis.from_pool(pool)


def redis_from_settings(settings: ServiceSettings, **overrides: Any) -> AnyRedis:
    return create_async_redis(settings.redis_url, cluster=settings.redis_cluster, **overrides)


def primaries(redis: AnyRedis) -> dict[str, Any]:
    """``target_nodes`` for a command every shard must answer (nothing for a single node)."""
    return {"target_nodes": RedisCluster.PRIMARIES} if isinstance(redis, RedisCluster) else {}


def node_of(redis: AnyRedis, key: str) -> dict[str, Any]:
    """``target_nodes`` for a keyless command that must reach ``key``'s node (WAIT after a
    write goes to the connection that wrote)."""
    if isinstance(redis, RedisCluster):
        return {"target_nodes": redis.get_node_from_key(key)}
    return {}


@dataclass(frozen=True)
class Persistence:
    """What Redis keeps across a restart, as far as it says: ``aof`` (every shard appends to
    its AOF), ``none`` (at least one shard keeps nothing but snapshots or less), ``unknown``
    (CONFIG is refused, as on managed Redis, or Redis did not answer)."""

    mode: str
    appendfsync: str | None = None
    detail: str = ""

    @property
    def durable(self) -> bool:
        return self.mode == "aof"


def _per_node(reply: Any) -> list[dict[str, str]]:
    # A single node answers {name: value}; the cluster client {node: {name: value}}.
    if reply and all(isinstance(value, dict) for value in reply.values()):
        return list(reply.values())
    return [reply or {}]


async def read_persistence(redis: AnyRedis) -> Persistence:
    """``CONFIG GET appendonly``/``appendfsync`` on every shard."""
    try:
        appendonly = _per_node(await redis.config_get("appendonly", **primaries(redis)))
        fsync = _per_node(await redis.config_get("appendfsync", **primaries(redis)))
    except ResponseError as exc:
        return Persistence("unknown", detail=f"CONFIG is refused ({exc})")
    except REDIS_ERRORS as exc:
        return Persistence("unknown", detail=f"Redis did not answer ({type(exc).__name__})")
    modes = {node.get("appendonly") for node in appendonly}
    if modes == {"yes"}:
        policies = sorted({node.get("appendfsync", "") for node in fsync})
        return Persistence("aof", appendfsync=",".join(policies))
    if None in modes or not modes:
        return Persistence("unknown", detail="CONFIG GET appendonly gave no answer")
    return Persistence("none", detail="appendonly is no")
