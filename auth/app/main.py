"""The auth service: Shopify OAuth, users, events, bearer tokens and Shopify's webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import health, metrics, shopify_config, shopify_oauth, sign_out
from app.config import get_settings
from app.exception_handlers import register_exception_handlers
from app.services.identity_db import dispose_engine, get_engine
from app.services.shopify_client import ShopifyClient
from shared.client_address import ClientAddressMiddleware
from shared.crypto import token_cipher
from shared.http_middleware import RequestObservabilityMiddleware
from shared.logging_setup import configure_logging
from shared.production_surface import docs_urls, origin_of
from shared.rate_limits import RateLimiter
from shared.redis_client import redis_from_settings
from shared.security_headers import SecurityHeadersMiddleware


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(service="auth", settings=settings)
    # Fail at start-up, not at the first install, when the encryption key is not a Fernet key.
    token_cipher(settings)
    get_engine()
    app.state.redis = redis_from_settings(settings)
    app.state.rate_limiter = RateLimiter(app.state.redis)
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
        await app.state.rate_limiter.aclose()
        await app.state.redis.aclose()
        dispose_engine()


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="HireCJ auth",
        description="Shopify OAuth install flow, user identity, bearer tokens and webhooks.",
        version="1.0.0",
        lifespan=lifespan,
        **docs_urls(settings),
    )
    register_exception_handlers(app)
    app.include_router(health.router)
    app.include_router(shopify_oauth.router)
    app.include_router(shopify_config.router)
    app.include_router(sign_out.router)
    app.include_router(metrics.router)
    # The homepage may be served from another origin and calls sign-out from the browser; the
    # token travels in the Authorization header only, so no cookies are allowed across origins.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin_of(settings.frontend_url)],
        allow_methods=["POST"],
        allow_headers=["Authorization"],
        expose_headers=["X-Request-ID"],
    )
    app.add_middleware(RequestObservabilityMiddleware, service="auth")
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost: everything inside sees the client's address and scheme after the proxy rule.
    app.add_middleware(ClientAddressMiddleware, forwarded_allow_ips=settings.forwarded_allow_ips)
    return app


app = create_app()
