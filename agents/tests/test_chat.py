"""The chat WebSocket end to end: real Redis, real PostgreSQL, Starlette's TestClient."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from starlette.testclient import WebSocketTestSession
from tests.chat_factories import (
    create_archived_conversation,
    message,
    new_id,
    oauth_frame,
    start_frame,
    token_for,
    unsigned_token,
)

from app.core.redis_keys import conversation_due_key, messages_key, session_key
from app.main import create_app
from app.services.chat.responders import ConversationContext, ScriptedResponder
from shared.constants import MAX_MESSAGE_CHARS
from shared.ids import user_id_for_shop

SHOP = "cool-store.myshopify.com"
OTHER_SHOP = "other-store.myshopify.com"


@pytest.fixture
def client(redis_client: redis.Redis, clean_database: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def start(ws: WebSocketTestSession, conversation_id: str, **kwargs: Any) -> dict[str, Any]:
    ws.send_json(start_frame(conversation_id, **kwargs))
    started = ws.receive_json()
    assert started["type"] == "conversation_started", started
    return started


def greeted_start(ws: WebSocketTestSession, conversation_id: str, **kwargs: Any) -> str:
    """Start a new conversation and return CJ's greeting."""
    started = start(ws, conversation_id, **kwargs)
    assert started["resumed"] is False
    greeting = ws.receive_json()
    assert greeting["type"] == "cj_message"
    return str(greeting["content"])


def say(ws: WebSocketTestSession, text: str) -> dict[str, Any]:
    ws.send_json({"type": "message", "text": text})
    reply = ws.receive_json()
    assert reply["type"] == "cj_message", reply
    return reply


def stored(redis_client: redis.Redis, conversation_id: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis_client.lrange(messages_key(conversation_id), 0, -1)]


def session(redis_client: redis.Redis, conversation_id: str) -> dict[str, str]:
    return redis_client.hgetall(session_key(conversation_id))  # type: ignore[return-value]


def test_turns_are_stored_in_order_and_replayed_on_resume(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        replies = [say(ws, text) for text in ("hello", "what do you do?", "how do I connect?")]

    messages = stored(redis_client, conversation_id)
    assert [m["sender"] for m in messages] == ["cj", "user", "cj", "user", "cj", "user", "cj"]
    assert [m["content"] for m in messages[1::2]] == [
        "hello",
        "what do you do?",
        "how do I connect?",
    ]
    assert [m["message_id"] for m in messages[2::2]] == [r["message_id"] for r in replies]
    timestamps = [datetime.fromisoformat(m["timestamp"]) for m in messages]
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in timestamps)
    assert timestamps == sorted(timestamps)

    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(ws, conversation_id)
        assert started["resumed"] is True
        assert started["messages"] == messages
        # A resumed conversation is not greeted twice: the next frame answers our ping.
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert len(stored(redis_client, conversation_id)) == 7


