"""``GET /health`` for the auth service."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.services.identity_db import database_ok
from shared.health import health_response

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness of the service and its two stores")
async def health(request: Request) -> JSONResponse:
    # The probe is blocking (psycopg2), so it runs in the thread pool.
    return await health_response(
        service="auth",
        database_ok=partial(run_in_threadpool, database_ok),
        redis=request.app.state.redis,
    )
