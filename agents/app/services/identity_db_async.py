"""An async engine (asyncpg) for the history API, so its routes never block the event loop.

The sync engine in ``identity_db`` serves the workers and scripts; the history routes use this
one. It is created and disposed by the app's lifespan (asyncpg connections belong to one event
loop) and kept on ``app.state``. Local databases get a small pool; remote ones (Heroku) get
``NullPool`` with TLS, as ``shared.db`` does for the sync engine.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from shared.db import is_local_database, sqlalchemy_url
from shared.settings import ServiceSettings

# A runaway history query is cut off instead of holding a pooled connection indefinitely.
STATEMENT_TIMEOUT_MS = 10_000


def create_async_identity_engine(settings: ServiceSettings) -> AsyncEngine:
    url = sqlalchemy_url(settings.identity_database_url, "asyncpg")
    connect_args: dict[str, Any] = {
        "timeout": settings.identity_db_connect_timeout,
        "server_settings": {
            "application_name": "hirecj-agents-history",
            "statement_timeout": str(STATEMENT_TIMEOUT_MS),
        },
    }
    if is_local_database(url):
        # No pre-ping: it would add a round trip to every request. A connection broken by a
        # database restart fails one request (503) and is then discarded by the pool.
        return create_async_engine(
            url,
            pool_size=settings.identity_db_pool_size,
            max_overflow=settings.identity_db_max_overflow,
            pool_recycle=1800,
            connect_args=connect_args,
        )
    if "ssl" not in make_url(url).query and "sslmode" not in make_url(url).query:
        connect_args["ssl"] = "require"
    return create_async_engine(url, poolclass=NullPool, connect_args=connect_args)