def test_every_write_bumps_version_slides_ttl_and_queues_archival(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        first = int(session(redis_client, conversation_id)["version"])
        say(ws, "hello")
        second = int(session(redis_client, conversation_id)["version"])
    assert second == first + 2  # the user's message and CJ's reply
    assert 0 < redis_client.ttl(session_key(conversation_id)) <= 86400
    assert 0 < redis_client.ttl(messages_key(conversation_id)) <= 86400
    due = redis_client.zscore(conversation_due_key(conversation_id), conversation_id)
    assert due is not None
    assert due <= datetime.now(UTC).timestamp() + 60
    fields = session(redis_client, conversation_id)
    assert fields["status"] == "active"
    assert fields["workflow"] == "shopify_onboarding"
    assert fields["started_at"]
    assert fields["ended_at"] == ""
    assert fields["user_id"] == ""


@pytest.mark.parametrize(
    ("case", "token_of"),
    [
        ("no token", lambda: None),
        ("expired", lambda: token_for(SHOP, ttl=60, now=int(datetime.now(UTC).timestamp()) - 3600)),
        ("wrong secret", lambda: token_for(SHOP, secret="x" * 48)),
        ("alg none", lambda: unsigned_token(SHOP)),
        ("garbage", lambda: "not.a.token"),
    ],
)
def test_forged_user_id_never_owns_the_conversation(
    client: TestClient, redis_client: redis.Redis, case: str, token_of: Any
) -> None:
    conversation_id = new_id()
    claimed = user_id_for_shop(SHOP)
    token = token_of()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(ws, conversation_id, user_id=claimed, token=token)
        assert started["user_id"] is None
        assert started["identity"] == ("anonymous" if token is None else "rejected")
        ws.receive_json()  # greeting
        ws.send_json(oauth_frame(token or "", user_id=claimed))
        assert ws.receive_json()["success"] is False
    fields = session(redis_client, conversation_id)
    assert fields["user_id"] == ""
    assert fields["merchant_id"] == ""
    assert fields["shop"] == ""


def test_another_users_token_makes_that_user_the_owner_not_the_claimed_one(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(
            ws, conversation_id, user_id=user_id_for_shop(SHOP), token=token_for(OTHER_SHOP)
        )
    assert started["user_id"] == user_id_for_shop(OTHER_SHOP)
    assert session(redis_client, conversation_id)["user_id"] == user_id_for_shop(OTHER_SHOP)


BAD_FRAMES = [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"text": "no type"}', "no 'type'"),
    ('{"type": "dance"}', "unknown frame type"),
    ('{"type": "message"}', "missing 'text'"),
    ('{"type": "message", "text": 42}', "invalid 'text'"),
    ('{"type": "message", "text": ""}', "empty"),
    ('{"type": "message", "text": "   "}', "empty"),
    (json.dumps({"type": "message", "text": "x" * (MAX_MESSAGE_CHARS + 1)}), "longer than 8000"),
    (json.dumps({"type": "message", "text": "x" * 70000}), "larger than"),
    ('{"type": "oauth_complete", "is_new": true}', "missing 'token'"),
    ('{"type": "oauth_complete", "token": "t", "is_new": "yes"}', "invalid 'is_new'"),
    ('{"type": "start"}', "missing 'conversation_id'"),
    ('{"type": "start", "conversation_id": "not-a-uuid"}', "must be a UUID"),
    (f'{{"type": "start", "conversation_id": "{new_id()}"}}', "does not match"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_FRAMES)
def test_bad_frames_get_an_error_and_change_nothing(
    client: TestClient, redis_client: redis.Redis, raw: str, reason: str
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        say(ws, "before")
        before = (session(redis_client, conversation_id), stored(redis_client, conversation_id))
        ws.send_text(raw)
        error = ws.receive_json()
        assert error["type"] == "error"
        assert reason in error["text"]
        assert (
            session(redis_client, conversation_id),
            stored(redis_client, conversation_id),
        ) == before
        # The connection still works.
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        say(ws, "after")
    assert [m["content"] for m in stored(redis_client, conversation_id)][-2] == "after"


def test_binary_frame_is_an_error(client: TestClient) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        ws.send_bytes(b"\xff\xfe")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message", "text": "hi"},
        {"type": "end_conversation"},
        {"type": "oauth_complete", "token": "x"},
    ],
)
def test_frames_before_start_are_errors(
    client: TestClient, redis_client: redis.Redis, frame: dict[str, Any]
) -> None:
    with client.websocket_connect(f"/ws/chat/{new_id()}") as ws:
        ws.send_json(frame)
        assert ws.receive_json() == {"type": "error", "text": "send a 'start' frame first"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert redis_client.dbsize() == 0


def test_non_uuid_address_gets_an_error_and_stores_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    with client.websocket_connect("/ws/chat/not-a-uuid") as ws:
        assert ws.receive_json()["text"] == "the conversation id in the address must be a UUID"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
        ws.send_json(start_frame("not-a-uuid"))
        assert ws.receive_json()["type"] == "error"
        ws.send_json(start_frame(new_id()))
        assert ws.receive_json()["type"] == "error"
    assert redis_client.dbsize() == 0


def test_oauth_complete_links_an_anonymous_conversation_with_its_messages(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        say(ws, "I sell candles")
        ws.send_json(oauth_frame(token_for(SHOP), is_new=True, user_id="usr_forged00"))
        processed = ws.receive_json()
        assert processed == {
            "type": "oauth_processed",
            "success": True,
            "is_new": True,
            "merchant_id": "merchant_cool-store",
            "user_id": user_id_for_shop(SHOP),
        }
        acknowledgement = ws.receive_json()
        assert acknowledgement["type"] == "cj_message"
        assert "cool-store" in acknowledgement["content"]
    fields = session(redis_client, conversation_id)
    assert fields["user_id"] == user_id_for_shop(SHOP)
    assert fields["merchant_id"] == "merchant_cool-store"
    assert fields["shop"] == SHOP
    assert [m["content"] for m in stored(redis_client, conversation_id)][1] == "I sell candles"

    # The owner resumes it with their token; nobody else (nor an anonymous client) can.
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(ws, conversation_id, token=token_for(SHOP))
        assert started["resumed"] is True
        assert len(started["messages"]) == 4


@pytest.mark.parametrize("intruder_token", [None, "other"])
def test_another_users_conversation_cannot_be_resumed(
    client: TestClient, redis_client: redis.Redis, intruder_token: str | None
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id, token=token_for(SHOP))
        say(ws, "my secret plans")
    before = (session(redis_client, conversation_id), stored(redis_client, conversation_id))

    token = token_for(OTHER_SHOP) if intruder_token else None
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        ws.send_json(start_frame(conversation_id, token=token, user_id=user_id_for_shop(SHOP)))
        assert ws.receive_json() == {"type": "error", "text": "conversation not found"}
        ws.send_json({"type": "message", "text": "let me in"})
        assert ws.receive_json()["type"] == "error"
        if token:
            ws.send_json(oauth_frame(token))
            assert ws.receive_json()["type"] == "error"
    assert (session(redis_client, conversation_id), stored(redis_client, conversation_id)) == before


def test_signed_in_user_resuming_an_anonymous_conversation_links_it(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        say(ws, "hello")
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(ws, conversation_id, token=token_for(SHOP))
    assert started["resumed"] is True
    assert started["user_id"] == user_id_for_shop(SHOP)
    assert len(started["messages"]) == 3
    assert session(redis_client, conversation_id)["user_id"] == user_id_for_shop(SHOP)


def test_returning_user_is_welcomed_back_with_the_last_archived_topic(
    client: TestClient, clean_database: Engine
) -> None:
    create_archived_conversation(
        clean_database,
        shop=SHOP,
        started_at=datetime(2024, 1, 1, tzinfo=UTC),
        messages=[message("cj", "Hi"), message("user", "an older topic")],
    )
    create_archived_conversation(
        clean_database,
        shop=SHOP,
        started_at=datetime(2024, 2, 1, tzinfo=UTC),
        messages=[message("cj", "Hi"), message("user", "Help me with refunds please")],
    )
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeting = greeted_start(ws, conversation_id, token=token_for(SHOP))
    assert "Welcome back" in greeting
    assert "Help me with refunds please" in greeting


def test_new_user_and_live_only_conversations_get_no_welcome_back(client: TestClient) -> None:
    first, second = new_id(), new_id()
    with client.websocket_connect(f"/ws/chat/{first}") as ws:
        greeting = greeted_start(ws, first, token=token_for(SHOP))
        say(ws, "a live conversation, not archived")
    assert "Welcome back" not in greeting
    with client.websocket_connect(f"/ws/chat/{second}") as ws:
        assert "Welcome back" not in greeted_start(ws, second, token=token_for(SHOP))


def test_archived_conversation_resumes_only_for_its_owner(
    client: TestClient, redis_client: redis.Redis, clean_database: Engine
) -> None:
    archived = [message("cj", "Hi"), message("user", "archived question"), message("cj", "answer")]
    conversation_id = create_archived_conversation(clean_database, shop=SHOP, messages=archived)

    for token in (None, token_for(OTHER_SHOP)):
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id, token=token))
            assert ws.receive_json() == {"type": "error", "text": "conversation not found"}
    assert redis_client.dbsize() == 0

    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = start(ws, conversation_id, token=token_for(SHOP))
        assert started["resumed"] is True
        assert [m["content"] for m in started["messages"]] == [m["content"] for m in archived]


def test_a_conversation_back_from_postgresql_says_it_was_restored_and_from_when(
    client: TestClient, redis_client: redis.Redis, clean_database: Engine
) -> None:
    archived = [message("user", "archived question"), message("cj", "answer")]
    conversation_id = create_archived_conversation(clean_database, shop=SHOP, messages=archived)
    with clean_database.begin() as connection:
        connection.execute(
            text("UPDATE conversations SET archived_at = '2024-03-01T10:00:00Z' WHERE id = :id"),
            {"id": conversation_id},
        )
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        restored = start(ws, conversation_id, token=token_for(SHOP))
    assert restored["restored"] is True
    assert restored["archived_at"] == "2024-03-01T10:00:00+00:00"
    # Redis has it again now: the next start resumes the live copy, not the archive.
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        resumed = start(ws, conversation_id, token=token_for(SHOP))
    assert (resumed["resumed"], resumed["restored"], resumed["archived_at"]) == (True, False, None)
    fresh = new_id()
    with client.websocket_connect(f"/ws/chat/{fresh}") as ws:
        new = start(ws, fresh, token=token_for(SHOP))
    assert (new["resumed"], new["restored"], new["archived_at"]) == (False, False, None)


def test_a_deleted_conversation_cannot_be_started_again_under_its_id(
    client: TestClient, redis_client: redis.Redis, clean_database: Engine
) -> None:
    # A stale tab of a conversation its owner deleted: the archiver would skip the id forever,
    # so whatever was said under it would be lost. The client is told to start a new one.
    conversation_id = new_id()
    with clean_database.begin() as connection:
        connection.execute(
            text("INSERT INTO conversation_tombstones (id) VALUES (CAST(:id AS uuid))"),
            {"id": conversation_id},
        )
    for token in (None, token_for(SHOP)):
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id, token=token))
            assert ws.receive_json() == {
                "type": "error",
                "text": "this conversation was deleted; start a new one",
            }
    assert redis_client.dbsize() == 0


