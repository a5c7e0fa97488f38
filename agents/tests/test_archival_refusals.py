"""PostgreSQL answering with a refusal that waiting will not fix (an unmigrated schema, a missing
table): a bounded run stops at once with exit 5 and what to do, the loop waits (keeping the TTLs
alive) and says what it is, not "unavailable"; nothing is lost either way."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis
from sqlalchemy import create_engine, text
from tests.test_archival_helpers import archived, make_archiver, run_worker, seed, sessions

from app.core.redis_keys import messages_key
from app.services.archival.outage import ArchiverRefused
from app.services.archival.queue import queue_sizes
from app.services.identity_db import close_pool
from shared.db import sqlalchemy_url
from shared.testing.plugin import create_database, drop_database


def _execute(url: str, sql: str) -> None:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text(sql))
    finally:
        engine.dispose()


@pytest.fixture
def own_database() -> Iterator[str]:
    """A migrated database of this test's own, so that it may break the schema."""
    name = f"hirecj_ref_{uuid.uuid4().hex[:10]}"
    url = create_database(name)
    yield url
    drop_database(name)


@pytest.fixture
def unmigrated_database() -> Iterator[str]:
    name = f"hirecj_ref_{uuid.uuid4().hex[:10]}"
    url = create_database(name, migrate=False)
    yield url
    drop_database(name)


def test_a_bounded_run_on_an_unmigrated_database_exits_5_at_once_naming_the_fix(
    unmigrated_database: str,
) -> None:
    started = time.monotonic()
    worker = run_worker("--once", env={"IDENTITY_DATABASE_URL": unmigrated_database})
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 5, err
    assert time.monotonic() - started < 20  # not --give-up-after's 30 s of "outage"
    assert "UndefinedTableError" in err
    assert "run_migration.py" in err
    assert "unreachable" not in err
    assert "hirecj_dev_password" not in err


async def test_a_refused_write_gives_the_claims_back_and_stops_a_bounded_run(
    aredis: aioredis.Redis, own_database: str
) -> None:
    ids = [await seed(sessions(aredis), messages=2, end=True) for _ in range(3)]
    _execute(own_database, "ALTER TABLE conversations RENAME TO conversations_moved")
    archiver = await make_archiver(aredis, own_database)
    started = time.monotonic()
    try:
        with pytest.raises(ArchiverRefused, match="UndefinedTableError"):
            await archiver.archive_due(everything=True, give_up_after=30)
    finally:
        await close_pool(archiver.pool)
    assert time.monotonic() - started < 10
    assert await queue_sizes(aredis) == (len(ids), 0)  # handed back, none leased


async def test_the_loop_waits_out_a_refusal_keeping_ttls_then_archives_everything(
    aredis: aioredis.Redis, own_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [await seed(sessions(aredis, ttl=60), messages=2, end=True) for _ in range(5)]
    for conversation_id in ids:
        await aredis.expire(messages_key(conversation_id), 3)
    _execute(own_database, "ALTER TABLE conversations RENAME TO conversations_moved")
    archiver = await make_archiver(aredis, own_database, session_ttl=60)
    caplog.set_level(logging.WARNING, logger="app.core.outage")
    loop = asyncio.create_task(archiver.run_forever())
    try:
        await asyncio.sleep(4)  # past the keys' TTL
        assert not loop.done()
        for conversation_id in ids:
            assert await aredis.ttl(messages_key(conversation_id)) > 30
        _execute(own_database, "ALTER TABLE conversations_moved RENAME TO conversations")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and await queue_sizes(aredis) != (0, 0):
            await asyncio.sleep(0.2)
    finally:
        loop.cancel()
        with pytest.raises(asyncio.CancelledError):
            await loop
        await close_pool(archiver.pool)
    engine = create_engine(sqlalchemy_url(own_database))
    try:
        assert all(len(archived(engine, i)["messages"]) == 2 for i in ids)  # type: ignore[index]
    finally:
        engine.dispose()
    messages = [record.getMessage() for record in caplog.records]
    refused = [m for m in messages if "refuses the statements of the archiver" in m]
    accepted = [m for m in messages if "accepts the statements of the archiver" in m]
    assert (len(refused), len(accepted)) == (1, 1), messages
    assert "UndefinedTableError" in refused[0]
    assert "run_migration.py" in refused[0]
    assert not [m for m in messages if "unavailable" in m]
