"""Shopify webhooks: HMAC of the raw body, once-only handling, and each topic's effect."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import redis
from conftest import CLIENT_SECRET
from oauth_helpers import count, snapshot, start_install
from sqlalchemy import Engine, text

from shared.testing.fake_shopify import sign_webhook

SHOP = "cool-store.myshopify.com"
OTHER = "other-store.myshopify.com"
WEBHOOKS = "/api/v1/shopify/webhooks"


async def _install(browser: httpx.AsyncClient, shop: str) -> str:
    response = await browser.get(await start_install(browser, shop))
    assert response.status_code == 302
    return response.headers["location"].split("user_id=")[1].split("&")[0]


def _headers(
    body: bytes,
    *,
    topic: str,
    shop: str = SHOP,
    webhook_id: str | None = None,
    secret: str = CLIENT_SECRET,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-API-Version": "2025-07",
    }


def _conversation(engine: Engine, user_id: str | None, merchant_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, merchant_id, workflow_name, started_at, messages) "
                "VALUES (:id, :user_id, :merchant_id, 'shopify_onboarding', NOW(), '[]'::jsonb)"
            ),
            {"id": str(uuid.uuid4()), "user_id": user_id, "merchant_id": merchant_id},
        )


async def test_app_uninstalled_deletes_the_token_and_logs_an_event(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    user_id = await _install(browser, SHOP)
    body = json.dumps({"id": 1, "myshopify_domain": SHOP, "domain": "cool.example"}).encode()

    response = await browser.post(
        WEBHOOKS, content=body, headers=_headers(body, topic="app/uninstalled")
    )

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "topic": "app/uninstalled", "duplicate": False}
    with db_engine.connect() as connection:
        merchant = connection.execute(
            text("SELECT access_token_encrypted, uninstalled_at FROM merchants")
        ).one()
    assert merchant.access_token_encrypted is None
    assert merchant.uninstalled_at is not None
    assert (
        count(
            db_engine,
            "SELECT count(*) FROM events WHERE event_type = 'app_uninstalled' AND user_id = :u",
            u=user_id,
        )
        == 1
    )

    # Installing again stores a fresh token and clears the uninstall mark.
    again = await browser.get(await start_install(browser, SHOP))
    assert "is_new=false" in again.headers["location"]
    with db_engine.connect() as connection:
        merchant = connection.execute(
            text("SELECT access_token_encrypted, uninstalled_at FROM merchants")
        ).one()
    assert merchant.access_token_encrypted is not None
    assert merchant.uninstalled_at is None


async def test_a_repeated_delivery_is_handled_once(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    await _install(browser, SHOP)
    body = json.dumps({"myshopify_domain": SHOP}).encode()
    headers = _headers(
        body, topic="app/uninstalled", webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    )

    first = await browser.post(WEBHOOKS, content=body, headers=headers)
    second = await browser.post(WEBHOOKS, content=body, headers=headers)

    assert first.json()["duplicate"] is False
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert count(db_engine, "SELECT count(*) FROM events WHERE event_type = 'app_uninstalled'") == 1
    assert count(db_engine, "SELECT count(*) FROM shopify_webhook_deliveries") == 1


async def test_shop_redact_erases_the_shops_conversations_events_and_personal_fields(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    user_id = await _install(browser, SHOP)
    other_id = await _install(browser, OTHER)
    _conversation(db_engine, user_id, "merchant_cool-store")
    _conversation(db_engine, None, "merchant_cool-store")  # anonymous, linked by merchant only
    _conversation(db_engine, other_id, "merchant_other-store")
    with db_engine.begin() as connection:
        # Events that maintenance already moved to events_archive are the shop's data too.
        connection.execute(
            text(
                "INSERT INTO events_archive (id, user_id, event_type, event_data, created_at) "
                "SELECT id, user_id, event_type, event_data, created_at FROM events"
            )
        )
    # Shopify sends shop/redact 48 hours after the app was uninstalled; it erases only then.
    uninstalled = json.dumps({"id": 954889, "myshopify_domain": SHOP}).encode()
    await browser.post(
        WEBHOOKS, content=uninstalled, headers=_headers(uninstalled, topic="app/uninstalled")
    )
    body = json.dumps({"shop_id": 954889, "shop_domain": SHOP}).encode()

    response = await browser.post(
        WEBHOOKS, content=body, headers=_headers(body, topic="shop/redact")
    )

    assert response.status_code == 200
    assert count(db_engine, "SELECT count(*) FROM conversations WHERE user_id = :u", u=user_id) == 0
    assert (
        count(
            db_engine,
            "SELECT count(*) FROM conversations WHERE merchant_id = 'merchant_cool-store'",
        )
        == 0
    )
    assert count(db_engine, "SELECT count(*) FROM events WHERE user_id = :u", u=user_id) == 0
    assert (
        count(db_engine, "SELECT count(*) FROM events_archive WHERE user_id = :u", u=user_id) == 0
    )
    assert (
        count(db_engine, "SELECT count(*) FROM events_archive WHERE user_id = :u", u=other_id) == 2
    )
    assert count(db_engine, "SELECT count(*) FROM merchants WHERE shop_domain = :s", s=SHOP) == 0
    with db_engine.connect() as connection:
        user = connection.execute(
            text("SELECT email, name, shopify_id, metadata FROM users WHERE id = :u"),
            {"u": user_id},
        ).one()
    assert tuple(user) == (None, None, None, {})
    # The other shop is untouched.
    assert (
        count(db_engine, "SELECT count(*) FROM conversations WHERE user_id = :u", u=other_id) == 1
    )
    assert count(db_engine, "SELECT count(*) FROM events WHERE user_id = :u", u=other_id) == 2
    assert (
        count(
            db_engine, "SELECT count(*) FROM users WHERE id = :u AND email IS NOT NULL", u=other_id
        )
        == 1
    )


@pytest.mark.parametrize(
    ("topic", "event_type"),
    [
        ("customers/redact", "customers_redact"),
        ("customers/data_request", "customers_data_request"),
    ],
)
async def test_customer_requests_are_acknowledged_and_logged(
    topic: str, event_type: str, browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    user_id = await _install(browser, SHOP)
    body = json.dumps(
        {"shop_id": 1, "shop_domain": SHOP, "customer": {"id": 207119551, "email": "c@example.com"}}
    ).encode()

    response = await browser.post(WEBHOOKS, content=body, headers=_headers(body, topic=topic))

    assert response.status_code == 200
    with db_engine.connect() as connection:
        data = connection.execute(
            text("SELECT event_data FROM events WHERE event_type = :t AND user_id = :u"),
            {"t": event_type, "u": user_id},
        ).scalar_one()
    assert data["customer_id"] == 207119551
    assert "c@example.com" not in json.dumps(data)


async def test_an_unknown_topic_is_acknowledged(
    browser: httpx.AsyncClient, db_engine: Engine
) -> None:
    body = b'{"id": 1}'

    response = await browser.post(
        WEBHOOKS, content=body, headers=_headers(body, topic="orders/create")
    )

    assert response.status_code == 200
    assert response.json()["topic"] == "orders/create"
    assert count(db_engine, "SELECT count(*) FROM events") == 0


def _bad_cases() -> dict[str, tuple[dict[str, str], bytes, int, str]]:
    body = json.dumps({"myshopify_domain": SHOP}).encode()
    good = _headers(body, topic="app/uninstalled")
    return {
        "wrong hmac": (
            {**good, "X-Shopify-Hmac-Sha256": sign_webhook(body + b" ", CLIENT_SECRET)},
            body,
            401,
            "does not match",
        ),
        "hmac with another secret": (
            _headers(body, topic="app/uninstalled", secret="wrong"),
            body,
            401,
            "does not match",
        ),
        "missing hmac": (
            {k: v for k, v in good.items() if k != "X-Shopify-Hmac-Sha256"},
            body,
            401,
            "missing",
        ),
        "hmac not base64": ({**good, "X-Shopify-Hmac-Sha256": "%%%"}, body, 401, "not base64"),
        "body changed after signing": (good, body.replace(b"cool", b"evil"), 401, "does not match"),
        "bad shop header": (
            {**good, "X-Shopify-Shop-Domain": "evil.com"},
            body,
            400,
            "X-Shopify-Shop-Domain",
        ),
        "shop header not the signed shop": (
            {**good, "X-Shopify-Shop-Domain": OTHER},
            body,
            400,
            "does not match the signed body",
        ),
        "missing topic": (
            {k: v for k, v in good.items() if k != "X-Shopify-Topic"},
            body,
            400,
            "X-Shopify-Topic",
        ),
        "malformed webhook id": (
            {**good, "X-Shopify-Webhook-Id": "a b"},
            body,
            400,
            "X-Shopify-Webhook-Id",
        ),
    }


@pytest.mark.parametrize("name", list(_bad_cases()))
async def test_a_bad_webhook_is_refused_and_changes_nothing(
    name: str, browser: httpx.AsyncClient, db_engine: Engine, redis_client: redis.Redis
) -> None:
    await _install(browser, SHOP)
    headers, body, status, reason = _bad_cases()[name]
    before = snapshot(db_engine, redis_client)

    response = await browser.post(WEBHOOKS, content=body, headers=headers)

    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert snapshot(db_engine, redis_client) == before


async def test_a_non_json_body_with_a_good_hmac_is_a_400(browser: httpx.AsyncClient) -> None:
    body = b"not json"

    response = await browser.post(
        WEBHOOKS, content=body, headers=_headers(body, topic="app/uninstalled")
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "webhook body is not JSON"


async def test_an_oversized_webhook_is_a_413(browser: httpx.AsyncClient, db_engine: Engine) -> None:
    body = b'{"pad": "' + b"x" * (256 * 1024) + b'"}'

    response = await browser.post(
        WEBHOOKS, content=body, headers=_headers(body, topic="app/uninstalled")
    )

    assert response.status_code == 413
    assert count(db_engine, "SELECT count(*) FROM shopify_webhook_deliveries") == 0


async def test_an_oversized_streamed_webhook_is_a_413(browser: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(300):
            yield b"x" * 1024

    response = await browser.post(
        WEBHOOKS, content=chunks(), headers={"X-Shopify-Topic": "app/uninstalled"}
    )

    assert response.status_code == 413
