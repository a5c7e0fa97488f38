"""The archiver when things fail: PostgreSQL down, several processes, a worker killed mid-run,
stores unreachable at start, and the loop inside the app (starts and stops with it; /metrics)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, text
from tests.test_archival_helpers import (
    TcpProxy,
    archived,
    contents,
    make_archiver,
    run_worker,
    seed,
    seed_many,
    sessions,
    summary_of,
)

from app.config import get_settings
from app.core.redis_keys import conversation_due_key, messages_key, session_key
from app.main import create_app
from app.services.archival.queue import queue_sizes
from app.services.identity_db import close_pool


def archived_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id::text, jsonb_array_length(messages) FROM conversations")
        )
        return {row[0]: row[1] for row in rows}


async def test_postgresql_down_then_back_loses_nothing_and_extends_ttls(
    aredis, database_url, clean_database, caplog
):  # type: ignore[no-untyped-def]
    target = urlsplit(database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    manager = sessions(aredis, ttl=60)
    ids = [await seed(manager, messages=2, end=True) for _ in range(30)]
    for conversation_id in ids:  # about to expire
        await aredis.expire(session_key(conversation_id), 3)
        await aredis.expire(messages_key(conversation_id), 3)
    archiver = await make_archiver(aredis, proxy.url(database_url), batch_size=10, session_ttl=60)
    await archiver.check_database()
    await proxy.cut()

    caplog.set_level(logging.WARNING, logger="app.services")
    run = asyncio.create_task(archiver.archive_due())
    await asyncio.sleep(4)  # past the keys' original TTL
    assert not run.done()
    for conversation_id in ids:
        assert await aredis.ttl(messages_key(conversation_id)) > 30
        assert await aredis.exists(session_key(conversation_id))
    await proxy.restore()
    summary = await asyncio.wait_for(run, 30)
    await close_pool(archiver.pool)
    await proxy.cut()

    assert summary.conversations == 30
    assert archived_rows(clean_database) == dict.fromkeys(ids, 2)
    outage_lines = [r for r in caplog.records if "unavailable" in r.getMessage()]
    recovery_lines = [r for r in caplog.records if "available again" in r.getMessage()]
    assert (len(outage_lines), len(recovery_lines)) == (1, 1)


async def test_two_archiver_processes_archive_each_conversation_exactly_once(
    aredis, clean_database
):  # type: ignore[no-untyped-def]
    ids = await seed_many(sessions(aredis), 2000, messages=3)
    args = ("--all", "--json", "--batch-size", "100")
    workers = [run_worker(*args), run_worker(*args)]
    outputs = [worker.communicate(timeout=120) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    counts = [summary_of(out)["conversations"] for out, _ in outputs]
    assert sum(counts) == 2000
    assert all(count > 0 for count in counts)  # both took part
    assert archived_rows(clean_database) == dict.fromkeys(ids, 3)
    assert sum(await queue_sizes(aredis)) == 0


@pytest.mark.slow
async def test_a_worker_killed_mid_run_and_restarted_loses_and_duplicates_nothing(
    aredis, clean_database
):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    ids = await seed_many(manager, 1500, messages=4)
    lease = {"ARCHIVE_LEASE_SECONDS": "10"}
    worker = run_worker("--all", "--batch-size", "50", env=lease)
    assert worker.stdout is not None
    worker.stdout.readline()  # the first batch is done, others are in flight
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert len(archived_rows(clean_database)) < 1500
    for conversation_id in ids[:5]:  # the chat goes on meanwhile
        await manager.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content="after kill"
        )

    await asyncio.sleep(10.5)  # the dead worker's leases end
    again = run_worker("--all", "--json", env=lease)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err

    rows = archived_rows(clean_database)
    assert rows == {i: (5 if i in ids[:5] else 4) for i in ids}
    assert contents(archived(clean_database, ids[0]))[-1] == "after kill"
    assert sum(await queue_sizes(aredis)) == 0


def test_worker_exits_nonzero_with_a_clear_message_when_a_store_is_unreachable():
    no_db = run_worker("--once", env={"IDENTITY_DATABASE_URL": "postgresql://x:y@127.0.0.1:9/none"})
    _, err = no_db.communicate(timeout=60)
    assert no_db.returncode == 3
    assert "PostgreSQL unreachable at 127.0.0.1:9/none" in err
    assert "y@" not in err  # no password
    no_redis = run_worker("--all", env={"REDIS_URL": "redis://127.0.0.1:9/0"})
    _, err = no_redis.communicate(timeout=60)
    assert no_redis.returncode == 2
    assert "Redis unreachable at 127.0.0.1:9/0" in err


def test_worker_once_prints_a_one_line_summary(clean_database):  # type: ignore[no-untyped-def]
    worker = run_worker("--once")
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    assert out.strip().splitlines()[-1].startswith("archived 0 conversations")


def test_index_alone_is_a_bounded_run_and_reconcile_alone_is_refused(
    clean_database,
):  # type: ignore[no-untyped-def]
    indexing = run_worker("--index", "--json")
    out, err = indexing.communicate(timeout=60)
    assert indexing.returncode == 0, err
    assert summary_of(out)["conversations"] == 0
    reconciling = run_worker("--reconcile")
    _, err = reconciling.communicate(timeout=60)
    assert reconciling.returncode == 2  # argparse's usage error, before anything is touched
    assert "--reconcile needs --once or --all" in err


async def test_background_loop_starts_and_stops_with_the_app(aredis, clean_database, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ARCHIVER_ENABLED", "true")
    get_settings.cache_clear()
    try:
        app = create_app()
        ended = await seed(sessions(aredis), messages=2, end=True)
        async with app.router.lifespan_context(app):
            task = app.state.archiver.task
            deadline = time.monotonic() + 10
            while archived(clean_database, ended) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert contents(archived(clean_database, ended)) == ["message 0", "message 1"]
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                await aredis.zadd(conversation_due_key("overdue"), {"overdue": time.time() + 3600})
                response = await client.get("/metrics")
        assert task.done()
    finally:
        get_settings.cache_clear()
    assert response.status_code == 200
    body = response.text
    for name in (
        "hirecj_conversations_archived_total",
        "hirecj_archive_failures_total",
        "hirecj_archive_batch_seconds_bucket",
        "hirecj_archive_oldest_due_age_seconds",
    ):
        assert name in body


async def test_metrics_report_the_age_of_the_oldest_due_conversation(aredis):  # type: ignore[no-untyped-def]
    app = create_app()
    async with app.router.lifespan_context(app):
        await aredis.zadd(conversation_due_key("a"), {"a": time.time() - 120})
        await aredis.zadd(conversation_due_key("b"), {"b": time.time() + 5})
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/metrics")
    line = next(
        row
        for row in response.text.splitlines()
        if row.startswith("hirecj_archive_oldest_due_age_seconds ")
    )
    assert 119 <= float(line.split()[1]) < 200


@pytest.mark.single_node
async def test_redis_down_then_back_the_loop_waits_and_resumes(
    aredis, redis_url, database_url, clean_database, caplog
):  # type: ignore[no-untyped-def]
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    await proxy.start()
    through_proxy = aioredis.Redis.from_url(
        f"redis://127.0.0.1:{proxy.port}{target.path}", decode_responses=True
    )
    archiver = await make_archiver(through_proxy, database_url)
    caplog.set_level(logging.WARNING, logger="app.services")
    loop = asyncio.create_task(archiver.run_forever())
    try:
        first = await seed(sessions(aredis), messages=2, end=True)
        await wait_for_rows(clean_database, {first: 2})
        await proxy.cut()
        # Written while the archiver cannot reach Redis (the chat itself still can).
        second = await seed(sessions(aredis), messages=3, end=True)
        await asyncio.sleep(2)
        assert not loop.done()
        assert archived(clean_database, second) is None
        await proxy.restore()
        await wait_for_rows(clean_database, {first: 2, second: 3})
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        await close_pool(archiver.pool)
        await through_proxy.aclose()
        await proxy.cut()
    messages = [r.getMessage() for r in caplog.records]
    went = [m for m in messages if "unavailable" in m and "edis" in m]
    came_back = [m for m in messages if "available again" in m and "edis" in m]
    assert (len(went), len(came_back)) == (1, 1)  # once per outage, not once per attempt


async def wait_for_rows(engine: Engine, expected: dict[str, int], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if archived_rows(engine) == expected:
            return
        await asyncio.sleep(0.2)
    assert archived_rows(engine) == expected
