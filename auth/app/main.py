"""The auth service: Shopify OAuth, users, events, bearer tokens and Shopify's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import health
from app.config import get_settings
from app.services.identity_db import dispose_engine, get_engine
from shared.redis_client import create_async_redis


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    get_engine()
    app.state.redis = create_async_redis(settings.redis_url)
    try:
        yield
    finally:
        await app.state.redis.aclose()
        dispose_engine()


def create_app() -> FastAPI:
    app = FastAPI(
        title="HireCJ auth",
        description="Shopify OAuth install flow, user identity, bearer tokens and webhooks.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.include_router(health.router)
    return app


app = create_app()
