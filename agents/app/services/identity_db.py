"""The agents service's one way to PostgreSQL: an asyncpg pool, made by the lifespan.

The history API, the chat's archive lookups, the in-app archiver and the usage statistics share
the web process's pool (``app.state.db``); a command or the worker process makes its own with
the same function. How to connect (TLS, timeouts, pooler or not, size) is decided by
``shared.postgres.database_plan``; this module adds what every caller wants on top: JSON
decoded as Python objects, requests served first come first served, and database trouble
turned into one error the API maps to 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypeAlias

import asyncpg

from app.config import get_settings
from app.core.metrics import DB_POOL_WAITING
from app.exceptions import StoreUnavailable
from shared.errors import describe
from shared.postgres import database_plan, is_pooler_error
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

# What "the database did not answer or refused" looks like from asyncpg (a pooler's refusals
# are PostgresErrors too; a connect timeout is the builtin TimeoutError, an OSError).
DATABASE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Pool: TypeAlias = asyncpg.Pool

# First come, first served. asyncpg's pool gives a released connection to whichever task asks
# at that moment, so under load a request that was already waiting can lose its turn to
# newcomers again and again (in tests/history/test_database_pool.py, one waited out 264 later
# arrivals). Measured side by side (bench/history_api.py, 20,000 conversations, 3 rounds): list
# p99 48 ms without this, 23 ms with it; p50 6 -> 16 ms, as every request now waits its turn;
# list -1.8%, profile -3.8% requests/s. asyncio.Semaphore wakes its waiters in order; one per
# pool, as large as the pool.
_TURNS: dict[Pool, asyncio.Semaphore] = {}


async def _init_connection(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


async def create_pool(
    settings: ServiceSettings, *, application_name: str = "hirecj-agents", size: int = 0
) -> Pool:
    """The pool; connections open lazily, so the app starts (and /health answers) while
    PostgreSQL is down. ``size`` overrides IDENTITY_DB_POOL_SIZE (default 5: on 2 cores with 32
    clients, 4-5 connections gave ~20% more list requests/s than 15)."""
    plan = database_plan(settings, application_name=application_name, pool_size=size)
    pool: Pool = await asyncpg.create_pool(
        plan.url, init=_init_connection, **plan.asyncpg_pool_options()
    )
    _TURNS[pool] = asyncio.Semaphore(pool.get_max_size())
    return pool


async def close_pool(pool: Pool, *, timeout: float = 5.0) -> None:
    """Close gracefully, or terminate what does not close in time (a partitioned database)."""
    _TURNS.pop(pool, None)
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except (TimeoutError, *DATABASE_ERRORS):
        pool.terminate()


@asynccontextmanager
async def connect(pool: Pool, *, wait: float | None = None) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for one operation; database trouble becomes StoreUnavailable (503).

    A request waits at most ``wait`` seconds (default: IDENTITY_DB_CONNECT_TIMEOUT) for a free
    connection rather than piling up behind a database that stopped answering. A connection
    whose link failed is closed by asyncpg and never lent again.
    """
    if wait is None:
        wait = float(get_settings().identity_db_connect_timeout)
    started = time.monotonic()
    DB_POOL_WAITING.inc()
    waiting = True
    turns = _TURNS.get(pool) or _TURNS.setdefault(pool, asyncio.Semaphore(pool.get_max_size()))
    try:
        async with asyncio.timeout(wait):
            await turns.acquire()
            try:
                connection = await pool.acquire()
            except BaseException:
                turns.release()
                raise
        DB_POOL_WAITING.dec()
        waiting = False
        try:
            yield connection
        finally:
            try:
                await pool.release(connection)
            finally:
                turns.release()
    except DATABASE_ERRORS as exc:
        # The class name only: a driver message may quote statement parameters (search words).
        logger.error(
            "identity database error after %.1f s: %s",
            time.monotonic() - started,
            "pooler refused" if is_pooler_error(exc) else type(exc).__name__,
        )
        raise StoreUnavailable() from exc
    finally:
        if waiting:
            DB_POOL_WAITING.dec()


async def database_answers(pool: Pool, *, timeout: float = 3.0) -> bool:
    """``SELECT 1`` through the pool, as requests go (/health); False with the reason logged."""
    try:
        async with pool.acquire(timeout=timeout) as connection:
            await connection.fetchval("SELECT 1", timeout=timeout)
        return True
    except DATABASE_ERRORS as exc:
        logger.error("identity database check failed: %s", describe(exc))
        return False
