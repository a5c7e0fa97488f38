"""The responders: the scripted onboarding workflow, and the LLM one against a local fake server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine
from tests.chat_factories import new_id, start_frame

from app.config import Settings
from app.core.redis_keys import messages_key, session_key
from app.main import create_app
from app.services.chat.responders import (
    ConversationContext,
    LLMResponder,
    ScriptedResponder,
    create_responder,
)
from app.services.chat.responders.llm import FALLBACK_REPLY

CONTEXT = ConversationContext(conversation_id="c", workflow="shopify_onboarding")


async def test_scripted_greetings_for_new_and_returning_users() -> None:
    responder = ScriptedResponder()
    new = await responder.greeting(context=CONTEXT, returning=False, last_topic=None)
    assert "CJ" in new
    assert "Connect" in new
    assert "Welcome back" not in new
    back = await responder.greeting(context=CONTEXT, returning=True, last_topic="refunds")
    assert back.startswith("Welcome back")
    assert "refunds" in back


async def test_scripted_acknowledges_the_shop_by_name() -> None:
    text = await ScriptedResponder().oauth_acknowledgement(
        context=CONTEXT, shop="candle-co.myshopify.com", is_new=True
    )
    assert "candle-co" in text


@pytest.mark.parametrize("shop", [None, "candle-co.myshopify.com"])
async def test_scripted_never_repeats_itself_back_to_back(shop: str | None) -> None:
    responder = ScriptedResponder()
    history: list[dict[str, str]] = []
    replies = []
    for text in ["hi", "hmm", "ok", "tell me more", "hmm", "and then?", "what", "what"] * 2:
        context = ConversationContext(
            conversation_id="c", workflow="shopify_onboarding", shop=shop, history=tuple(history)
        )
        reply = await responder.reply(context=context, text=text)
        replies.append(reply)
        history += [{"sender": "user", "content": text}, {"sender": "cj", "content": reply}]
    assert all(a != b for a, b in zip(replies, replies[1:], strict=False))


class FakeLLM:
    """A real HTTP server on 127.0.0.1 that answers like a chat completions endpoint."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                if fake.mode == "slow":
                    time.sleep(1.0)
                if fake.mode == "error":
                    self._send(500, b'{"error": "boom"}')
                elif fake.mode == "not json":
                    self._send(200, b"<html>nope</html>")
                elif fake.mode == "no choices":
                    self._send(200, b'{"choices": []}')
                else:
                    payload = {
                        "choices": [
                            {"message": {"role": "assistant", "content": " Hello from the model "}}
                        ]
                    }
                    self._send(200, json.dumps(payload).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    yield fake
    fake.close()


def llm(url: str) -> LLMResponder:
    return LLMResponder(base_url=url, api_key="test-key", model="test-model", timeout_seconds=0.3)


async def test_llm_reply_posts_history_with_the_bearer_key(fake_llm: FakeLLM) -> None:
    responder = llm(fake_llm.url)
    context = ConversationContext(
        conversation_id="c",
        workflow="shopify_onboarding",
        shop="candle-co.myshopify.com",
        history=({"sender": "cj", "content": "Hi"}, {"sender": "user", "content": "hello"}),
    )
    assert await responder.reply(context=context, text="what now?") == "Hello from the model"
    await responder.aclose()
    request = fake_llm.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer test-key"
    assert request["body"]["model"] == "test-model"
    roles = [(m["role"], m["content"]) for m in request["body"]["messages"][1:]]
    assert roles == [("assistant", "Hi"), ("user", "hello"), ("user", "what now?")]
    assert "candle-co" in request["body"]["messages"][0]["content"]


@pytest.mark.parametrize("mode", ["error", "not json", "no choices", "slow"])
async def test_llm_failures_get_the_polite_fallback(fake_llm: FakeLLM, mode: str) -> None:
    fake_llm.mode = mode
    responder = llm(fake_llm.url)
    assert await responder.reply(context=CONTEXT, text="hello") == FALLBACK_REPLY
    await responder.aclose()


async def test_llm_unreachable_provider_gets_the_fallback() -> None:
    responder = llm("http://127.0.0.1:9/v1")
    assert await responder.reply(context=CONTEXT, text="hello") == FALLBACK_REPLY
    await responder.aclose()


async def test_llm_greeting_stays_scripted_and_instant(fake_llm: FakeLLM) -> None:
    responder = llm(fake_llm.url)
    greeting = await responder.greeting(context=CONTEXT, returning=True, last_topic="refunds")
    assert greeting.startswith("Welcome back")
    assert fake_llm.requests == []
    await responder.aclose()


async def test_settings_choose_the_responder() -> None:
    assert isinstance(create_responder(Settings.load()), ScriptedResponder)
    chosen = create_responder(Settings.load(llm_api_key=SecretStr("k")))
    assert isinstance(chosen, LLMResponder)
    await chosen.aclose()


def test_llm_replies_reach_the_websocket_and_are_stored(
    fake_llm: FakeLLM, redis_client: redis.Redis, clean_database: Engine
) -> None:
    conversation_id = new_id()
    with TestClient(create_app()) as client:
        client.app.state.responder = llm(fake_llm.url)  # type: ignore[attr-defined]
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id))
            assert ws.receive_json()["type"] == "conversation_started"
            assert ws.receive_json()["type"] == "cj_message"
            ws.send_json({"type": "message", "text": "hello"})
            assert ws.receive_json()["content"] == "Hello from the model"
            fake_llm.mode = "error"
            ws.send_json({"type": "message", "text": "again"})
            assert ws.receive_json()["content"] == FALLBACK_REPLY
    stored = [
        json.loads(m)["content"] for m in redis_client.lrange(messages_key(conversation_id), 0, -1)
    ]
    assert stored[1:] == ["hello", "Hello from the model", "again", FALLBACK_REPLY]


async def test_llm_title_is_short_and_a_failure_leaves_none(fake_llm: FakeLLM) -> None:
    responder = llm(fake_llm.url)
    assert await responder.title(context=CONTEXT, text="where is my order #1001?") == (
        "Hello from the model"
    )
    assert fake_llm.requests[-1]["body"]["messages"][1]["content"] == "where is my order #1001?"
    fake_llm.mode = "error"
    assert await responder.title(context=CONTEXT, text="again") is None
    await responder.aclose()
    assert await ScriptedResponder().title(context=CONTEXT, text="anything") is None


def test_a_generated_title_is_kept_with_the_live_session_off_the_reply_path(
    fake_llm: FakeLLM, redis_client: redis.Redis, clean_database: Engine
) -> None:
    conversation_id = new_id()
    with TestClient(create_app()) as client:
        client.app.state.responder = llm(fake_llm.url)  # type: ignore[attr-defined]
        with client.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
            ws.send_json(start_frame(conversation_id))
            ws.receive_json()
            ws.receive_json()
            ws.send_json({"type": "message", "text": "where is my order?"})
            assert ws.receive_json()["type"] == "cj_message"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not redis_client.hget(
                session_key(conversation_id), "title"
            ):
                time.sleep(0.05)
            ws.send_json({"type": "message", "text": "and the refund?"})
            assert ws.receive_json()["type"] == "cj_message"
    assert redis_client.hget(session_key(conversation_id), "title") == "Hello from the model"
    titled = [r for r in fake_llm.requests if "title" in r["body"]["messages"][0]["content"]]
    assert len(titled) == 1  # the first merchant message only
