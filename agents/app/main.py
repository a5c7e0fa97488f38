"""The agents service: live chat over WebSocket, archival to PostgreSQL, the history API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api import chat, health, metrics, users
from app.api.homepage import homepage_router
from app.config import get_settings
from app.core.metrics import watch_db_pool
from app.core.redis_persistence import check_redis_persistence
from app.exception_handlers import register_exception_handlers
from app.services.archival.background import start_background_archiver, stop_background_archiver
from app.services.chat.responders import create_responder
from app.services.identity_db import close_pool, create_pool
from app.services.session_manager import SessionManager
from app.services.token_revocations import TokenRevocations
from app.services.usage_stats import refresh_usage_stats_forever
from shared.client_address import ClientAddressMiddleware
from shared.http_middleware import RequestObservabilityMiddleware
from shared.logging_setup import configure_logging
from shared.production_surface import docs_urls, origin_of
from shared.rate_limits import RateLimiter
from shared.redis_client import redis_from_settings
from shared.security_headers import SecurityHeadersMiddleware

logger = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Every shared resource of the app, made here and closed here, in reverse order."""
    settings = get_settings()
    configure_logging(service="agents", settings=settings)
    app.state.redis = redis_from_settings(settings)
    app.state.redis_persistence = await check_redis_persistence(app.state.redis, settings)
    app.state.db = await create_pool(settings)
    watch_db_pool(app.state.db)
    app.state.revocations = TokenRevocations(
        pool=app.state.db, token_ttl_seconds=settings.identity_token_ttl_seconds
    )
    app.state.rate_limiter = RateLimiter(app.state.redis)

    app.state.chat_sessions = SessionManager(
        app.state.redis,
        ttl_seconds=settings.redis_session_ttl,
        idle_seconds=settings.archive_idle_seconds,
        archive_before_ttl_seconds=settings.archive_before_ttl_seconds,
        max_messages=settings.chat_max_messages_per_conversation,
        wait_replicas=settings.redis_wait_replicas,
        wait_timeout_ms=settings.redis_wait_timeout_ms,
    )
    app.state.responder = create_responder(settings)
    app.state.archiver = (
        start_background_archiver(redis=app.state.redis, pool=app.state.db, settings=settings)
        if settings.archiver_enabled
        else None
    )
    usage_stats = asyncio.create_task(
        refresh_usage_stats_forever(
            pool=app.state.db, interval_seconds=settings.usage_stats_interval_seconds
        ),
        name="usage-stats",
    )
    try:
        yield
    finally:
        usage_stats.cancel()
        with suppress(asyncio.CancelledError):
            await usage_stats
        if app.state.archiver is not None:
            await stop_background_archiver(app.state.archiver)
        await chat.finish_in_flight()
        await app.state.responder.aclose()
        await close_pool(app.state.db)
        await app.state.rate_limiter.aclose()
        await app.state.redis.aclose()


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="HireCJ agents",
        description="Live chat sessions, conversation archival and the user history API.",
        version="1.0.0",
        lifespan=lifespan,
        # Metrics go to Prometheus (shared.http_metrics); FastAPI's OpenTelemetry hooks would
        # only ask the unconfigured global providers on every request (~20 us each time).
        telemetry={"tracing": False, "metrics": False, "logs": False},
        **docs_urls(settings),
    )
    # Routers are matched in order, each costing a few microseconds to rule out: the history
    # API (the busiest, and sharing no paths with the others) goes first.
    app.include_router(users.router, prefix="/api/v1")
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(chat.router)
    register_exception_handlers(app)
    # A homepage served from another origin (its own app, or the Vite dev server without the
    # proxy) may call the history API; credentials travel in the Authorization header only.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[origin_of(settings.frontend_url)],
        allow_methods=["GET", "DELETE"],
        allow_headers=["Authorization"],
        expose_headers=["Content-Disposition", "X-Request-ID"],
    )
    app.add_middleware(RequestObservabilityMiddleware, service="agents")
    app.add_middleware(SecurityHeadersMiddleware)
    # Outermost: everything inside sees the client's address and scheme after the proxy rule.
    app.add_middleware(ClientAddressMiddleware, forwarded_allow_ips=settings.forwarded_allow_ips)
    if (settings.homepage_dist_dir / "index.html").is_file():
        # Last, so every API route, the WebSocket and /health win over the SPA fallback.
        app.include_router(
            homepage_router(settings.homepage_dist_dir, auth_public_url=settings.auth_public_url)
        )
    return app


app = create_app()
