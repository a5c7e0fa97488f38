"""Property-based: at least 10,000 generated frames at ONE WebSocket of the real app (real Redis
and PostgreSQL). Valid and invalid JSON, deep nesting, every frame type with wrong and odd field
values, huge strings, lone surrogates, NULs, binary. The connection must stay open, every frame
must get at least one answer (a reply or an ``error`` frame), and nothing may log a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from starlette.testclient import WebSocketTestSession
from tests.chat_factories import new_id, start_frame, token_for

from app.config import get_settings
from app.main import create_app

EXAMPLES = 10_000
FRAME_TYPES = ["start", "message", "oauth_complete", "end_conversation", "ping"]
SERVER_TYPES = {
    "conversation_started",
    "cj_message",
    "oauth_processed",
    "conversation_ended",
    "pong",
    "error",
}

# Every code point, lone surrogates included (json.dumps writes them as \ud800 escapes).
any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))
odd_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**30, max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    any_text,
    st.sampled_from(["", " ", "\x00", "\ud800", "\udfff", "x" * 9000, "🙂" * 3000]),
)
json_values = st.recursive(
    odd_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def _typed_frame(conversation_id: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        "conversation_id": st.one_of(st.just(conversation_id), st.uuids().map(str), json_values),
        "workflow": st.one_of(st.just("shopify_onboarding"), json_values),
        "text": st.one_of(any_text, json_values),
        "token": st.one_of(st.just(token_for("fuzz-store.myshopify.com")), any_text, json_values),
        "user_id": json_values,
        "merchant_id": json_values,
        "is_new": json_values,
        "oauth_provider": json_values,
    }
    return st.builds(
        lambda frame_type, chosen, extra: {"type": frame_type, **chosen, **extra},
        st.one_of(st.sampled_from(FRAME_TYPES), json_values),
        st.fixed_dictionaries({}, optional=fields),
        st.dictionaries(any_text, json_values, max_size=2),
    )


def _frames(conversation_id: str) -> st.SearchStrategy[str | bytes]:
    nested = st.integers(min_value=1, max_value=30_000).map(lambda n: "[" * n + "]" * n)
    return st.one_of(
        _typed_frame(conversation_id).map(lambda frame: json.dumps(frame, allow_nan=True)),
        _typed_frame(conversation_id).map(lambda frame: json.dumps(frame, ensure_ascii=False)),
        json_values.map(lambda value: json.dumps(value, allow_nan=True)),
        nested,
        nested.map(lambda frame: '{"type": "message", "text": ' + frame + "}"),
        any_text,
        st.binary(max_size=300),
        st.sampled_from(['{"type": "message", "text": "' + "x" * 70_000 + '"}', "{" * 3, "\x00"]),
    )


def _answers(ws: WebSocketTestSession) -> list[dict[str, Any]]:
    """The answers to the frame just sent, delimited by the pong of a ping sent after it."""
    ws.send_json({"type": "ping"})
    first = ws.receive_json()
    if first["type"] == "pong":
        # Only a ping is answered by a pong: the frame was one, and our ping's pong follows.
        assert ws.receive_json() == {"type": "pong"}
        return [first]
    answers = [first]
    while (answer := ws.receive_json())["type"] != "pong":
        answers.append(answer)
    return answers


@pytest.fixture
def client(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, clean_database: Engine
) -> Iterator[TestClient]:
    # Limits high enough that valid messages are stored (the encoder and Redis see them) until
    # the conversation is full; later ones meet the per-conversation limit's error instead.
    monkeypatch.setenv("CHAT_MESSAGES_PER_MINUTE", "1000000")
    monkeypatch.setenv("CHAT_MAX_MESSAGES_PER_CONVERSATION", "200")
    get_settings.cache_clear()
    with TestClient(create_app()) as test_client:
        yield test_client
    get_settings.cache_clear()


@pytest.mark.slow
@pytest.mark.stack_independent
def test_ten_thousand_generated_frames_on_one_socket(
    client: TestClient, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO)
    conversation_id = new_id()
    seen: dict[str, int] = {}
    sent = 0
    with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        ws.send_json(start_frame(conversation_id))
        assert ws.receive_json()["type"] == "conversation_started"

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(frame=_frames(conversation_id))
        def every_frame_is_answered(frame: str | bytes) -> None:
            nonlocal sent
            sent += 1
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            answers = _answers(ws)
            assert answers
            for answer in answers:
                assert answer["type"] in SERVER_TYPES
                seen[answer["type"]] = seen.get(answer["type"], 0) + 1

        every_frame_is_answered()
    assert sent >= EXAMPLES
    assert sum(seen.values()) >= sent
    assert seen.get("error", 0) > 0, seen
    assert seen.get("cj_message", 0) > 0, seen
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == []
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err + captured.out
