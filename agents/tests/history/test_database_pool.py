"""The web process's PostgreSQL pool (asyncpg's, app.services.identity_db), against a real
PostgreSQL: lazy and bounded, a bounded wait that becomes a 503, a dropped connection replaced,
an unreachable database a clear 503 and /health answer, and the statement timeout in force."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from history_factories import USER_A, auth
from sqlalchemy import Engine
from tests.test_archival_helpers import database_pool

from app.exceptions import StoreUnavailable
from app.services.identity_db import Pool, close_pool, connect, database_answers
from shared.postgres import libpq_url

APP_NAME = "hirecj-pool-test"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    opened = await database_pool(database_url, application_name=APP_NAME, size=2)
    yield opened
    await close_pool(opened)


async def _backends(database_url: str) -> int:
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        count: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", APP_NAME
        )
        return count
    finally:
        await connection.close()


async def _backend_pid(pool: Pool) -> int:
    async with connect(pool) as connection:
        pid: int = await connection.fetchval("SELECT pg_backend_pid()")
        return pid


async def test_connections_open_lazily_and_never_exceed_the_size(
    pool: Pool, database_url: str
) -> None:
    assert await _backends(database_url) == 0
    held = [connect(pool) for _ in range(2)]
    for lease in held:
        await lease.__aenter__()
    third = asyncio.create_task(_backend_pid(pool))
    await asyncio.sleep(0.1)
    assert not third.done()
    assert await _backends(database_url) == 2
    for lease in held:
        await lease.__aexit__(None, None, None)
    assert await third > 0
    assert await _backends(database_url) == 2


async def test_a_request_that_waits_too_long_for_a_connection_is_unavailable(
    database_url: str,
) -> None:
    one = await database_pool(database_url, size=1)
    holder = connect(one)
    await holder.__aenter__()
    try:
        with pytest.raises(StoreUnavailable):
            async with connect(one, wait=0.2):
                pass
    finally:
        await holder.__aexit__(None, None, None)
    # Nothing lost: the one connection serves the next request at once.
    assert await asyncio.wait_for(_backend_pid(one), 2) > 0
    await close_pool(one)


async def test_a_cancelled_waiter_loses_no_connection(database_url: str) -> None:
    one = await database_pool(database_url, size=1)
    holder = connect(one)
    await holder.__aenter__()
    waiter = asyncio.create_task(_backend_pid(one))
    await asyncio.sleep(0.05)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await holder.__aexit__(None, None, None)
    assert await asyncio.wait_for(_backend_pid(one), 2) > 0
    await close_pool(one)


async def test_waiting_requests_are_served_first_come_first_served(database_url: str) -> None:
    # 300 requests arriving as a busy server sees them (several per loop iteration, newcomers
    # landing while released connections are on their way to waiters) on 2 connections. Left to
    # asyncpg's pool alone, newcomers overtook waiting requests (one by 264 later arrivals).
    pool = await database_pool(database_url, size=2)
    arrived: list[int] = []
    served: list[int] = []

    async def request(number: int) -> None:
        arrived.append(number)
        async with connect(pool) as connection:
            served.append(number)
            await connection.fetchval("SELECT pg_sleep(0.001)")

    warm = [connect(pool) for _ in range(2)]  # both connections open: waiting is what is measured
    for lease in warm:
        await lease.__aenter__()
    for lease in warm:
        await lease.__aexit__(None, None, None)
    pace = random.Random(1)
    requests = []
    for number in range(300):
        requests.append(asyncio.create_task(request(number)))
        if pace.random() < 0.5:
            await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*requests), 30)
    await close_pool(pool)
    assert served == arrived


async def test_a_connection_the_server_dropped_is_replaced(pool: Pool, database_url: str) -> None:
    first = await _backend_pid(pool)
    admin = await asyncpg.connect(libpq_url(database_url))
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", first)
    finally:
        await admin.close()
    await asyncio.sleep(0.1)
    pids = set()
    for _ in range(4):
        try:
            pids.add(await _backend_pid(pool))
        except StoreUnavailable:
            continue  # the one request that found the dead link; its connection is gone
    assert pids
    assert first not in pids


async def test_requests_run_under_the_statement_timeout_and_long_work_can_ask_for_more(
    pool: Pool,
) -> None:
    async with connect(pool) as connection:
        assert await connection.fetchval("SHOW statement_timeout") == "10s"
        async with connection.transaction():
            await connection.execute("SELECT set_config('statement_timeout', '50', true)")
            with pytest.raises(asyncpg.QueryCanceledError):
                await connection.execute("SELECT pg_sleep(2)")
        # SET LOCAL ended with its transaction.
        assert await connection.fetchval("SHOW statement_timeout") == "10s"


async def test_an_unreachable_database_is_a_503_and_health_names_it(
    users: Engine, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    working = app.state.db
    app.state.db = await database_pool("postgresql://nobody:secret-pw@127.0.0.1:1/none", size=1)
    try:
        with caplog.at_level(logging.ERROR):
            response = await client.get(
                f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A)
            )
            profile = await client.get(f"/api/v1/users/{USER_A}/profile", headers=auth(USER_A))
            health = await client.get("/health")
            assert await database_answers(app.state.db, timeout=2) is False
    finally:
        await close_pool(app.state.db)
        app.state.db = working
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json() == {"detail": "The history store is unavailable; try again shortly"}
    assert profile.status_code == 503
    assert health.status_code == 503
    assert health.json()["checks"]["postgres"] == "down"
    assert "secret-pw" not in caplog.text
    recovered = await client.get(f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A))
    assert recovered.status_code == 200


async def test_metrics_show_the_pools_connections_and_waiting_requests(
    users: Engine, client: httpx.AsyncClient
) -> None:
    await client.get(f"/api/v1/users/{USER_A}/conversations", headers=auth(USER_A))
    app = client._transport.app  # type: ignore[attr-defined]
    pool: Pool = app.state.db
    size = pool.get_max_size()
    held = [connect(pool) for _ in range(size)]
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
    assert f'hirecj_db_pool_connections{{state="open"}} {float(size)}' in body
    assert 'hirecj_db_pool_connections{state="idle"} 0.0' in body
    assert "hirecj_db_pool_waiting 1.0" in body
    after = (await client.get("/metrics")).text
    assert "hirecj_db_pool_waiting 0.0" in after
    assert f'hirecj_db_pool_connections{{state="idle"}} {float(size)}' in after


async def test_by_default_a_request_waits_no_longer_than_the_connect_timeout(
    users: Engine, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    app = client._transport.app  # type: ignore[attr-defined]
    pool: Pool = app.state.db
    monkeypatch.setattr(get_settings(), "identity_db_connect_timeout", 1)
    held = [connect(pool) for _ in range(pool.get_max_size())]
    for lease in held:
        await lease.__aenter__()
    try:
        started = asyncio.get_running_loop().time()
        response = await client.get(f"/api/v1/users/{USER_A}/profile", headers=auth(USER_A))
        waited = asyncio.get_running_loop().time() - started
    finally:
        for lease in held:
            await lease.__aexit__(None, None, None)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert waited < 5
