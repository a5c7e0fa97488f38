"""Durability against real processes: Redis persistence read and enforced at start, a worker
started while PostgreSQL is away (it waits and keeps the TTLs alive), ``--all`` and other
archivers' leases."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine
from tests.test_archival_helpers import (
    archived,
    make_archiver,
    run_worker,
    seed,
    sessions,
)

from app.config import get_settings
from app.core.redis_keys import messages_key, session_key
from app.core.redis_persistence import VolatileRedisError
from app.main import create_app
from app.services.archival.queue import claim_due, queue_sizes
from app.services.identity_db import close_pool
from shared.testing.redis_server import RedisServerProcess
from shared.testing.tcp_proxy import ThreadedTcpProxy


async def _health(app_env: pytest.MonkeyPatch) -> dict[str, object]:
    app = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            health = await client.get("/health")
            metrics = await client.get("/metrics")
    body = dict(health.json())
    body["metrics"] = metrics.text
    return body


@pytest.mark.parametrize(
    ("server", "mode"),
    [
        ({"appendonly": True}, "aof"),
        ({"appendonly": False}, "none"),
        ({"extra_args": ("--rename-command", "CONFIG", "")}, "unknown"),
    ],
)
@pytest.mark.single_node
async def test_health_and_metrics_show_what_redis_keeps_across_a_restart(
    configured: pytest.MonkeyPatch, clean_database: Engine, server: dict[str, object], mode: str
) -> None:
    with RedisServerProcess(**server) as redis_server:  # type: ignore[arg-type]
        configured.setenv("REDIS_URL", redis_server.url)
        body = await _health(configured)
    persistence = body["redis_persistence"]
    assert isinstance(persistence, dict)
    assert persistence["mode"] == mode
    if mode == "aof":
        assert persistence["appendfsync"] == "everysec"
    assert f'hirecj_redis_persistence{{mode="{mode}"}} 1.0' in str(body["metrics"])


@pytest.mark.single_node
async def test_production_refuses_a_redis_without_aof_unless_told_it_may(
    configured: pytest.MonkeyPatch, clean_database: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisServerProcess(appendonly=False) as volatile:
        configured.setenv("REDIS_URL", volatile.url)
        configured.setenv("ENVIRONMENT", "production")
        configured.setenv("IDENTITY_TOKEN_SECRET", "p" * 48)
        configured.setenv("TOKEN_ENCRYPTION_KEY", "cHJvZHVjdGlvbi1rZXktZm9yLXRoZS10ZXN0cy0wMDA=")
        app = create_app()
        with pytest.raises(VolatileRedisError, match="REDIS_ALLOW_VOLATILE=true"):
            async with app.router.lifespan_context(app):
                pass
        assert "appendonly yes" in caplog.text
        configured.setenv("REDIS_ALLOW_VOLATILE", "true")
        get_settings.cache_clear()
        body = await _health(configured)
    assert body["status"] == "ok"


async def test_a_worker_started_while_postgresql_is_away_waits_and_loses_nothing(
    aredis: aioredis.Redis, database_url: str, clean_database: Engine
) -> None:
    target = urlsplit(database_url)
    # In its own thread: the test waits for the worker with blocking calls, and a proxy on this
    # event loop would freeze meanwhile (the worker then meets a second, fake, outage).
    proxy = ThreadedTcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    proxy.cut()  # PostgreSQL "down" before the worker ever starts
    manager = sessions(aredis, ttl=60)
    ids = [await seed(manager, messages=2, end=True) for _ in range(20)]
    for conversation_id in ids:  # about to expire
        await aredis.expire(session_key(conversation_id), 4)
        await aredis.expire(messages_key(conversation_id), 4)
    worker = run_worker(env={"IDENTITY_DATABASE_URL": proxy.url(database_url)})
    try:
        await asyncio.sleep(6)  # past the keys' original TTL
        assert worker.poll() is None, worker.communicate()
        for conversation_id in ids:
            assert await aredis.ttl(messages_key(conversation_id)) > 20
        assert all(archived(clean_database, i) is None for i in ids)
        proxy.restore()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all(archived(clean_database, i) is not None for i in ids):
                break
            await asyncio.sleep(0.2)
        assert all(len(archived(clean_database, i)["messages"]) == 2 for i in ids)  # type: ignore[index]
    finally:
        worker.terminate()
        _, err = await asyncio.to_thread(worker.communicate, timeout=30)
        proxy.stop()
    assert err.count("PostgreSQL unavailable") == 1, err
    assert err.count("PostgreSQL available again") == 1, err


async def test_all_takes_what_another_archiver_had_leased_once_its_lease_ends(
    aredis: aioredis.Redis, database_url: str, clean_database: Engine
) -> None:
    manager = sessions(aredis)
    held = await seed(manager, messages=2, end=True)
    free = await seed(manager, messages=2, end=True)
    other = await claim_due(aredis, now=time.time(), limit=1, lease_seconds=2)
    assert len(other.ids) == 1  # "another worker" holds one of the two, for 2 s
    archiver = await make_archiver(aredis, database_url, lease_seconds=10)
    try:
        summary = await archiver.archive_due(everything=True)
    finally:
        await close_pool(archiver.pool)
    assert (summary.conversations, summary.left_leased) == (2, 0)
    assert archived(clean_database, held) is not None
    assert archived(clean_database, free) is not None
    assert await queue_sizes(aredis) == (0, 0)


async def test_all_says_how_many_it_could_not_take_and_exits_nonzero(
    aredis: aioredis.Redis, clean_database: Engine
) -> None:
    await seed(sessions(aredis), messages=2, end=True)
    await claim_due(aredis, now=time.time(), limit=1, lease_seconds=3600)  # a stuck worker
    worker = run_worker("--all", env={"ARCHIVE_LEASE_SECONDS": "10"})
    out, err = worker.communicate(timeout=60)
    assert worker.returncode == 4, (out, err)
    assert "1 conversations stayed leased by another archiver" in err
    assert "1 still leased by another archiver, not archived" in out
