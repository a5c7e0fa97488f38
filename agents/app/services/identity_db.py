"""The identity database for the agents service: the async pool the web process uses, and the
sync engine of the commands.

The history routes, the delete and the chat's archive lookup use the asyncpg pool; every
history operation is one statement, and asyncpg without an ORM layer costs a third of the CPU
per query (measured: ~130 us against ~400 us through SQLAlchemy's async engine). The pool is
created and closed by the app's lifespan (asyncpg connections belong to one event loop) and kept
on ``app.state``. The sync engine (SQLAlchemy + psycopg2) serves the maintenance and usage-stats
commands.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from functools import partial
from typing import Any

import asyncpg
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from app.exceptions import StoreUnavailable
from shared.db import IdentityDatabase, check_connection, is_local_database
from shared.migrations import libpq_url
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

# A runaway history query is cut off instead of holding a pooled connection indefinitely; if
# the server cannot even do that (a network partition), the client gives up a little later.
STATEMENT_TIMEOUT_MS = 10_000
COMMAND_TIMEOUT_SECONDS = STATEMENT_TIMEOUT_MS / 1000 + 5
# Remote databases (Heroku) count connections per plan: keep few, and drop idle ones soon.
REMOTE_IDLE_SECONDS = 60.0
LOCAL_IDLE_SECONDS = 300.0
CLOSE_TIMEOUT_SECONDS = 5.0

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class PoolClosed(asyncpg.InterfaceError):
    """The pool was closed (the app is shutting down)."""


class HistoryPool:
    """Up to ``size`` asyncpg connections, lent first come, first served.

    Not asyncpg's own pool, for two measured reasons. Its hand-off lets a newcomer overtake a
    woken waiter, which queues again at the back: with 32 clients on 5 connections a few
    requests waited 100-300 ms while the median was 9 ms. And its bookkeeping (a shielded task
    and an idle timer per release) cost ~45 us of CPU per acquire and release, as much as the
    query's own round trip and a tenth of a whole list request. Here a released connection goes
    straight to the oldest waiter, else onto an idle stack: a few microseconds.

    Connections open lazily (the app starts, and /health answers, while PostgreSQL is down),
    idle ones close after ``idle_seconds``, and one that was in use when its statement failed
    or was cancelled is closed rather than lent again (it may still be busy on the server).
    """

    def __init__(
        self, *, connect: Connect, size: int, idle_seconds: float, acquire_timeout: float
    ) -> None:
        self._connect = connect
        self._size = size
        self._idle_seconds = idle_seconds
        # A request that waited this long for a connection gets TimeoutError (a 503), rather
        # than piling up behind a database that stopped answering.
        self._acquire_timeout = acquire_timeout
        # Most recently released last: lending from the end keeps few connections warm, and
        # the oldest sit at the front, where the sweeper closes them.
        self._idle: list[tuple[asyncpg.Connection, float]] = []
        # A waiter gets a connection, or None: a free slot in which to open one itself.
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._slots_taken = 0  # connections open or being opened, and slots promised
        self._closed = False
        self._closing: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def size(self) -> int:
        return self._size

    @property
    def open_connections(self) -> int:
        return self._slots_taken

    @property
    def idle_connections(self) -> int:
        return len(self._idle)

    @property
    def waiting(self) -> int:
        return sum(not waiter.done() for waiter in self._waiters)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """``async with pool.acquire() as connection``: one connection for one operation."""
        connection = await self._take()
        try:
            yield connection
        except BaseException:
            # An error or a cancellation inside the block came from its statement: the
            # connection may still be busy with it on the server, so it is not lent again.
            self._give_back(connection, healthy=False)
            raise
        self._give_back(connection, healthy=True)

    async def _take(self) -> asyncpg.Connection:
        if self._closed:
            raise PoolClosed("the history pool is closed")
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="history-pool-sweep")
        while self._idle:
            connection, _ = self._idle.pop()
            if not connection.is_closed():
                return connection
            self._slots_taken -= 1
        if self._slots_taken < self._size:
            self._slots_taken += 1
            return await self._open()
        waiter: asyncio.Future[asyncpg.Connection | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._acquire_timeout):
                lent = await waiter
        except (asyncio.CancelledError, TimeoutError):
            if waiter.done() and not waiter.cancelled():
                # Handed a connection (or a slot) in the same instant: pass it on, not lose it.
                self._pass_on(waiter.result())
            raise
        return lent if lent is not None else await self._open()

    async def _open(self) -> asyncpg.Connection:
        """Open a connection in a slot already counted; on failure the slot goes on."""
        try:
            return await self._connect()
        except BaseException:
            self._pass_on(None)
            raise

    def _give_back(self, connection: asyncpg.Connection, *, healthy: bool) -> None:
        if healthy and not self._closed and not connection.is_closed():
            self._pass_on(connection)
            return
        # Closed in the background: a cancelled statement is cancelled on the server first
        # (asyncpg sends the cancel request), instead of running on to the statement timeout.
        self._close_later(connection)
        self._pass_on(None)

    def _pass_on(self, lent: asyncpg.Connection | None) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(lent)
                return
        if lent is None:
            self._slots_taken -= 1
        elif self._closed:
            self._slots_taken -= 1
            self._close_later(lent)
        else:
            self._idle.append((lent, time.monotonic()))

    def _close_later(self, connection: asyncpg.Connection) -> None:
        task = asyncio.create_task(self._close(connection))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(connection: asyncpg.Connection) -> None:
        try:
            await connection.close(timeout=CLOSE_TIMEOUT_SECONDS)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
            connection.terminate()

    def close_idle(self, *, older_than: float) -> int:
        """Close connections idle for more than ``older_than`` seconds; how many closed."""
        cutoff = time.monotonic() - older_than
        expired = 0
        while self._idle and self._idle[0][1] <= cutoff:
            connection, _ = self._idle.pop(0)
            self._slots_taken -= 1
            self._close_later(connection)
            expired += 1
        return expired

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._idle_seconds / 2)
            self.close_idle(older_than=self._idle_seconds)

    async def close(self) -> None:
        """Close idle connections now and lent ones as they come back; waiters get PoolClosed."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(PoolClosed("the history pool is closed"))
        self.close_idle(older_than=-1.0)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _connect(url: str, options: dict[str, Any]) -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(url, **options)
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
    return connection


