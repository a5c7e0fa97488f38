"""Hostile chat input against the real app (real Redis and PostgreSQL): each gets an ``error``
frame, the socket stays open, nothing is stored, and no traceback reaches the log. Then the abuse
limits, each with a low setting, and the defaults a person never meets."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect
from tests.chat_factories import new_id, start_frame, token_for

from app.config import get_settings
from app.core.redis_keys import messages_key, session_key
from app.main import create_app
from shared.ids import user_id_for_shop
from shared.tokens import issue_token

SHOP = "cool-store.myshopify.com"
AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, clean_database: Engine
) -> Iterator[AppFactory]:
    """``make_client(VAR=value, ...)``: the real app under those settings, lifespan running."""
    clients: list[TestClient] = []

    def make(**env: str) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        client = TestClient(create_app())
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    get_settings.cache_clear()


def _keys(redis_client: redis.Redis) -> dict[str, Any]:
    """Every conversation key with its content (rate-limit counters are not conversation data)."""
    state: dict[str, Any] = {}
    for key in sorted(redis_client.keys("conv:*")):
        kind = redis_client.type(key)
        state[key] = (
            redis_client.lrange(key, 0, -1) if kind == "list" else redis_client.hgetall(key)
        )
    return state


def _start(ws: WebSocketTestSession, conversation_id: str, **kwargs: Any) -> None:
    ws.send_json(start_frame(conversation_id, **kwargs))
    assert ws.receive_json()["type"] == "conversation_started"
    assert ws.receive_json()["type"] == "cj_message"


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


HOSTILE_FRAMES = {
    "20,000 nested arrays": ("[" * 20_000 + "]" * 20_000, "nested"),
    "10,000 nested objects": ('{"a":' * 10_000 + "1" + "}" * 10_000, "nested"),
    "nesting inside a frame": (
        '{"type": "message", "text": "hi", "extra": ' + "[" * 50 + "]" * 50 + "}",
        "nested",
    ),
    "lone surrogate in the text": ('{"type": "message", "text": "hi \\ud800"}', "surrogate"),
    "lone low surrogate": ('{"type": "message", "text": "\\udfff"}', "surrogate"),
    "NUL in the text": ('{"type": "message", "text": "a\\u0000b"}', "NUL"),
    "surrogate in a key": ('{"type": "message", "text": "hi", "\\ud800": 1}', "surrogate"),
    "surrogate in the workflow": (
        '{"type": "start", "conversation_id": "x", "workflow": "\\ud800"}',
        "surrogate",
    ),
    "NUL in the token": ('{"type": "oauth_complete", "token": "\\u0000"}', "NUL"),
    "a 5,000-digit number": ('{"type": "message", "text": ' + "9" * 5000 + "}", "not valid JSON"),
}


@pytest.mark.parametrize("name", list(HOSTILE_FRAMES))
def test_hostile_frames_get_an_error_and_change_nothing(
    name: str,
    make_client: AppFactory,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    raw, reason = HOSTILE_FRAMES[name]
    client = make_client()
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        before = _keys(redis_client)
        ws.send_text(raw)
        error = ws.receive_json()
        assert error["type"] == "error"
        assert reason in error["text"]
        assert _keys(redis_client) == before
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    _no_traceback(caplog)


def test_a_nul_in_a_tokens_subject_is_refused_as_a_forged_token(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    token = issue_token(
        user_id="usr_\x00evil",
        shop=SHOP,
        secret=os.environ["IDENTITY_TOKEN_SECRET"],
        ttl_seconds=600,
    )
    client = make_client()
    response = client.get(
        "/api/v1/users/usr_%00evil/profile", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        ws.send_json(start_frame(conversation_id, token=token))
        assert ws.receive_json()["identity"] == "rejected"
    _no_traceback(caplog)


# Abuse limits ---------------------------------------------------------------------------------


def test_messages_past_the_per_connection_limit_get_an_error_and_are_not_stored(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = make_client(CHAT_MESSAGES_PER_MINUTE="3")
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        for text in ("one", "two", "three"):
            ws.send_json({"type": "message", "text": text})
            assert ws.receive_json()["type"] == "cj_message"
        before = _keys(redis_client)
        ws.send_json({"type": "message", "text": "four"})
        error = ws.receive_json()
        assert error["type"] == "error"
        assert "too quickly" in error["text"]
        assert _keys(redis_client) == before
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    contents = [
        json.loads(m)["content"] for m in redis_client.lrange(messages_key(conversation_id), 0, -1)
    ]
    assert "four" not in contents


def test_a_conversation_stops_at_its_message_limit(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    # Greeting + two exchanges = 5 messages: the third user message finds no room, whether the
    # check is made before the append (here) or inside the atomic write.
    client = make_client(CHAT_MAX_MESSAGES_PER_CONVERSATION="5")
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        _start(ws, conversation_id)
        for text in ("one", "two"):
            ws.send_json({"type": "message", "text": text})
            assert ws.receive_json()["type"] == "cj_message"
        ws.send_json({"type": "message", "text": "three"})
        error = ws.receive_json()
        assert error["type"] == "error"
        assert "limit of 5 messages" in error["text"]
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    stored = redis_client.lrange(messages_key(conversation_id), 0, -1)
    assert len(stored) <= 5
    assert "three" not in [json.loads(m)["content"] for m in stored]


def test_new_conversations_past_the_per_address_limit_are_refused_and_not_created(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = make_client(NEW_CONVERSATIONS_PER_MINUTE_PER_IP="2")
    for attempt in range(3):
        conversation_id = new_id()
        # A client that lies about its address: TestClient's peer is not a trusted proxy, so
        # X-Forwarded-For changes nothing and all three count against the same address.
        headers = {"X-Forwarded-For": f"198.51.100.{attempt}"}
        with client.websocket_connect(f"/ws/chat/{conversation_id}", headers=headers) as ws:
            ws.send_json(start_frame(conversation_id))
            answer = ws.receive_json()
            if attempt < 2:
                assert answer["type"] == "conversation_started"
                continue
            assert answer["type"] == "error"
            assert "too many new conversations" in answer["text"]
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}
        assert not redis_client.exists(session_key(conversation_id), messages_key(conversation_id))


def test_resuming_a_conversation_is_not_a_new_one(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = make_client(NEW_CONVERSATIONS_PER_MINUTE_PER_IP="1")
    conversation_id = new_id()
    for _ in range(5):
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id))
            assert ws.receive_json()["type"] == "conversation_started"


def test_the_defaults_never_bother_a_person(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    """A busy person: five conversations in a minute, twenty messages in one, history reads."""
    client = make_client()
    token = token_for(SHOP)
    for _ in range(5):
        conversation_id = new_id()
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            _start(ws, conversation_id, token=token)
            for number in range(20):
                ws.send_json({"type": "message", "text": f"question {number}"})
                assert ws.receive_json()["type"] == "cj_message"
    headers = {"Authorization": f"Bearer {token}"}
    user_id = user_id_for_shop(SHOP)
    for _ in range(50):
        listing = client.get(f"/api/v1/users/{user_id}/conversations", headers=headers)
        assert listing.status_code == 200


# Origin ---------------------------------------------------------------------------------------


def test_a_foreign_origin_cannot_open_the_chat(
    make_client: AppFactory, redis_client: redis.Redis
) -> None:
    client = make_client(FRONTEND_URL="https://hirecj.example")
    conversation_id = new_id()
    with client.websocket_connect(
        f"/ws/chat/{conversation_id}", headers={"Origin": "https://evil.example"}
    ) as ws:
        error = ws.receive_json()
        assert error == {"type": "error", "text": "this page's origin may not open the chat"}
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008
    assert _keys(redis_client) == {}


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://hirecj.example"}, {"Origin": "http://localhost:5173"}, {}],
    ids=["frontend", "an allowed development origin", "no origin (not a browser)"],
)
def test_frontend_development_and_non_browser_origins_may_chat(
    headers: dict[str, str], make_client: AppFactory
) -> None:
    client = make_client(
        FRONTEND_URL="https://hirecj.example", CHAT_ALLOWED_ORIGINS="http://localhost:5173"
    )
    conversation_id = new_id()
    with client.websocket_connect(f"/ws/chat/{conversation_id}", headers=headers) as ws:
        _start(ws, conversation_id)
