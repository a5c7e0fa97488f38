"""What the chat promises about messages: an ended chat its owner continues, a retried message
stored once, a conversation's cap, and acknowledgement only after the replicas have it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.testclient import WebSocketTestSession
from tests.chat_factories import create_user, new_id, start_frame, token_for
from tests.test_archival_helpers import archived, contents, run_worker

from app.core.redis_keys import messages_key, session_key
from app.main import create_app
from shared.testing.redis_server import RedisServerProcess

SHOP = "continuity.myshopify.com"


@pytest.fixture
def client(redis_client: redis.Redis, clean_database: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as test_client:
        yield test_client


def _start(ws: WebSocketTestSession, conversation_id: str, **kwargs: Any) -> dict[str, Any]:
    ws.send_json(start_frame(conversation_id, **kwargs))
    started = ws.receive_json()
    assert started["type"] == "conversation_started", started
    return started


def _stored(redis_client: redis.Redis, conversation_id: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis_client.lrange(messages_key(conversation_id), 0, -1)]


def _send(ws: WebSocketTestSession, text: str, message_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "message", "text": text}
    if message_id is not None:
        frame["message_id"] = message_id
    ws.send_json(frame)
    return dict(ws.receive_json())


def test_the_owner_continues_an_ended_chat_and_the_archive_keeps_one_row_in_order(
    client: TestClient, redis_client: redis.Redis, clean_database: Engine
) -> None:
    create_user(clean_database, SHOP)
    token = token_for(SHOP)
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id, token=token)
        ws.receive_json()  # the greeting
        assert _send(ws, "first question")["type"] == "cj_message"
        ws.send_json({"type": "end_conversation"})
        assert ws.receive_json()["type"] == "conversation_ended"
    worker = run_worker("--all")
    assert worker.wait(60) == 0, worker.communicate()
    assert contents(archived(clean_database, conversation_id))[1] == "first question"

    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        started = _start(ws, conversation_id, token=token)
        assert started["resumed"] is True
        reply = _send(ws, "a follow-up, days later")
        assert reply["type"] == "cj_message"
    assert redis_client.hget(session_key(conversation_id), "status") == "active"
    assert redis_client.hget(session_key(conversation_id), "ended_at") == ""
    worker = run_worker("--all")
    assert worker.wait(60) == 0, worker.communicate()
    row = archived(clean_database, conversation_id)
    said = contents(row)
    assert len(said) == 5
    assert said[1] == "first question"
    assert said[3:] == ["a follow-up, days later", reply["content"]]
    assert row["ended_at"] is None


def test_nobody_but_the_owner_continues_an_ended_chat(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id, token=token_for(SHOP))
        ws.receive_json()
        ws.send_json({"type": "end_conversation"})
        ws.receive_json()
    before = _stored(redis_client, conversation_id)
    for token in (None, token_for("someone-else.myshopify.com")):
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id, token=token))
            assert ws.receive_json() == {"type": "error", "text": "conversation not found"}
            assert _send(ws, "let me in")["type"] == "error"
    anonymous = new_id()
    with client.websocket_connect(f"/ws/chat/{anonymous}") as ws:
        _start(ws, anonymous)
        ws.receive_json()
        ws.send_json({"type": "end_conversation"})
        ws.receive_json()
        # An anonymous chat that has ended stays ended: there is no owner to continue it.
        assert _send(ws, "more") == {
            "type": "error",
            "text": "this conversation has ended; start a new one",
        }
    assert _stored(redis_client, conversation_id) == before


def test_a_retried_message_is_stored_once_and_answered_with_the_same_reply(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    message_id = str(uuid.uuid4())
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        ws.receive_json()
        first = _send(ws, "where is my order?", message_id)
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        again = _send(ws, "where is my order?", message_id.upper())
    assert again == first
    messages = _stored(redis_client, conversation_id)
    assert [m["content"] for m in messages if m["sender"] == "user"] == ["where is my order?"]
    assert [m["message_id"] for m in messages].count(first["message_id"]) == 1
    assert len(messages) == 3


def test_a_message_id_that_is_not_a_uuid_is_refused_and_nothing_is_stored(
    client: TestClient, redis_client: redis.Redis
) -> None:
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        ws.receive_json()
        before = _stored(redis_client, conversation_id)
        assert _send(ws, "hello", "not-a-uuid") == {
            "type": "error",
            "text": "'message' frame has an invalid 'message_id': not a UUID",
        }
    assert _stored(redis_client, conversation_id) == before


def test_a_conversation_takes_no_message_past_its_cap(
    configured: pytest.MonkeyPatch, redis_client: redis.Redis, clean_database: Engine
) -> None:
    configured.setenv("CHAT_MAX_MESSAGES_PER_CONVERSATION", "4")
    conversation_id = new_id()
    with (
        TestClient(create_app()) as client,
        client.websocket_connect(f"/ws/chat/{conversation_id}") as ws,
    ):
        _start(ws, conversation_id)
        ws.receive_json()  # greeting: 1
        assert _send(ws, "one")["type"] == "cj_message"  # 2, 3
        # "two" would be the 4th and CJ's reply the 5th: refused, so the count stays within.
        assert _send(ws, "two") == {
            "type": "error",
            "text": "this conversation has reached its limit of 4 messages; start a new one",
        }
        assert _send(ws, "three")["type"] == "error"
    kept = [m["content"] for m in _stored(redis_client, conversation_id)]
    assert len(kept) == 3
    assert kept[1] == "one"


@pytest.mark.single_node
def test_with_wait_replicas_a_message_is_acknowledged_only_once_a_replica_has_it(
    configured: pytest.MonkeyPatch, clean_database: Engine
) -> None:
    with RedisServerProcess(appendonly=True) as primary:
        configured.setenv("REDIS_URL", primary.url)
        configured.setenv("REDIS_WAIT_REPLICAS", "1")
        configured.setenv("REDIS_WAIT_TIMEOUT_MS", "300")
        conversation_id = new_id()
        with (
            TestClient(create_app()) as client,
            client.websocket_connect(f"/ws/chat/{conversation_id}") as ws,
        ):
            _start(ws, conversation_id)
            assert ws.receive_json()["type"] == "cj_message"  # the greeting needs no WAIT
            # No replica yet: nothing confirms the message, so it is not acknowledged.
            assert _send(ws, "unconfirmed", str(uuid.uuid4())) == {
                "type": "error",
                "text": "your message could not be confirmed as saved; please send it again",
            }
            with RedisServerProcess(replica_of=primary.port) as replica:
                replica_client = redis.Redis(port=replica.port, decode_responses=True)
                message_id = str(uuid.uuid4())
                for _ in range(50):  # the replica needs a moment for its first sync
                    answer = _send(ws, "confirmed", message_id)
                    if answer["type"] == "cj_message":
                        break
                assert answer["type"] == "cj_message"
                kept = replica_client.lrange(messages_key(conversation_id), 0, -1)
                assert any('"content":"confirmed"' in item for item in kept)
                replica_client.close()
