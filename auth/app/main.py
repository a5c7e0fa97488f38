"""The auth service: Shopify OAuth, users, events, bearer tokens and Shopify's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.api import health, shopify_oauth
from app.config import get_settings
from app.exception_handlers import register_exception_handlers
from app.services.identity_db import dispose_engine, get_engine
from app.services.shopify_client import ShopifyClient
from shared.crypto import token_cipher
from shared.http_metrics import metrics_response
from shared.http_middleware import RequestObservabilityMiddleware
from shared.logging_setup import configure_logging
from shared.redis_client import redis_from_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(service="auth", settings=settings)
    # Fail at start-up, not at the first install, when the encryption key is not a Fernet key.
    token_cipher(settings)
    get_engine()
    app.state.redis = redis_from_settings(settings)
    timeout = httpx.Timeout(settings.shopify_http_timeout_seconds, connect=5.0)
    app.state.http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
    app.state.shopify = ShopifyClient(
        http=app.state.http,
        admin_url_template=settings.shopify_admin_url_template,
        api_version=settings.shopify_api_version,
    )
    try:
        yield
    finally:
        await app.state.http.aclose()
        await app.state.redis.aclose()
        dispose_engine()


def create_app() -> FastAPI:
    app = FastAPI(
        title="HireCJ auth",
        description="Shopify OAuth install flow, user identity, bearer tokens and webhooks.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(RequestObservabilityMiddleware, service="auth")
    register_exception_handlers(app)
    app.include_router(health.router)
    app.include_router(shopify_oauth.router)
    app.add_api_route("/metrics", metrics_response, methods=["GET"], include_in_schema=False)
    return app


app = create_app()
