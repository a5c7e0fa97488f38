"""How every caller reaches the identity database: TLS, timeouts and pool sizes, decided once.

Two URLs (the settings): ``IDENTITY_DATABASE_URL`` is what requests use and may go through a
transaction-mode pooler (PgBouncer, Heroku's connection pooling); ``IDENTITY_DATABASE_DIRECT_URL``
(by default the same) is for what needs a session of its own: migrations and their
session-level advisory lock. When the two differ, the first is taken to be a pooler, so:

- no prepared statements are kept on a connection (a pooler hands each transaction to any
  server connection, where ``__asyncpg_stmt_N__`` does not exist or is another's);
- nothing is sent as a startup parameter but ``application_name`` (PgBouncer refuses
  ``statement_timeout`` there). Statement timeouts come from the database role's own default
  (migration 011), which every server connection starts with, pooled or not, at no cost per
  query; the driver's command timeout a little later is the backstop;
- a connection is never reset with session-level commands on release (asyncpg's default
  ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` would run on whichever server
  connection the pooler picks, and unlock another client's advisory lock). Nothing here keeps
  session state, so nothing needs resetting, pooled or not.

TLS: a local host (localhost, 127.0.0.1, ::1, a socket) goes without; any other host requires
it, unless the URL says otherwise (``sslmode=``/``ssl=``), which always wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from shared.settings import ServiceSettings

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})
# A runaway request's statement is cut off by the server after this (the role's default, set by
# migration 011); the driver gives up a little later if even that does not come back.
STATEMENT_TIMEOUT_MS = 10_000
COMMAND_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_MS / 1000 + 5
# Statements that may legitimately run longer (an archive batch, maintenance) say so in their
# own transaction with SET LOCAL.
LONG_STATEMENT_TIMEOUT_MS = 120_000
# Remote databases (Heroku) count connections per plan: idle ones are closed soon.
REMOTE_IDLE_SECONDS = 60.0
LOCAL_IDLE_SECONDS = 300.0


def libpq_url(url: str) -> str:
    """psycopg2 and asyncpg take libpq URLs: no SQLAlchemy ``+driver``, no ``postgres://``."""
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


def is_local_database(url: str) -> bool:
    return (urlsplit(libpq_url(url)).hostname or "") in LOCAL_HOSTS


def _says_tls(url: str) -> bool:
    return any(key in ("sslmode", "ssl") for key, _ in parse_qsl(urlsplit(url).query))


@dataclass(frozen=True)
class DatabasePlan:
    """Where and how one caller connects."""

    url: str
    require_tls: bool
    connect_timeout: int
    through_pooler: bool
    pool_size: int
    idle_seconds: float
    application_name: str

    def asyncpg_pool_options(self) -> dict[str, Any]:
        """Keyword arguments for ``asyncpg.create_pool`` (see the module docstring)."""
        options: dict[str, Any] = {
            "min_size": 0,
            "max_size": self.pool_size,
            "timeout": self.connect_timeout,
            "command_timeout": COMMAND_TIMEOUT_SECONDS,
            "max_inactive_connection_lifetime": self.idle_seconds,
            "server_settings": {"application_name": self.application_name},
            "reset": _no_reset,
        }
        if self.through_pooler:
            options["statement_cache_size"] = 0
        if self.require_tls:
            options["ssl"] = "require"
        return options

    def libpq_options(self) -> dict[str, Any]:
        """Keyword arguments for ``psycopg2.connect`` (one connection, or SQLAlchemy's)."""
        options: dict[str, Any] = {
            "connect_timeout": self.connect_timeout,
            "application_name": self.application_name,
        }
        if self.require_tls:
            options["sslmode"] = "require"
        return options


async def _no_reset(connection: object) -> None:
    """Nothing to reset: no caller leaves session state on a pooled connection."""


def database_plan(
    settings: ServiceSettings, *, application_name: str, direct: bool = False, pool_size: int = 0
) -> DatabasePlan:
    """The one place that decides TLS, timeouts and pool size from the settings.

    ``direct``: the session-capable URL (migrations, session advisory locks). ``pool_size``
    overrides IDENTITY_DB_POOL_SIZE for a caller that knows what it needs (a worker process).
    """
    url = settings.identity_database_direct_url if direct else settings.identity_database_url
    return plan_for_url(
        url or settings.identity_database_url,
        application_name=application_name,
        connect_timeout=settings.identity_db_connect_timeout,
        through_pooler=not direct and settings.through_pooler,
        pool_size=pool_size or settings.identity_db_pool_size,
    )


def plan_for_url(
    url: str,
    *,
    application_name: str,
    connect_timeout: int = 10,
    through_pooler: bool = False,
    pool_size: int = 1,
) -> DatabasePlan:
    """The plan for an explicit URL (the migration command takes one on its command line)."""
    url = libpq_url(url)
    local = is_local_database(url)
    return DatabasePlan(
        url=url,
        require_tls=not local and not _says_tls(url),
        connect_timeout=connect_timeout,
        through_pooler=through_pooler,
        pool_size=pool_size,
        idle_seconds=LOCAL_IDLE_SECONDS if local else REMOTE_IDLE_SECONDS,
        application_name=application_name,
    )


# What PgBouncer says when it, not PostgreSQL, refuses (it answers with these SQLSTATEs and
# messages of its own); the archiver and /health report such an error as the pooler's.
_POOLER_STATES = frozenset({"08P01", "08003", "08006"})
_POOLER_WORDS = (
    "pgbouncer",
    "query_wait_timeout",
    "no more connections allowed",
    "server login has been failing",
    "no such database",
    "client_login_timeout",
    "database removed",
    "SASL authentication failed",
)


def is_pooler_error(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None)
    text = str(exc)
    return state in _POOLER_STATES and any(word in text for word in _POOLER_WORDS)


# Inside a transaction: this one's statements may run up to LONG_STATEMENT_TIMEOUT_MS ($1, text).
LONG_STATEMENTS = "SELECT set_config('statement_timeout', $1, true)"


def database_location(url: str) -> str:
    """host:port/database of a URL, for messages: never the user or the password."""
    parts = urlsplit(libpq_url(url))
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"
