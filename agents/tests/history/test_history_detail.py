"""Detail (JSON and Markdown), deletion (PostgreSQL and Redis) and the profile."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import pytest
from history_factories import (
    BASE_TIME,
    USER_A,
    auth,
    conversation_exists,
    create_conversation,
    create_user,
    message,
)
from redis import Redis
from sqlalchemy import Engine, text

from app.core.redis_keys import (
    conversation_due_key,
    conversation_leased_key,
    messages_key,
    session_key,
)

BASE = f"/api/v1/users/{USER_A}"


async def test_detail_has_every_message(client: httpx.AsyncClient, users: Engine) -> None:
    messages = [message("Hello CJ", "user", 0), message("Hi! How can I help?", "cj", 1)]
    conversation_id = create_conversation(users, USER_A, messages=messages)
    response = await client.get(f"{BASE}/conversations/{conversation_id}", headers=auth(USER_A))
    assert response.status_code == 200
    assert response.json() == {
        "id": str(conversation_id),
        "workflow": "shopify_onboarding",
        "started_at": "2024-05-01T12:00:00Z",
        "ended_at": "2024-05-01T12:05:00Z",
        "messages": messages,
        "metadata": {"source": "test"},
    }


async def test_markdown_is_a_readable_transcript(client: httpx.AsyncClient, users: Engine) -> None:
    messages = [message("Where is my order?", "user", 0), message("Let me check.", "cj", 1)]
    conversation_id = create_conversation(users, USER_A, messages=messages)
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}",
        params={"format": "markdown"},
        headers=auth(USER_A),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith(f"# Conversation {conversation_id}\n")
    assert "- Workflow: shopify_onboarding" in text
    assert text.index("**You**") < text.index("Where is my order?") < text.index("**CJ**")
    assert text.rstrip().endswith("Let me check.")


@pytest.mark.parametrize("suffix", ["", "?format=markdown"])
async def test_unknown_conversation_is_404(
    client: httpx.AsyncClient, users: Engine, suffix: str
) -> None:
    response = await client.get(
        f"{BASE}/conversations/{uuid.uuid4()}{suffix}", headers=auth(USER_A)
    )
    assert response.status_code == 404
    assert response.json() == {"detail": "Conversation not found"}


@pytest.mark.parametrize("bad_id", ["nope", "123", "00000000-0000-0000-0000-00000000000g"])
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_non_uuid_id_is_422(
    client: httpx.AsyncClient, users: Engine, bad_id: str, method: str
) -> None:
    kept = create_conversation(users, USER_A)
    response = await client.request(method, f"{BASE}/conversations/{bad_id}", headers=auth(USER_A))
    assert response.status_code == 422
    assert conversation_exists(users, kept)


async def test_bad_format_is_422(client: httpx.AsyncClient, users: Engine) -> None:
    conversation_id = create_conversation(users, USER_A)
    response = await client.get(
        f"{BASE}/conversations/{conversation_id}?format=pdf", headers=auth(USER_A)
    )
    assert response.status_code == 422


def _live(redis_client: Redis, conversation_id: uuid.UUID, owner: str) -> str:
    key = str(conversation_id)
    redis_client.hset(session_key(key), mapping={"conversation_id": key, "user_id": owner})
    redis_client.rpush(messages_key(key), json.dumps(message("live words")))
    redis_client.zadd(conversation_due_key(key), {key: 1_700_000_000})
    return key


def _tombstoned(engine: Engine, key: object) -> bool:
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT count(*) FROM conversation_tombstones WHERE id = CAST(:id AS uuid)"),
            {"id": str(key)},
        ).scalar()
    return bool(found)


def _live_exists(redis_client: Redis, key: str) -> bool:
    keys = redis_client.exists(session_key(key), messages_key(key))
    return bool(keys) or redis_client.zscore(conversation_due_key(key), key) is not None


async def test_delete_removes_the_row_and_the_live_copy(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    conversation_id = create_conversation(users, USER_A)
    kept = create_conversation(users, USER_A)
    key = _live(redis_client, conversation_id, USER_A)
    other_key = _live(redis_client, uuid.uuid4(), USER_A)
    response = await client.delete(f"{BASE}/conversations/{conversation_id}", headers=auth(USER_A))
    assert response.status_code == 204
    assert response.content == b""
    assert not conversation_exists(users, conversation_id)
    assert not _live_exists(redis_client, key)
    assert conversation_exists(users, kept)
    assert _live_exists(redis_client, other_key)
    assert _tombstoned(users, conversation_id)
    assert not _tombstoned(users, kept)
    again = await client.delete(f"{BASE}/conversations/{conversation_id}", headers=auth(USER_A))
    assert again.status_code == 404


async def test_delete_of_a_live_only_conversation(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    key = _live(redis_client, uuid.uuid4(), USER_A)
    redis_client.zadd(conversation_leased_key(key), {key: 1e12})  # an archiver holds it now
    response = await client.delete(f"{BASE}/conversations/{key}", headers=auth(USER_A))
    assert response.status_code == 204
    assert not _live_exists(redis_client, key)
    assert redis_client.zscore(conversation_leased_key(key), key) is None
    # Its worker's late write will find the tombstone and write nothing.
    assert _tombstoned(users, key)


async def test_delete_of_an_anonymous_live_conversation_is_404(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    key = _live(redis_client, uuid.uuid4(), "")
    response = await client.delete(f"{BASE}/conversations/{key}", headers=auth(USER_A))
    assert response.status_code == 404
    assert _live_exists(redis_client, key)
    assert not _tombstoned(users, key)


async def test_delete_of_own_archived_row_also_clears_an_anonymous_live_copy(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    conversation_id = create_conversation(users, USER_A)
    key = _live(redis_client, conversation_id, "")
    response = await client.delete(f"{BASE}/conversations/{conversation_id}", headers=auth(USER_A))
    assert response.status_code == 204
    assert not conversation_exists(users, conversation_id)
    assert not _live_exists(redis_client, key)


async def test_delete_when_a_live_session_names_another_user_deletes_nothing(
    client: httpx.AsyncClient, users: Engine, redis_client: Redis
) -> None:
    conversation_id = create_conversation(users, USER_A)
    key = _live(redis_client, conversation_id, "usr_someone")
    response = await client.delete(f"{BASE}/conversations/{conversation_id}", headers=auth(USER_A))
    assert response.status_code == 404
    assert conversation_exists(users, conversation_id)
    assert _live_exists(redis_client, key)
    assert not _tombstoned(users, conversation_id)


async def test_profile_has_the_guide_fields_and_stats(
    client: httpx.AsyncClient, users: Engine
) -> None:
    create_conversation(users, USER_A, started_at=BASE_TIME)
    create_conversation(users, USER_A, started_at=BASE_TIME + timedelta(days=3))
    create_conversation(users, USER_A, started_at=None)
    response = await client.get(f"{BASE}/profile", headers=auth(USER_A))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "user_id",
        "shop_domain",
        "email",
        "name",
        "created_at",
        "last_seen",
        "stats",
    }
    assert body["user_id"] == USER_A
    assert body["shop_domain"] == f"{USER_A}.myshopify.com"
    assert (body["email"], body["name"]) == ("a@example.com", "Shop A")
    assert body["stats"] == {
        "total_conversations": 3,
        "first_conversation": "2024-05-01T12:00:00Z",
        "last_conversation": "2024-05-04T12:00:00Z",
    }


async def test_profile_of_a_user_without_conversations(
    client: httpx.AsyncClient, clean_database: Engine
) -> None:
    create_user(clean_database, USER_A)
    body = (await client.get(f"{BASE}/profile", headers=auth(USER_A))).json()
    assert body["stats"] == {
        "total_conversations": 0,
        "first_conversation": None,
        "last_conversation": None,
    }


async def test_profile_without_a_user_row_is_404(
    client: httpx.AsyncClient, clean_database: Engine
) -> None:
    response = await client.get(f"{BASE}/profile", headers=auth(USER_A))
    assert response.status_code == 404
    assert response.json() == {"detail": "User not found"}
