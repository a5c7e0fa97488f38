"""The chat while PostgreSQL is away: a new conversation still starts and is answered, and what it
holds is archived once PostgreSQL returns, never over another conversation's row and never into a
deleted one's id (app/services/archival/unverified.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import redis.asyncio as aioredis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from tests.chat_factories import create_archived_conversation, message, new_id, start_frame
from tests.test_archival_helpers import archived, contents, make_archiver, sessions

from app.core.redis_keys import session_key
from app.main import create_app
from app.services.archival.store import parse_timestamp
from app.services.archival.unverified import derived_id
from app.services.identity_db import close_pool
from shared.ids import user_id_for_shop
from shared.testing.tcp_proxy import ThreadedTcpProxy


@pytest.fixture
def postgresql_away(
    configured: pytest.MonkeyPatch, database_url: str, clean_database: Engine
) -> Iterator[ThreadedTcpProxy]:
    """The app's PostgreSQL behind a proxy that is cut (refusing connections) from the start."""
    target = urlsplit(database_url)
    proxy = ThreadedTcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    proxy.cut()
    configured.setenv("IDENTITY_DATABASE_URL", proxy.url(database_url))
    configured.setenv("ARCHIVER_ENABLED", "false")
    try:
        yield proxy
    finally:
        proxy.stop()


def test_a_new_chat_starts_and_is_answered_while_postgresql_is_away(
    postgresql_away: ThreadedTcpProxy, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with TestClient(create_app()) as client:
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id))
            started = ws.receive_json()
            assert started["type"] == "conversation_started", started
            assert started["resumed"] is False
            assert ws.receive_json()["type"] == "cj_message"  # the greeting
            ws.send_json({"type": "message", "text": "hello while the database is down"})
            assert ws.receive_json()["type"] == "cj_message"
        assert client.get("/health").status_code == 503  # and /health names PostgreSQL
    assert redis_client.hget(session_key(conversation_id), "unverified") == "1"


async def _unverified_session(
    aredis: aioredis.Redis, conversation_id: str, *, user_id: str | None, said: list[str]
) -> None:
    manager = sessions(aredis)
    await manager.create_session(
        conversation_id=conversation_id,
        workflow="shopify_onboarding",
        user_id=user_id,
        unverified=True,
    )
    for index, content in enumerate(said):
        await manager.append_message(
            conversation_id=conversation_id,
            user_id=user_id,
            sender="user" if index % 2 == 0 else "cj",
            content=content,
        )


async def _archive(aredis: aioredis.Redis, database_url: str) -> None:
    archiver = await make_archiver(aredis, database_url)
    try:
        summary = await archiver.archive_due(everything=True)
    finally:
        await close_pool(archiver.pool)
    assert summary.conversations >= 1


def _started_at(aredis_sync: redis.Redis, conversation_id: str) -> Any:
    return parse_timestamp(aredis_sync.hget(session_key(conversation_id), "started_at"))


def _rows(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM conversations")).scalar_one())


async def test_an_unverified_new_id_is_archived_under_itself(
    aredis: aioredis.Redis, database_url: str, clean_database: Engine
) -> None:
    conversation_id = new_id()
    await _unverified_session(aredis, conversation_id, user_id=None, said=["hi", "hello"])
    await _archive(aredis, database_url)
    await sessions(aredis).append_message(
        conversation_id=conversation_id, user_id=None, sender="user", content="more"
    )
    await _archive(aredis, database_url)  # its own row now: updated, not moved aside
    assert contents(archived(clean_database, conversation_id)) == ["hi", "hello", "more"]  # type: ignore[arg-type]
    assert _rows(clean_database) == 1


async def test_an_unverified_session_never_overwrites_another_users_archived_row(
    aredis: aioredis.Redis, database_url: str, clean_database: Engine, redis_client: redis.Redis
) -> None:
    theirs = [message("user", "the owner's question"), message("cj", "an answer")]
    conversation_id = create_archived_conversation(
        clean_database, shop="owner.myshopify.com", messages=theirs
    )
    intruder = user_id_for_shop("other.myshopify.com")
    said = ["a", "b", "c", "d", "e"]  # more messages than the row: the upsert alone would win
    await _unverified_session(aredis, conversation_id, user_id=intruder, said=said)
    await _archive(aredis, database_url)
    await sessions(aredis).append_message(
        conversation_id=conversation_id, user_id=intruder, sender="user", content="f"
    )
    await _archive(aredis, database_url)

    original = archived(clean_database, conversation_id)
    assert original is not None
    assert original["user_id"] == user_id_for_shop("owner.myshopify.com")
    assert contents(original) == ["the owner's question", "an answer"]
    moved_id = derived_id(conversation_id, _started_at(redis_client, conversation_id))
    moved = archived(clean_database, moved_id)
    assert moved is not None
    assert contents(moved) == [*said, "f"]  # both archives landed on the same row
    assert moved["metadata"]["chat_conversation_id"] == conversation_id
    assert _rows(clean_database) == 2


async def test_an_unverified_session_of_a_deleted_id_is_kept_under_its_own_id(
    aredis: aioredis.Redis, database_url: str, clean_database: Engine, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with clean_database.begin() as connection:
        connection.execute(
            text("INSERT INTO conversation_tombstones (id) VALUES (CAST(:id AS uuid))"),
            {"id": conversation_id},
        )
    await _unverified_session(aredis, conversation_id, user_id=None, said=["said after"])
    await _archive(aredis, database_url)
    assert archived(clean_database, conversation_id) is None  # the deleted one stays deleted
    moved = archived(
        clean_database, derived_id(conversation_id, _started_at(redis_client, conversation_id))
    )
    assert moved is not None
    assert contents(moved) == ["said after"]
