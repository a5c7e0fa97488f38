"""The history API's connection pool, against a real PostgreSQL: bounded, fair, lazy, and it
never lends a connection that failed or lets a cancelled request lose one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import asyncpg
import httpx
import pytest
from history_factories import USER_A, auth
from sqlalchemy import Engine

from app.services.identity_db import HistoryPool, PoolClosed
from shared.migrations import libpq_url

APP_NAME = "hirecj-pool-test"


def _pool(
    database_url: str, *, size: int = 1, acquire_timeout: float = 5.0, **connect_options: Any
) -> HistoryPool:
    """A pool whose connections carry APP_NAME, so pg_stat_activity can count them."""
    connect = partial(
        asyncpg.connect,
        libpq_url(database_url),
        server_settings={"application_name": APP_NAME},
        **connect_options,
    )
    return HistoryPool(
        connect=connect, size=size, idle_seconds=300.0, acquire_timeout=acquire_timeout
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[HistoryPool]:
    history_pool = _pool(database_url, size=2)
    yield history_pool
    await history_pool.close()


async def _backend_pid(pool: HistoryPool) -> int:
    async with pool.acquire() as connection:
        pid: int = await connection.fetchval("SELECT pg_backend_pid()")
        return pid


async def _backends(database_url: str) -> int:
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APP_NAME
        )
        return count
    finally:
        await connection.close()


async def _until_no_backends(database_url: str) -> int:
    """The pool's server backends left after up to a second (a cancel takes a moment)."""
    for _ in range(50):
        if (left := await _backends(database_url)) == 0:
            return left
        await asyncio.sleep(0.02)
    return await _backends(database_url)


async def test_connections_open_lazily_and_never_exceed_the_size(
    pool: HistoryPool, database_url: str
) -> None:
    assert await _backends(database_url) == 0
    pids: set[int] = set()

    async def query() -> None:
        async with pool.acquire() as connection:
            pids.add(await connection.fetchval("SELECT pg_backend_pid() FROM pg_sleep(0.02)"))
            assert pool.open_connections <= pool.size

    await asyncio.gather(*(query() for _ in range(12)))
    assert len(pids) == 2
    assert await _backends(database_url) == 2


async def test_waiters_are_served_in_the_order_they_arrived(database_url: str) -> None:
    one = _pool(database_url)
    served: list[int] = []
    holder = one.acquire()
    await holder.__aenter__()

    async def wait_turn(number: int) -> None:
        async with one.acquire():
            served.append(number)
            await asyncio.sleep(0)

    waiters = []
    for number in range(5):
        waiters.append(asyncio.create_task(wait_turn(number)))
        await asyncio.sleep(0)  # each one queued before the next arrives
    await holder.__aexit__(None, None, None)
    await asyncio.gather(*waiters)
    await one.close()
    assert served == [0, 1, 2, 3, 4]


async def test_a_cancelled_waiter_loses_no_connection(pool: HistoryPool) -> None:
    first, second = pool.acquire(), pool.acquire()
    await first.__aenter__()
    await second.__aenter__()
    waiter = asyncio.create_task(_backend_pid(pool))
    await asyncio.sleep(0.01)
    waiter.cancel()
    await first.__aexit__(None, None, None)
    await second.__aexit__(None, None, None)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # Both connections are back: two more requests at once are served without waiting.
    pids = await asyncio.wait_for(asyncio.gather(_backend_pid(pool), _backend_pid(pool)), 2)
    assert len(pids) == 2
    assert pool.open_connections == 2


async def test_a_connection_whose_statement_failed_is_not_lent_again(pool: HistoryPool) -> None:
    failed_pid = 0

    async def divide_by_zero() -> None:
        nonlocal failed_pid
        async with pool.acquire() as connection:
            failed_pid = await connection.fetchval("SELECT pg_backend_pid()")
            await connection.fetchval("SELECT 1 / 0")

    with pytest.raises(asyncpg.DivisionByZeroError):
        await divide_by_zero()
    assert pool.open_connections == 0
    assert await _backend_pid(pool) != failed_pid


async def test_a_cancelled_statement_is_cancelled_on_the_server_too(
    pool: HistoryPool, database_url: str
) -> None:
    async def slow() -> None:
        async with pool.acquire() as connection:
            await connection.execute("SELECT pg_sleep(5)")

    task = asyncio.create_task(slow())
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.open_connections == 0
    # The server stops the statement (no backend left sleeping out its 5 s).
    assert await _until_no_backends(database_url) == 0
    assert await asyncio.wait_for(_backend_pid(pool), 2) > 0


async def test_a_connection_the_server_dropped_is_replaced(
    pool: HistoryPool, database_url: str
) -> None:
    dropped = await _backend_pid(pool)
    admin = await asyncpg.connect(libpq_url(database_url))
    await admin.execute("SELECT pg_terminate_backend($1)", dropped)
    await admin.close()
    await asyncio.sleep(0.2)  # the loop sees the socket close
    assert await _backend_pid(pool) != dropped
    assert pool.open_connections == 1


