"""The archiver's semantics with real Redis and PostgreSQL: order, idempotence, monotonicity,
acks, leases, user linking, and data PostgreSQL refuses."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, text
from tests.chat_factories import create_user
from tests.test_archival_helpers import (
    archived,
    contents,
    make_archiver,
    queued_ids,
    seed,
    sessions,
)

from app.core.redis_keys import conversation_due_key, messages_key
from app.services.archival import store as archive_store
from app.services.archival.queue import ack_archived, claim_due, queue_sizes
from app.services.identity_db import close_pool
from shared.ids import user_id_for_shop


@pytest.fixture
async def archiver(aredis: aioredis.Redis, database_url: str, clean_database: Engine):  # type: ignore[no-untyped-def]
    instance = await make_archiver(aredis, database_url)
    yield instance
    await close_pool(instance.pool)


async def test_archive_continue_archive_keeps_every_message_in_order(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=3)

    first = await archiver.archive_due(everything=True)
    await archiver.archive_due(everything=True)  # nothing queued: changes nothing
    for index in range(3, 6):
        await manager.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content=f"message {index}"
        )
    second = await archiver.archive_due(everything=True)

    row = archived(db_engine, conversation_id)
    assert (first.conversations, second.conversations) == (1, 1)
    assert contents(row) == [f"message {i}" for i in range(6)]
    assert row["workflow_name"] == "shopify_onboarding"
    assert (
        row["archive_version"]
        == (await manager.get_session(conversation_id=conversation_id)).version
    )
    with db_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM conversations")).scalar() == 1
    assert await queue_sizes(aredis) == (0, 0)
    # The chat goes on from Redis: archival never deletes the live keys.
    assert await aredis.llen(messages_key(conversation_id)) == 6


async def test_archiving_the_same_state_twice_gives_one_unchanged_row(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    conversation_id = await seed(sessions(aredis), messages=2)
    batch = await archive_store.read_batch(aredis, ids=[conversation_id])
    async with archiver.connection() as conn:
        await archive_store.write_batch(conn, batch, with_merchants=True)
        before = archived(db_engine, conversation_id)
        await archive_store.write_batch(conn, batch, with_merchants=True)
    after = archived(db_engine, conversation_id)
    assert after == before


async def test_a_late_stale_write_never_replaces_a_newer_one(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=2)
    stale = await archive_store.read_batch(aredis, ids=[conversation_id])
    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="cj", content="newer"
    )
    fresh = await archive_store.read_batch(aredis, ids=[conversation_id])
    async with archiver.connection() as conn:
        await archive_store.write_batch(conn, fresh, with_merchants=True)
        await archive_store.write_batch(conn, stale, with_merchants=True)
    assert contents(archived(db_engine, conversation_id)) == ["message 0", "message 1", "newer"]


async def test_a_write_during_archival_keeps_the_conversation_queued(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=1)
    claim = await claim_due(aredis, now=time.time() + 3600, limit=10, lease_seconds=60)
    batch = await archive_store.read_batch(aredis, ids=claim.ids)
    async with archiver.connection() as conn:
        await archive_store.write_batch(conn, batch, with_merchants=True)
    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="user", content="late"
    )

    assert (
        await ack_archived(aredis, claim=claim, versions=batch.ack_versions, now=time.time()) == 0
    )
    assert await aredis.zscore(conversation_due_key(conversation_id), conversation_id) is not None
    await archiver.archive_due(everything=True)
    assert contents(archived(db_engine, conversation_id)) == ["message 0", "late"]


async def test_a_dead_workers_claim_returns_to_the_queue(aredis):  # type: ignore[no-untyped-def]
    conversation_id = await seed(sessions(aredis), messages=1)
    now = time.time() + 3600
    assert (await claim_due(aredis, now=now, limit=10, lease_seconds=30)).ids == [conversation_id]
    assert (await claim_due(aredis, now=now, limit=10, lease_seconds=30)).ids == []
    assert (await claim_due(aredis, now=now + 31, limit=10, lease_seconds=30)).ids == [
        conversation_id
    ]


async def test_only_due_conversations_are_archived_by_a_due_pass(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis, idle=3600)
    ended = await seed(manager, messages=1, end=True)
    busy = await seed(manager, messages=1)
    summary = await archiver.archive_due()
    assert summary.conversations == 1
    assert archived(db_engine, ended)["ended_at"] is not None
    assert archived(db_engine, busy) is None
    assert await aredis.zscore(conversation_due_key(busy), busy) is not None


async def test_users_are_linked_from_session_merchant_or_later(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    known = create_user(db_engine, "known.myshopify.com")
    merchant_user = create_user(db_engine, "merchant.myshopify.com")
    with db_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO merchants (merchant_id, shop_domain, user_id) "
                "VALUES ('merchant_merchant', 'merchant.myshopify.com', :user)"
            ),
            {"user": merchant_user},
        )
    by_session = await seed(manager, user_id=known)
    by_merchant = await seed(manager, merchant_id="merchant_merchant")
    anonymous = await seed(manager)
    future_user = user_id_for_shop("later.myshopify.com")
    not_yet = await seed(manager, user_id=future_user)

    summary = await archiver.archive_due(everything=True)

    assert summary.conversations == 4  # the unknown user broke nothing
    assert archived(db_engine, by_session)["user_id"] == known
    assert archived(db_engine, by_merchant)["user_id"] == merchant_user
    assert archived(db_engine, anonymous)["user_id"] is None
    row = archived(db_engine, not_yet)
    assert (row["user_id"], row["pending_user_id"]) == (None, future_user)

    create_user(db_engine, "later.myshopify.com")
    assert await archiver.link_pending_users() == 1
    row = archived(db_engine, not_yet)
    assert (row["user_id"], row["pending_user_id"]) == (future_user, None)

    await manager.link_user(
        conversation_id=anonymous, user_id=known, merchant_id=None, shop="known.myshopify.com"
    )
    await archiver.archive_due(everything=True)
    assert archived(db_engine, anonymous)["user_id"] == known


async def test_a_message_that_is_not_json_is_kept_not_dropped(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=1)
    good = await seed(manager, messages=1)
    await aredis.rpush(messages_key(conversation_id), "{not json", '{"content": "nul \\u0000"}')
    summary = await archiver.archive_due(everything=True)
    assert summary.conversations == 2
    messages = archived(db_engine, conversation_id)["messages"]
    assert messages[0]["content"] == "message 0"
    assert messages[1] == {"sender": "unknown", "content": "{not json", "invalid_json": True}
    assert messages[2]["content"] == "nul \ufffd"
    assert contents(archived(db_engine, good)) == ["message 0"]


async def test_queue_entries_that_are_not_conversations_are_dropped(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    await aredis.zadd(conversation_due_key("not-a-uuid"), {"not-a-uuid": 1.0})
    empty = await seed(sessions(aredis), messages=0)
    summary = await archiver.archive_due(everything=True)
    assert summary.conversations == 0
    assert (await queue_sizes(aredis))[0] == 0
    assert archived(db_engine, empty) is None


async def test_reconciliation_queues_only_unarchived_changes(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    done = await seed(manager, messages=1)
    await archiver.archive_due(everything=True)
    lost = await seed(manager, messages=2)
    await aredis.zrem(conversation_due_key(lost), lost)  # as if its ZADD had never run
    assert await archiver.reconcile() == 1
    assert await queued_ids(aredis) == [lost]
    await archiver.archive_due(everything=True)
    assert contents(archived(db_engine, lost)) == ["message 0", "message 1"]
    assert archived(db_engine, done) is not None


async def test_a_deleted_conversation_is_never_written_back(archiver, aredis, db_engine):  # type: ignore[no-untyped-def]
    # The user deletes while a worker still holds a snapshot read before the delete: the
    # tombstone the delete leaves behind makes the worker's late write a no-op.
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=4)
    await archiver.archive_due(everything=True)
    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="user", content="after archival"
    )
    with db_engine.begin() as connection:
        connection.execute(
            text("INSERT INTO conversation_tombstones (id) VALUES (CAST(:id AS uuid))"),
            {"id": conversation_id},
        )
        connection.execute(
            text("DELETE FROM conversations WHERE id = CAST(:id AS uuid)"), {"id": conversation_id}
        )

    await archiver.archive_due(everything=True)

    assert archived(db_engine, conversation_id) is None


async def test_a_chat_in_which_only_cj_spoke_is_not_archived_until_the_merchant_writes(
    archiver, aredis, db_engine
):  # type: ignore[no-untyped-def]
    manager = sessions(aredis)
    conversation_id = await seed(manager, messages=0)
    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="cj", content="Hi! I'm CJ."
    )

    skipped = await archiver.archive_due(everything=True)
    assert skipped.conversations == 0
    assert archived(db_engine, conversation_id) is None
    # Settled, not retried forever: nothing is left queued or leased.
    assert await queue_sizes(aredis) == (0, 0)

    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="user", content="refund please"
    )
    written = await archiver.archive_due(everything=True)
    assert written.conversations == 1
    assert contents(archived(db_engine, conversation_id)) == ["Hi! I'm CJ.", "refund please"]
