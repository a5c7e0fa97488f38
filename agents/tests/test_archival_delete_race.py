"""A user's delete and the archiver's write of the same conversation at the same instant: the
conversation stays deleted whichever starts first (real PostgreSQL, real Redis; each side's
transaction is held open by the test so the two overlap for certain)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, text
from tests.chat_factories import create_user
from tests.test_archival_helpers import archived, database_pool, seed, sessions

from app.services.archival import store as archive_store
from app.services.history import deletion as history_delete
from app.services.identity_db import Pool, close_pool
from app.services.session_manager import SessionManager
from shared.postgres import libpq_url

SHOP = "race-shop.myshopify.com"


@pytest.fixture
async def connection(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    opened = await asyncpg.connect(libpq_url(database_url))
    yield opened
    await opened.close()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    opened = await database_pool(database_url, size=1)
    yield opened
    await close_pool(opened)


@dataclass
class LiveConversation:
    """A user's live conversation and the archiver's snapshot of it, read before any delete."""

    user_id: str
    manager: SessionManager
    conversation_id: str
    batch: archive_store.ArchiveBatch


@pytest.fixture
async def live(aredis: aioredis.Redis, clean_database: Engine) -> LiveConversation:
    user_id = create_user(clean_database, SHOP)
    manager = sessions(aredis)
    conversation_id = await seed(manager, user_id=user_id, messages=3)
    batch = await archive_store.read_batch(aredis, ids=[conversation_id])
    return LiveConversation(user_id, manager, conversation_id, batch)


def _tombstoned(engine: Engine, conversation_id: str) -> bool:
    with engine.connect() as db:
        found = db.execute(
            text("SELECT count(*) FROM conversation_tombstones WHERE id = CAST(:id AS uuid)"),
            {"id": conversation_id},
        ).scalar()
    return found == 1


async def test_a_delete_during_the_first_archival_waits_and_removes_the_row(
    live: LiveConversation,
    connection: asyncpg.Connection,
    pool: Pool,
    clean_database: Engine,
) -> None:
    conversation_id = live.conversation_id
    # The archiver's upsert has inserted the row but not committed yet.
    archiving = connection.transaction()
    await archiving.start()
    await archive_store.write_batch(connection, live.batch, with_merchants=True)
    delete = asyncio.create_task(
        history_delete.delete_conversation(
            pool=pool,
            sessions=live.manager,
            user_id=live.user_id,
            conversation_id=uuid.UUID(conversation_id),
        )
    )
    await asyncio.sleep(0.3)
    assert not delete.done()  # it waits for the archiver's transaction
    await archiving.commit()
    await asyncio.wait_for(delete, 5)

    assert archived(clean_database, conversation_id) is None
    assert _tombstoned(clean_database, conversation_id)
    assert await live.manager.get_session(conversation_id=conversation_id) is None


async def test_an_archival_during_a_delete_waits_and_writes_nothing(
    live: LiveConversation,
    connection: asyncpg.Connection,
    database_url: str,
    clean_database: Engine,
) -> None:
    conversation_id = live.conversation_id
    # A delete holds the conversation's lock and has written its tombstone, uncommitted.
    deleting = connection.transaction()
    await deleting.start()
    await connection.execute(
        archive_store.LOCK_FOR_DELETING,
        archive_store.CONVERSATION_LOCK_SPACE,
        uuid.UUID(conversation_id),
    )
    await connection.execute(
        "INSERT INTO conversation_tombstones (id) VALUES ($1)", uuid.UUID(conversation_id)
    )
    writer = await asyncpg.connect(libpq_url(database_url))
    try:
        write = asyncio.create_task(
            archive_store.write_batch(writer, live.batch, with_merchants=True)
        )
        await asyncio.sleep(0.3)
        assert not write.done()  # it waits for the delete's transaction
        await deleting.commit()
        await asyncio.wait_for(write, 5)
    finally:
        await writer.close()

    assert archived(clean_database, conversation_id) is None


async def test_archivers_do_not_wait_for_each_other(
    aredis: aioredis.Redis,
    connection: asyncpg.Connection,
    database_url: str,
    clean_database: Engine,
) -> None:
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=2)
    batch = await archive_store.read_batch(aredis, ids=[conversation_id])
    first = connection.transaction()
    await first.start()
    await connection.execute(
        archive_store.LOCK_FOR_ARCHIVING, archive_store.CONVERSATION_LOCK_SPACE, [conversation_id]
    )
    writer = await asyncpg.connect(libpq_url(database_url))
    try:
        await asyncio.wait_for(archive_store.write_batch(writer, batch, with_merchants=True), 2)
    finally:
        await writer.close()
        await first.rollback()
    assert archived(clean_database, conversation_id) is not None