def create_history_pool(settings: ServiceSettings) -> HistoryPool:
    """IDENTITY_DB_POOL_SIZE (default 5) connections at most, no overflow: a request waiting a
    moment for a connection beats more backends fighting over the same cores. Measured on 2
    cores with 32 clients: 4-5 connections gave ~20% more list requests/s than 15."""
    url = libpq_url(settings.identity_database_url)
    local = is_local_database(url)
    options: dict[str, Any] = {
        "timeout": settings.identity_db_connect_timeout,
        "command_timeout": COMMAND_TIMEOUT_SECONDS,
        "server_settings": {
            "application_name": "hirecj-agents-history",
            "statement_timeout": str(STATEMENT_TIMEOUT_MS),
        },
    }
    if not local and "sslmode" not in url and "ssl=" not in url:
        options["ssl"] = "require"
    return HistoryPool(
        connect=partial(_connect, url, options),
        size=settings.identity_db_pool_size,
        idle_seconds=LOCAL_IDLE_SECONDS if local else REMOTE_IDLE_SECONDS,
        acquire_timeout=settings.identity_db_connect_timeout,
    )


@asynccontextmanager
async def connect(pool: HistoryPool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; driver and network failures become StoreUnavailable (503)."""
    try:
        async with pool.acquire() as connection:
            yield connection
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        # The class name only: a driver message may quote statement parameters (search words).
        logger.error("identity database error: %s", type(exc).__name__)
        raise StoreUnavailable() from exc


_database = IdentityDatabase(get_settings)


def get_engine() -> Engine:
    return _database.engine


@contextmanager
def get_db() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with _database.session() as session:
        yield session


def test_connection(engine: Engine | None = None) -> bool:  # noqa: PT028 (the guide names it)
    """True when the identity database answers; False (and the reason logged) otherwise."""
    return check_connection(engine if engine is not None else get_engine())


def dispose_engine() -> None:
    _database.dispose()


# Keeps pytest from collecting the guide's name as a test when a test module imports it.
test_connection.__test__ = False  # type: ignore[attr-defined]