def test_end_conversation_ends_and_queues_archival_now(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        say(ws, "bye soon")
        ws.send_json({"type": "end_conversation"})
        ended = ws.receive_json()
        assert ended["type"] == "conversation_ended"
        assert ended["conversation_id"] == conversation_id
        ws.send_json({"type": "message", "text": "one more"})
        assert "ended" in ws.receive_json()["text"]
    fields = session(redis_client, conversation_id)
    assert fields["status"] == "ended"
    assert fields["ended_at"] == ended["ended_at"]
    assert (
        redis_client.zscore(conversation_due_key(conversation_id), conversation_id)
        <= datetime.now(UTC).timestamp()
    )
    assert len(stored(redis_client, conversation_id)) == 3


def test_two_app_instances_share_conversations_through_redis(
    redis_client: redis.Redis, clean_database: Engine
) -> None:
    conversation_id = new_id()
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        with first.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            greeted_start(ws, conversation_id, token=token_for(SHOP))
            say(ws, "started on one")
        with second.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            started = start(ws, conversation_id, token=token_for(SHOP))
            assert [m["content"] for m in started["messages"]][1] == "started on one"
            assert len(started["messages"]) == 3
            say(ws, "continued on two")
        with first.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            assert len(start(ws, conversation_id, token=token_for(SHOP))["messages"]) == 5


class SlowResponder(ScriptedResponder):
    async def reply(self, *, context: ConversationContext, text: str) -> str:
        await asyncio.sleep(0.3)
        return "a reply written while the client was gone"


def test_disconnect_while_cj_replies_loses_nothing(
    client: TestClient, redis_client: redis.Redis
) -> None:
    client.app.state.responder = SlowResponder()  # type: ignore[attr-defined]
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        greeted_start(ws, conversation_id)
        ws.send_json({"type": "message", "text": "are you there?"})
    deadline = time.monotonic() + 5
    while len(stored(redis_client, conversation_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    messages = stored(redis_client, conversation_id)
    assert [(m["sender"], m["content"]) for m in messages[1:]] == [
        ("user", "are you there?"),
        ("cj", "a reply written while the client was gone"),
    ]
