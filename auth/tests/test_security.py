"""Attacks on the auth service replayed against the real app: each gets its 4xx (or a 200 that
changes nothing), and every table and Redis key is as it was."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from conftest import AUTH_BASE, CLIENT_SECRET, FRONTEND_URL
from fastapi import FastAPI
from oauth_helpers import callback_params, count, signed, snapshot, start_install
from sqlalchemy import Engine, text

from app.config import get_settings
from app.main import create_app
from app.services import oauth_validation
from shared.testing.fake_shopify import sign_webhook
from shared.tokens import issue_token

SHOP = "cool-store.myshopify.com"
WEBHOOKS = "/api/v1/shopify/webhooks"
BODIES = {
    "app/uninstalled": {"id": 954889, "name": "Cool", "myshopify_domain": SHOP},
    "shop/redact": {"shop_id": 954889, "shop_domain": SHOP},
    "customers/redact": {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263],
    },
    "customers/data_request": {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "orders_requested": [299938, 280263],
        "customer": {"id": 191167, "email": "john@example.com", "phone": "555-625-1199"},
        "data_request": {"id": 9999},
    },
}


def _headers(body: bytes, topic: str, **extra: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, CLIENT_SECRET),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        **extra,
    }


async def _post(
    browser: httpx.AsyncClient, topic: str, body: bytes, **extra: str
) -> httpx.Response:
    return await browser.post(WEBHOOKS, content=body, headers=_headers(body, topic, **extra))


async def _install(browser: httpx.AsyncClient) -> str:
    """Install SHOP; its bearer token."""
    response = await browser.get(await start_install(browser, SHOP))
    assert response.status_code == 302
    return response.headers["location"].split("#token=")[1]


def _no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


# Webhooks that cannot be turned ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("captured", "replayed_as"),
    [
        (captured, target)
        for captured in BODIES
        for target in BODIES
        if captured != target
        # The minimal shop/redact body is also a minimal customers/* body minus the customer,
        # which those topics require; every other pair differs in required or forbidden keys.
    ],
)
async def test_a_body_replayed_under_another_topic_is_a_400_and_changes_nothing(
    captured: str,
    replayed_as: str,
    browser: httpx.AsyncClient,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    await _install(browser)
    if replayed_as == "shop/redact":
        # The shop is uninstalled, so a genuine shop/redact would erase: the shape must stop it.
        await _post(browser, "app/uninstalled", json.dumps(BODIES["app/uninstalled"]).encode())
    before = snapshot(db_engine, redis_client)

    response = await _post(browser, replayed_as, json.dumps(BODIES[captured]).encode())

    assert response.status_code == 400, response.text
    assert f"not a {replayed_as} payload" in response.json()["detail"]
    assert snapshot(db_engine, redis_client) == before


@pytest.mark.parametrize("topic", list(BODIES))
async def test_each_topics_own_documented_body_is_accepted(
    topic: str, browser: httpx.AsyncClient
) -> None:
    await _install(browser)
    response = await _post(browser, topic, json.dumps(BODIES[topic]).encode())
    assert response.status_code == 200
    assert response.json()["status"] in ("ok", "ignored")


async def test_a_shop_redact_for_an_installed_shop_erases_nothing(
    browser: httpx.AsyncClient,
    db_engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _install(browser)
    with db_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, merchant_id, workflow_name, messages) "
                "SELECT gen_random_uuid(), id, 'merchant_cool-store', 'x', '[]' FROM users"
            )
        )
    before = snapshot(db_engine, redis_client)

    response = await _post(browser, "shop/redact", json.dumps(BODIES["shop/redact"]).encode())

    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "topic": "shop/redact", "duplicate": False}
    assert snapshot(db_engine, redis_client) == before
    assert "whose app is installed" in caplog.text


async def test_an_old_uninstall_replayed_after_a_reinstall_changes_nothing(
    browser: httpx.AsyncClient, db_engine: Engine, redis_client: redis.Redis
) -> None:
    await _install(browser)
    body = json.dumps(BODIES["app/uninstalled"]).encode()
    uninstalled_at = datetime.now(UTC).isoformat()  # after the install, before the reinstall
    first = await _post(
        browser, "app/uninstalled", body, **{"X-Shopify-Triggered-At": uninstalled_at}
    )
    assert first.json()["status"] == "ok"
    await _install(browser)  # the merchant comes back: a new token, a new installed_at
    before = snapshot(db_engine, redis_client)

    replay = await _post(
        browser, "app/uninstalled", body, **{"X-Shopify-Triggered-At": uninstalled_at}
    )

    assert replay.status_code == 200
    assert replay.json()["status"] == "ignored"
    assert snapshot(db_engine, redis_client) == before
    assert (
        count(db_engine, "SELECT count(*) FROM merchants WHERE access_token_encrypted IS NOT NULL")
        == 1
    )


async def test_an_uninstall_triggered_after_the_install_is_handled(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    await _install(browser)
    later = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    response = await _post(
        browser,
        "app/uninstalled",
        json.dumps(BODIES["app/uninstalled"]).encode(),
        **{"X-Shopify-Triggered-At": later},
    )
    assert response.json()["status"] == "ok"
    assert count(db_engine, "SELECT count(*) FROM merchants WHERE uninstalled_at IS NOT NULL") == 1


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 50_000 + b"]" * 50_000,
        b'{"myshopify_domain": "cool-store.myshopify.com", "x": '
        + b"[" * 50_000
        + b"]" * 50_000
        + b"}",
        b'{"a":' * 40_000 + b"1" + b"}" * 40_000,
    ],
    ids=["nested arrays", "nested inside a shop object", "nested objects"],
)
async def test_a_signed_deeply_nested_body_is_a_400_without_a_traceback(
    body: bytes,
    browser: httpx.AsyncClient,
    db_engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _install(browser)
    before = snapshot(db_engine, redis_client)

    response = await _post(browser, "app/uninstalled", body)

    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]
    assert snapshot(db_engine, redis_client) == before
    _no_traceback(caplog)


async def test_a_malformed_triggered_at_is_a_400(browser: httpx.AsyncClient) -> None:
    body = json.dumps(BODIES["app/uninstalled"]).encode()
    response = await _post(browser, "app/uninstalled", body, **{"X-Shopify-Triggered-At": "soon"})
    assert response.status_code == 400
    assert "X-Shopify-Triggered-At" in response.json()["detail"]


# Sign-out -------------------------------------------------------------------------------------


async def test_sign_out_revokes_the_users_tokens(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    token = await _install(browser)
    response = await browser.post("/api/v1/sign-out", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    assert count(db_engine, "SELECT count(*) FROM users WHERE tokens_valid_after IS NOT NULL") == 1
    again = await browser.post("/api/v1/sign-out", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401
    assert "revoked" in again.json()["detail"]


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "Bearer forged"],
)
async def test_sign_out_without_a_valid_token_is_a_401_and_changes_nothing(
    authorization: str | None,
    browser: httpx.AsyncClient,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    await _install(browser)
    if authorization == "Bearer forged":
        forged = issue_token(user_id="usr_x", shop=SHOP, secret="y" * 40, ttl_seconds=60)
        authorization = f"Bearer {forged}"
    before = snapshot(db_engine, redis_client)
    headers = {"Authorization": authorization} if authorization else {}
    response = await browser.post("/api/v1/sign-out", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(db_engine, redis_client) == before


async def test_sign_out_may_be_called_from_the_homepages_origin(
    browser: httpx.AsyncClient,
) -> None:
    preflight = await browser.options(
        "/api/v1/sign-out",
        headers={
            "Origin": FRONTEND_URL,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND_URL
    foreign = await browser.options(
        "/api/v1/sign-out",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in foreign.headers


# Install limit and the client address ---------------------------------------------------------


@pytest.fixture
async def limited_app(
    auth_env: None, monkeypatch: pytest.MonkeyPatch, clean_database: object, redis_client: object
) -> AsyncIterator[FastAPI]:
    monkeypatch.setenv("OAUTH_INSTALLS_PER_MINUTE_PER_IP", "3")
    get_settings.cache_clear()
    app = create_app()
    async with app.router.lifespan_context(app):
        yield app


def _client(app: FastAPI, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url=AUTH_BASE)


def _states(redis_client: redis.Redis) -> list[str]:
    return sorted(redis_client.keys("oauth:state:*"))


async def test_installs_past_the_limit_are_429_and_store_no_state(
    limited_app: FastAPI, redis_client: redis.Redis
) -> None:
    async with _client(limited_app, "203.0.113.7") as client:
        for _ in range(3):
            ok = await client.get("/api/v1/shopify/install", params={"shop": SHOP})
            assert ok.status_code == 302
        before = _states(redis_client)
        refused = await client.get("/api/v1/shopify/install", params={"shop": SHOP})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "too many installs" in refused.json()["detail"]
    assert _states(redis_client) == before


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_counts_as_the_peer(
    limited_app: FastAPI,
) -> None:
    async with _client(limited_app, "203.0.113.8") as client:
        statuses = [
            (
                await client.get(
                    "/api/v1/shopify/install",
                    params={"shop": SHOP},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"},
                )
            ).status_code
            for n in range(4)
        ]
    assert statuses == [302, 302, 302, 429]


async def test_a_trusted_proxys_forwarded_for_names_the_client(limited_app: FastAPI) -> None:
    # 127.0.0.1 is a trusted proxy by default: each forwarded client has its own count.
    async with _client(limited_app, "127.0.0.1") as client:
        for n in range(4):
            response = await client.get(
                "/api/v1/shopify/install",
                params={"shop": SHOP},
                headers={"X-Forwarded-For": f"spoof.example, 198.51.100.{n}"},
            )
            assert response.status_code == 302


# The callback's freshness and encodings -------------------------------------------------------


async def test_a_callback_older_than_90_seconds_is_refused(
    browser: httpx.AsyncClient, db_engine: Engine, redis_client: redis.Redis
) -> None:
    url = await start_install(browser, SHOP)
    params = callback_params(url)
    stale = signed({**params, "timestamp": str(int(time.time()) - 120)}, CLIENT_SECRET)
    before = snapshot(db_engine, redis_client)
    response = await browser.get("/api/v1/shopify/callback", params=stale)
    assert response.status_code == 400
    assert "too old" in response.json()["detail"]
    assert snapshot(db_engine, redis_client) == before


@pytest.mark.parametrize(
    "space", ["%20", "+"], ids=["percent-encoded (encodeURIComponent)", "form-encoded"]
)
def test_a_value_with_a_space_verifies_in_either_encoding(space: str) -> None:
    import hashlib
    import hmac

    params = {"code": "a b", "shop": "x.myshopify.com", "state": "s t", "timestamp": "1"}
    message = f"code=a{space}b&shop=x.myshopify.com&state=s{space}t&timestamp=1"
    digest = hmac.new(b"k", message.encode(), hashlib.sha256).hexdigest()
    oauth_validation.verify_callback_hmac({**params, "hmac": digest}, secret="k")


def test_the_default_window_is_shopify_app_jss() -> None:
    assert get_settings().oauth_timestamp_max_age_seconds == 90


# Production surface ---------------------------------------------------------------------------


@pytest.fixture
async def production_app(
    auth_env: None, monkeypatch: pytest.MonkeyPatch, clean_database: object, redis_client: object
) -> AsyncIterator[FastAPI]:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("METRICS_TOKEN", "m" * 32)
    get_settings.cache_clear()
    app = create_app()
    async with app.router.lifespan_context(app):
        yield app


async def test_production_hides_the_docs_and_guards_metrics(production_app: FastAPI) -> None:
    async with _client(production_app, "203.0.113.9") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == 404
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer " + "n" * 32})
        assert wrong.status_code == 401
        right = await client.get("/metrics", headers={"Authorization": "Bearer " + "m" * 32})
        assert right.status_code == 200
        health = await client.get("/health")
    for response in (right, health, wrong):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
