"""The ``/health`` answer both services give: 200 when both stores answer, else 503 naming them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi.responses import JSONResponse

from shared.redis_client import REDIS_ERRORS, AnyRedis


async def health_response(
    *,
    service: str,
    database_ok: Callable[[], Awaitable[bool]],
    redis: AnyRedis,
    details: Mapping[str, Any] | None = None,
) -> JSONResponse:
    """``details`` (what a service adds, e.g. Redis's persistence) go into either answer."""
    postgres_ok = await database_ok()
    try:
        redis_ok = bool(await redis.ping())
    except REDIS_ERRORS:
        redis_ok = False
    checks = {"postgres": "ok" if postgres_ok else "down", "redis": "ok" if redis_ok else "down"}
    if postgres_ok and redis_ok:
        return JSONResponse(
            {"status": "ok", "service": service, "checks": checks, **(details or {})}
        )
    down = " and ".join(name for name, state in checks.items() if state == "down")
    return JSONResponse(
        {
            "status": "unavailable",
            "service": service,
            "checks": checks,
            "detail": f"{down} unreachable",
            **(details or {}),
        },
        status_code=503,
    )
