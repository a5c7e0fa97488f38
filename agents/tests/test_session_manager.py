"""SessionManager against real Redis: layout, ownership, ordering, the archive index."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import pytest
import redis
from tests.chat_factories import new_id

from app.core.redis_keys import conversation_due_key, messages_key, session_key
from app.services.session_manager import (
    ConversationAlreadyExists,
    ConversationEndedError,
    ConversationNotFound,
    SessionManager,
)
from shared.redis_client import create_async_redis
from shared.testing.stack import SCALED

TTL = 600
IDLE = 60


@pytest.fixture
async def manager(redis_client: redis.Redis, redis_url: str) -> AsyncIterator[SessionManager]:
    client = create_async_redis(redis_url, cluster=SCALED)
    yield SessionManager(client, ttl_seconds=TTL, idle_seconds=IDLE)
    await client.aclose()


async def test_create_session_writes_the_documented_hash(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    session = await manager.create_session(
        conversation_id=conversation_id,
        workflow="shopify_onboarding",
        user_id="usr_12345678",
        merchant_id="merchant_cool",
        shop="cool.myshopify.com",
    )
    fields = redis_client.hgetall(session_key(conversation_id))
    assert set(fields) == {
        "conversation_id", "user_id", "merchant_id", "shop", "workflow", "started_at",
        "ended_at", "last_activity", "status", "version",
    }  # fmt: skip
    assert fields["user_id"] == "usr_12345678"
    assert fields["merchant_id"] == "merchant_cool"
    assert fields["status"] == "active"
    assert int(fields["version"]) == session.version
    assert 0 < redis_client.ttl(session_key(conversation_id)) <= TTL
    assert (
        redis_client.zscore(conversation_due_key(conversation_id), conversation_id)
        <= time.time() + IDLE
    )

    with pytest.raises(ConversationAlreadyExists):
        await manager.create_session(conversation_id=conversation_id, workflow="other")
    assert redis_client.hget(session_key(conversation_id), "workflow") == "shopify_onboarding"


async def test_messages_append_in_order_with_rising_versions_and_sliding_ttl(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    session = await manager.create_session(conversation_id=conversation_id, workflow="w")
    versions = [session.version]
    for index in range(5):
        await manager.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content=f"m{index}"
        )
        versions.append(int(redis_client.hget(session_key(conversation_id), "version")))
    assert versions == sorted(set(versions))
    stored = [json.loads(m) for m in redis_client.lrange(messages_key(conversation_id), 0, -1)]
    assert [m["content"] for m in stored] == [f"m{i}" for i in range(5)]
    assert set(stored[0]) == {"sender", "content", "timestamp", "message_id"}
    assert 0 < redis_client.ttl(messages_key(conversation_id)) <= TTL


async def test_concurrent_appends_from_two_managers_are_all_kept(
    manager: SessionManager, redis_url: str, redis_client: redis.Redis
) -> None:
    other_client = create_async_redis(redis_url, cluster=SCALED)
    other = SessionManager(other_client, ttl_seconds=TTL, idle_seconds=IDLE)
    conversation_id = new_id()
    await manager.create_session(conversation_id=conversation_id, workflow="w")
    writes = [
        target.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content=str(i)
        )
        for i, target in enumerate([manager, other] * 15)
    ]
    await asyncio.gather(*writes)
    await other_client.aclose()
    contents = {
        json.loads(m)["content"] for m in redis_client.lrange(messages_key(conversation_id), 0, -1)
    }
    assert contents == {str(i) for i in range(30)}


async def test_link_user_claims_anonymous_only(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    await manager.create_session(conversation_id=conversation_id, workflow="w")
    linked = await manager.link_user(
        conversation_id=conversation_id, user_id="usr_aaaaaaaa", merchant_id="m", shop="s"
    )
    assert linked.user_id == "usr_aaaaaaaa"
    before = redis_client.hgetall(session_key(conversation_id))
    with pytest.raises(ConversationNotFound):
        await manager.link_user(
            conversation_id=conversation_id, user_id="usr_bbbbbbbb", merchant_id=None, shop=None
        )
    with pytest.raises(ConversationNotFound):
        await manager.append_message(
            conversation_id=conversation_id, user_id="usr_bbbbbbbb", sender="user", content="x"
        )
    assert redis_client.hgetall(session_key(conversation_id)) == before


async def test_end_conversation_is_due_now_and_refuses_more_messages(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    await manager.create_session(conversation_id=conversation_id, workflow="w")
    ended = await manager.end_conversation(conversation_id=conversation_id, user_id=None)
    assert ended.ended
    assert ended.ended_at
    assert (
        redis_client.zscore(conversation_due_key(conversation_id), conversation_id) <= time.time()
    )
    with pytest.raises(ConversationEndedError):
        await manager.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content="late"
        )
    again = await manager.end_conversation(conversation_id=conversation_id, user_id=None)
    assert again.ended_at == ended.ended_at


async def test_writes_to_a_missing_conversation_create_nothing(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with pytest.raises(ConversationNotFound):
        await manager.append_message(
            conversation_id=conversation_id, user_id=None, sender="user", content="x"
        )
    assert redis_client.dbsize() == 0


async def test_delete_live_conversation_respects_the_expected_version(
    manager: SessionManager, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    session = await manager.create_session(conversation_id=conversation_id, workflow="w")
    await manager.append_message(
        conversation_id=conversation_id, user_id=None, sender="user", content="x"
    )
    assert not await manager.delete_live_conversation(
        conversation_id=conversation_id, expected_version=session.version
    )
    current = int(redis_client.hget(session_key(conversation_id), "version"))
    assert await manager.delete_live_conversation(
        conversation_id=conversation_id, expected_version=current
    )
    assert redis_client.dbsize() == 0


async def test_archival_is_due_before_the_ttl_even_when_idle_is_longer(
    redis_client: redis.Redis, redis_url: str
) -> None:
    client = create_async_redis(redis_url, cluster=SCALED)
    slow_idle = SessionManager(
        client, ttl_seconds=600, idle_seconds=3600, archive_before_ttl_seconds=120
    )
    conversation_id = new_id()
    started = time.time()
    await slow_idle.create_session(conversation_id=conversation_id, workflow="shopify_onboarding")
    await client.aclose()
    due = redis_client.zscore(conversation_due_key(conversation_id), conversation_id)
    # TTL 600 s less the 120 s margin: due within 480 s, not after the hour of idleness.
    assert started + 470 <= due <= time.time() + 480
