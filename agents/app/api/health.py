"""``GET /health`` for the agents service."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import RedisDep
from app.services.identity_db import test_connection
from shared.health import health_response

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness of the service and its two stores")
async def health(redis: RedisDep) -> JSONResponse:
    return await health_response(service="agents", database_ok=test_connection, redis=redis)
