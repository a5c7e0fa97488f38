"""The agents service: live chat over WebSocket, archival to PostgreSQL, the history API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import chat, health, metrics, users
from app.config import get_settings
from app.services.conversation_archival import (
    start_background_archiver,
    stop_background_archiver,
)
from app.services.identity_db import dispose_engine, get_engine
from app.services.identity_db_async import create_history_pool
from shared.redis_client import create_async_redis

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    get_engine()
    app.state.redis = create_async_redis(settings.redis_url)
    app.state.history_pool = await create_history_pool(settings)
    app.state.archiver = (
        start_background_archiver(redis=app.state.redis, settings=settings)
        if settings.archiver_enabled
        else None
    )
    try:
        yield
    finally:
        if app.state.archiver is not None:
            await stop_background_archiver(app.state.archiver)
        await app.state.history_pool.close()
        await app.state.redis.aclose()
        dispose_engine()


def create_app() -> FastAPI:
    app = FastAPI(
        title="HireCJ agents",
        description="Live chat sessions, conversation archival and the user history API.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(chat.router)
    app.include_router(users.router, prefix="/api/v1")
    users.add_history_error_handler(app)
    return app


app = create_app()
