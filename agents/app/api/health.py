"""``GET /health`` for the agents service: its two stores, each through the path requests use."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.deps import DbPool, RedisDep
from app.services.identity_db import database_answers
from shared.health import health_response

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness of the service and its two stores")
async def health(request: Request, redis: RedisDep, pool: DbPool) -> JSONResponse:
    persistence = request.app.state.redis_persistence
    return await health_response(
        service="agents",
        database_ok=partial(database_answers, pool),
        redis=redis,
        details={
            "redis_persistence": {
                "mode": persistence.mode,
                "appendfsync": persistence.appendfsync,
                "detail": persistence.detail or None,
            }
        },
    )
