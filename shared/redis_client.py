"""Redis clients configured the same way everywhere.

Heroku Redis speaks TLS (``rediss://``) with a self-signed certificate, so for ``rediss`` URLs
certificate verification is relaxed unless REDIS_SSL_VERIFY=true says the server's chain is real.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import redis.asyncio as aioredis


def _options(url: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": 5,
        "health_check_interval": 30,
    }
    if url.startswith("rediss://") and os.environ.get("REDIS_SSL_VERIFY", "").lower() != "true":
        options["ssl_cert_reqs"] = ssl.CERT_NONE
    return options


def create_async_redis(url: str, *, max_connections: int = 100, **overrides: Any) -> aioredis.Redis:
    """An async client whose pool makes a burst wait for a free connection.

    The default pool raises "Too many connections" past its limit, turning a busy moment (a few
    hundred sockets writing at once) into errors; a blocking pool queues them for up to 10 s.
    """
    pool: aioredis.BlockingConnectionPool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=10, **{**_options(url), **overrides}
    )
    # from_pool: the client owns the pool, so aclose() also closes its connections.
    return aioredis.Redis.from_pool(pool)