async def test_a_failed_connect_frees_its_slot_for_the_next_request() -> None:
    attempts = 0

    async def unreachable() -> asyncpg.Connection:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0.01)
        raise OSError("connection refused")

    one = HistoryPool(connect=unreachable, size=1, idle_seconds=300.0, acquire_timeout=5.0)
    results = await asyncio.wait_for(
        asyncio.gather(*(_backend_pid(one) for _ in range(3)), return_exceptions=True), 2
    )
    assert [type(result) for result in results] == [OSError, OSError, OSError]
    assert attempts == 3
    assert one.open_connections == 0
    await one.close()


async def test_idle_connections_are_closed(pool: HistoryPool, database_url: str) -> None:
    async def hold() -> None:
        async with pool.acquire() as connection:
            await connection.execute("SELECT pg_sleep(0.02)")

    await asyncio.gather(hold(), hold())
    assert pool.open_connections == 2
    assert pool.close_idle(older_than=300.0) == 0
    assert pool.close_idle(older_than=0.0) == 2
    await asyncio.sleep(0.2)
    assert pool.open_connections == 0
    assert await _backends(database_url) == 0


async def test_a_closed_pool_refuses_new_requests_and_waiters(database_url: str) -> None:
    one = _pool(database_url)
    holder = one.acquire()
    connection = await holder.__aenter__()
    waiter = asyncio.create_task(_backend_pid(one))
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(one.close())
    with pytest.raises(PoolClosed):
        await waiter
    await holder.__aexit__(None, None, None)
    await closing
    await asyncio.sleep(0.1)
    assert connection.is_closed()
    with pytest.raises(PoolClosed):
        await _backend_pid(one)


async def test_history_answers_503_while_postgresql_is_unreachable(
    users: Engine, client: httpx.AsyncClient
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    working = app.state.history_pool
    app.state.history_pool = HistoryPool(
        connect=partial(asyncpg.connect, "postgresql://nobody@127.0.0.1:1/none", timeout=2),
        size=1,
        idle_seconds=300.0,
        acquire_timeout=5.0,
    )
    try:
        response = await client.get(f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A))
        profile = await client.get(f"/api/v1/users/{USER_A}/profile", headers=auth(USER_A))
    finally:
        await app.state.history_pool.close()
        app.state.history_pool = working
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "The history store is unavailable; try again shortly"}
    assert profile.status_code == 503
    recovered = await client.get(f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A))
    assert recovered.status_code == 200


async def test_a_request_that_waits_too_long_for_a_connection_times_out(
    database_url: str,
) -> None:
    one = _pool(database_url, acquire_timeout=0.2)
    holder = one.acquire()
    await holder.__aenter__()
    with pytest.raises(TimeoutError):
        await _backend_pid(one)
    await holder.__aexit__(None, None, None)
    # Nothing lost: the one connection serves the next request at once.
    assert await asyncio.wait_for(_backend_pid(one), 1) > 0
    assert one.open_connections == 1
    await one.close()


async def test_a_statement_past_the_client_timeout_is_abandoned_and_cancelled(
    database_url: str,
) -> None:
    # Production's client-side limit is the server's statement timeout plus 5 s (for a server
    # that cannot enforce its own); here a short one stands in for it.
    one = _pool(database_url, command_timeout=0.2)
    with pytest.raises(TimeoutError):
        async with one.acquire() as connection:
            await connection.execute("SELECT pg_sleep(5)")
    assert one.open_connections == 0
    assert await _until_no_backends(database_url) == 0
    await one.close()


async def test_metrics_show_the_pools_connections_and_waiting_requests(
    users: Engine, client: httpx.AsyncClient
) -> None:
    await client.get(f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A))
    app = client._transport.app  # type: ignore[attr-defined]
    pool: HistoryPool = app.state.history_pool
    held = [pool.acquire() for _ in range(pool.size)]
    for lease in held:
        await lease.__aenter__()
    waiter = asyncio.create_task(
        client.get(f"/api/v1/users/{USER_A}/profile", headers=auth(USER_A))
    )
    await asyncio.sleep(0.05)
    body = (await client.get("/metrics")).text
    for lease in held:
        await lease.__aexit__(None, None, None)
    assert (await waiter).status_code == 200
    assert f'hirecj_history_pool_connections{{state="open"}} {float(pool.size)}' in body
    assert 'hirecj_history_pool_connections{state="idle"} 0.0' in body
    assert "hirecj_history_pool_waiting 1.0" in body
    after = (await client.get("/metrics")).text
    assert "hirecj_history_pool_waiting 0.0" in after
    assert f'hirecj_history_pool_connections{{state="idle"}} {float(pool.size)}' in after
