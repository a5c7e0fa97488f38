"""The ``/health`` answer both services give: 200 when both stores answer, else 503 naming them."""

from __future__ import annotations

from collections.abc import Callable

import redis.asyncio as aioredis
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool


async def health_response(
    *, service: str, database_ok: Callable[[], bool], redis: aioredis.Redis
) -> JSONResponse:
    # The database probe is blocking (psycopg2), so it runs in the thread pool.
    postgres_ok = await run_in_threadpool(database_ok)
    try:
        redis_ok = bool(await redis.ping())
    except (RedisError, OSError):
        redis_ok = False
    checks = {"postgres": "ok" if postgres_ok else "down", "redis": "ok" if redis_ok else "down"}
    if postgres_ok and redis_ok:
        return JSONResponse({"status": "ok", "service": service, "checks": checks})
    down = " and ".join(name for name, state in checks.items() if state == "down")
    return JSONResponse(
        {
            "status": "unavailable",
            "service": service,
            "checks": checks,
            "detail": f"{down} unreachable",
        },
        status_code=503,
    )
