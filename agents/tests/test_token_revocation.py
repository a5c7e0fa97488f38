"""Revocation end to end: the real auth service (a uvicorn process, the fake Shopify behind it)
issues a token, then signs it out or receives ``app/uninstalled`` / ``shop/redact``; this app
(the real agents app, in process) must refuse the old token on every history route (401) and on
the chat's ``start`` / ``oauth_complete`` within 5 s, while a token issued afterwards works."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from tests.chat_factories import new_id, oauth_frame, start_frame

from app.main import create_app
from shared.testing.fake_shopify import FakeShopify, sign_webhook
from shared.testing.ports import free_port

AUTH_DIR = Path(__file__).resolve().parents[2] / "auth"
SHOP = "revoked-store.myshopify.com"
CLIENT_ID = "revocation-test-client"
CLIENT_SECRET = "shpss_test_" + secrets.token_hex(16)
DEADLINE_SECONDS = 5.0


@pytest.fixture(scope="module")
def fake_shopify() -> Iterator[FakeShopify]:
    fake = FakeShopify(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def auth_url(fake_shopify: FakeShopify, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The auth service as its own process, on this run's database and Redis db."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(AUTH_DIR.parent),
        "SHOPIFY_CLIENT_ID": CLIENT_ID,
        "SHOPIFY_CLIENT_SECRET": CLIENT_SECRET,
        "SHOPIFY_ADMIN_URL_TEMPLATE": fake_shopify.admin_url_template,
        "AUTH_PUBLIC_URL": url,
        "FRONTEND_URL": "http://frontend.test",
    }
    log = tmp_path_factory.mktemp("auth") / "auth.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port)],
            cwd=AUTH_DIR,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"auth did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert "Traceback" not in log.read_text(errors="replace")


@pytest.fixture
def agents(redis_client: redis.Redis, clean_database: Engine) -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def _install(auth_url: str) -> tuple[str, str]:
    """The whole OAuth through the fake Shopify; (user id, bearer token)."""
    with httpx.Client(base_url=auth_url) as browser:
        install = browser.get("/api/v1/shopify/install", params={"shop": SHOP})
        assert install.status_code == 302, install.text
        authorize = httpx.get(install.headers["location"])
        assert authorize.status_code == 302, authorize.text
        callback = browser.get(authorize.headers["location"])
        assert callback.status_code == 302, callback.text
    location = urlsplit(callback.headers["location"])
    user_id = dict(parse_qsl(location.query))["user_id"]
    return user_id, location.fragment.removeprefix("token=")


def _history_statuses(agents: TestClient, user_id: str, token: str) -> set[int]:
    headers = {"Authorization": f"Bearer {token}"}
    conversation = f"/api/v1/users/{user_id}/conversations/{uuid.uuid4()}"
    requests = [
        agents.get(f"/api/v1/users/{user_id}/conversations", headers=headers),
        agents.get(f"/api/v1/users/{user_id}/conversations?q=hello", headers=headers),
        agents.get(conversation, headers=headers),
        agents.delete(conversation, headers=headers),
        agents.get(f"/api/v1/users/{user_id}/profile", headers=headers),
        agents.get(f"/api/v1/users/{user_id}/export", headers=headers),
    ]
    for response in requests:
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
            assert "revoked" in response.json()["detail"]
    return {response.status_code for response in requests}


def _chat_identity(agents: TestClient, token: str) -> tuple[str, bool]:
    """(start's identity, oauth_complete's success) for a token on a fresh conversation."""
    conversation_id = new_id()
    with agents.websocket_connect(f"/ws/chat/{conversation_id}") as ws:
        ws.send_json(start_frame(conversation_id, token=token))
        started = ws.receive_json()
        ws.receive_json()  # the greeting
        ws.send_json(oauth_frame(token))
        processed = ws.receive_json()
    return started["identity"], processed["success"]


def _revoked_within_deadline(agents: TestClient, user_id: str, token: str) -> float:
    started = time.monotonic()
    while _history_statuses(agents, user_id, token) != {401}:
        assert time.monotonic() - started < DEADLINE_SECONDS, "history still accepts the token"
        time.sleep(0.2)
    while _chat_identity(agents, token) != ("rejected", False):
        assert time.monotonic() - started < DEADLINE_SECONDS, "the chat still accepts the token"
        time.sleep(0.2)
    return time.monotonic() - started


def _webhook(auth_url: str, topic: str, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    return httpx.post(
        f"{auth_url}/api/v1/shopify/webhooks",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Hmac-Sha256": sign_webhook(body, CLIENT_SECRET),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        },
    )


def _sign_out(auth_url: str, token: str) -> None:
    response = httpx.post(
        f"{auth_url}/api/v1/sign-out", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 204, response.text


def _uninstall(auth_url: str, token: str) -> None:
    response = _webhook(auth_url, "app/uninstalled", {"id": 1, "myshopify_domain": SHOP})
    assert response.json()["status"] == "ok"


def _redact(auth_url: str, token: str) -> None:
    _uninstall(auth_url, token)
    response = _webhook(auth_url, "shop/redact", {"shop_id": 1, "shop_domain": SHOP})
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("revoke", [_sign_out, _uninstall, _redact], ids=lambda f: f.__name__)
def test_a_revoked_token_is_refused_everywhere_within_5_seconds(
    revoke: Callable[[str, str], None], auth_url: str, agents: TestClient, db_engine: Engine
) -> None:
    user_id, token = _install(auth_url)
    # Before: every route answers (404s for the unknown conversation), the chat verifies.
    assert 401 not in _history_statuses(agents, user_id, token)
    assert _chat_identity(agents, token) == ("verified", True)

    revoke(auth_url, token)

    elapsed = _revoked_within_deadline(agents, user_id, token)
    assert elapsed < DEADLINE_SECONDS
    with db_engine.connect() as connection:
        valid_after = connection.execute(
            text("SELECT tokens_valid_after FROM users WHERE id = :id"), {"id": user_id}
        ).scalar_one()
    assert valid_after is not None
    # Signing in again (a new token, issued after the revocation) works at once.
    time.sleep(1.1)  # iat has whole seconds: a token of the revocation's second is refused too
    again_user, fresh = _install(auth_url)
    assert again_user == user_id
    assert 401 not in _history_statuses(agents, user_id, fresh)
    assert _chat_identity(agents, fresh) == ("verified", True)
