"""The install -> fake Shopify -> callback flow, through real HTTP, PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import hashlib
import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import redis
from conftest import CLIENT_ID, FRONTEND_URL, BrowserFactory
from oauth_helpers import callback_params, count, start_install
from sqlalchemy import Engine, text

from app.config import get_settings
from shared.settings import token_secrets
from shared.testing.fake_shopify import FakeShopify
from shared.tokens import verify_token

SHOP = "cool-store.myshopify.com"


def _redirect_parts(response: httpx.Response) -> tuple[str, dict[str, str], dict[str, str]]:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["location"])
    base = f"{location.scheme}://{location.netloc}{location.path}"
    return base, dict(parse_qsl(location.query)), dict(parse_qsl(location.fragment))


async def test_install_redirects_to_the_shops_authorize_page_with_a_state_cookie(
    browser: httpx.AsyncClient, fake_shopify: FakeShopify, redis_client: redis.Redis
) -> None:
    response = await browser.get(
        "/api/v1/shopify/install", params={"shop": "HTTPS://Cool-Store.myshopify.com/"}
    )

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{fake_shopify.base_url}/{SHOP}/admin/oauth/authorize"
    )
    query = dict(parse_qsl(location.query))
    assert query["client_id"] == CLIENT_ID
    assert query["scope"] == "read_products,read_orders,read_customers"
    assert query["redirect_uri"] == "http://auth.test/api/v1/shopify/callback"
    cookie = response.headers["set-cookie"]
    assert f"hirecj_oauth_state={query['state']}" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/api/v1/shopify/callback" in cookie
    assert "Max-Age=600" in cookie
    assert "Secure" not in cookie  # AUTH_PUBLIC_URL is http here
    assert redis_client.get(f"oauth:state:{query['state']}") == SHOP
    assert 590 <= redis_client.ttl(f"oauth:state:{query['state']}") <= 600
    assert response.headers["cache-control"] == "no-store"


async def test_new_user_flow(
    browser: httpx.AsyncClient,
    fake_shopify: FakeShopify,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    callback_url = await start_install(browser, SHOP)
    state = callback_params(callback_url)["state"]

    response = await browser.get(callback_url)

    base, query, fragment = _redirect_parts(response)
    expected_id = "usr_" + hashlib.sha256(SHOP.encode()).hexdigest()[:8]
    assert base == f"{FRONTEND_URL}/chat"
    assert query == {
        "oauth": "complete",
        "is_new": "true",
        "merchant_id": "merchant_cool-store",
        "user_id": expected_id,
        "shop": SHOP,
    }
    assert "token" not in query
    claims = verify_token(fragment["token"], secrets=token_secrets(get_settings()))
    assert (claims.user_id, claims.shop) == (expected_id, SHOP)
    # The state is used up and the browser's cookie cleared.
    assert redis_client.get(f"oauth:state:{state}") is None
    assert 'hirecj_oauth_state=""' in response.headers["set-cookie"]
    assert len(fake_shopify.token_requests) == 1

    with db_engine.connect() as connection:
        users = connection.execute(
            text("SELECT id, shop_domain, email, name, shopify_id FROM users")
        ).all()
        events = connection.execute(
            text(
                "SELECT user_id, event_type, event_data FROM events ORDER BY created_at, event_type DESC"
            )
        ).all()
        merchant = connection.execute(text("SELECT * FROM merchants")).mappings().one()
    assert len(users) == 1
    user = users[0]
    assert (user.id, user.shop_domain) == (expected_id, SHOP)
    # The profile read from shop.json with the new access token.
    assert user.email == "owner@cool-store.example"
    assert user.name == "Cool Store"
    assert user.shopify_id
    assert user.shopify_id.isdigit()
    assert sorted((e.event_type, json.dumps(e.event_data, sort_keys=True)) for e in events) == [
        ("oauth_complete", json.dumps({"first_time": True, "shop": SHOP}, sort_keys=True)),
        ("user_created", json.dumps({"shop": SHOP}, sort_keys=True)),
    ]
    assert {e.user_id for e in events} == {expected_id}
    assert merchant["merchant_id"] == "merchant_cool-store"
    assert merchant["user_id"] == expected_id
    assert merchant["scopes"] == "read_products,read_orders,read_customers"
    assert merchant["uninstalled_at"] is None
    assert merchant["access_token_encrypted"].startswith("gAAAAA")  # Fernet, not plaintext


async def test_returning_user_flow(new_browser: BrowserFactory, db_engine: Engine) -> None:
    browser = new_browser()
    first = await browser.get(await start_install(browser, SHOP))
    _, first_query, _ = _redirect_parts(first)
    with db_engine.connect() as connection:
        first_seen = connection.execute(text("SELECT last_seen FROM users")).scalar_one()

    second = await browser.get(await start_install(browser, SHOP))

    _, query, fragment = _redirect_parts(second)
    assert query["is_new"] == "false"
    assert query["user_id"] == first_query["user_id"]
    assert (
        verify_token(fragment["token"], secrets=token_secrets(get_settings())).user_id
        == (first_query["user_id"])
    )
    assert count(db_engine, "SELECT count(*) FROM users") == 1
    with db_engine.connect() as connection:
        last_seen = connection.execute(text("SELECT last_seen FROM users")).scalar_one()
        completes = (
            connection.execute(
                text(
                    "SELECT event_data->>'first_time' FROM events "
                    "WHERE event_type = 'oauth_complete' ORDER BY created_at"
                )
            )
            .scalars()
            .all()
        )
    assert last_seen > first_seen
    assert completes == ["true", "false"]
    assert count(db_engine, "SELECT count(*) FROM events WHERE event_type = 'user_created'") == 1


async def test_concurrent_callbacks_for_one_new_shop_create_one_user(
    new_browser: BrowserFactory, db_engine: Engine
) -> None:
    first, second = new_browser(), new_browser()
    first_url = await start_install(first, SHOP)
    second_url = await start_install(second, SHOP)

    responses = await asyncio.gather(first.get(first_url), second.get(second_url))

    queries = [_redirect_parts(response)[1] for response in responses]
    assert sorted(q["is_new"] for q in queries) == ["false", "true"]
    assert queries[0]["user_id"] == queries[1]["user_id"]
    assert count(db_engine, "SELECT count(*) FROM users") == 1
    assert count(db_engine, "SELECT count(*) FROM merchants") == 1
    assert count(db_engine, "SELECT count(*) FROM events WHERE event_type = 'user_created'") == 1


async def test_token_exchange_failure_is_a_502_and_writes_nothing(
    browser: httpx.AsyncClient, fake_shopify: FakeShopify, db_engine: Engine
) -> None:
    callback_url = await start_install(browser, SHOP)
    fake_shopify.set_token_exchange("error")

    response = await browser.get(callback_url)

    assert response.status_code == 502
    assert "Shopify refused the code exchange" in response.json()["detail"]
    assert len(fake_shopify.token_requests) == 1  # an HTTP error answer is not retried
    for table in ("users", "events", "merchants"):
        assert count(db_engine, f"SELECT count(*) FROM {table}") == 0


async def test_one_dropped_connection_is_retried(
    browser: httpx.AsyncClient, fake_shopify: FakeShopify, db_engine: Engine
) -> None:
    callback_url = await start_install(browser, SHOP)
    fake_shopify.set_token_exchange("drop", times=1)

    response = await browser.get(callback_url)

    assert _redirect_parts(response)[1]["is_new"] == "true"
    assert len(fake_shopify.token_requests) == 2
    assert count(db_engine, "SELECT count(*) FROM users") == 1


async def test_two_dropped_connections_give_a_502_and_write_nothing(
    browser: httpx.AsyncClient, fake_shopify: FakeShopify, db_engine: Engine
) -> None:
    callback_url = await start_install(browser, SHOP)
    fake_shopify.set_token_exchange("drop", times=2)

    response = await browser.get(callback_url)

    assert response.status_code == 502
    assert response.json()["detail"] == "could not reach Shopify to complete the install; try again"
    assert len(fake_shopify.token_requests) == 2
    for table in ("users", "events", "merchants"):
        assert count(db_engine, f"SELECT count(*) FROM {table}") == 0


async def test_shop_profile_failure_does_not_fail_oauth(
    browser: httpx.AsyncClient, fake_shopify: FakeShopify, db_engine: Engine
) -> None:
    fake_shopify.set_shop_json("error")

    response = await browser.get(await start_install(browser, SHOP))

    assert _redirect_parts(response)[1]["is_new"] == "true"
    with db_engine.connect() as connection:
        user = connection.execute(text("SELECT email, name, shopify_id FROM users")).one()
    assert tuple(user) == (None, None, None)


async def test_failed_event_write_is_logged_and_oauth_completes(
    browser: httpx.AsyncClient, db_engine: Engine, caplog: object
) -> None:
    with db_engine.begin() as connection:
        connection.execute(
            text(
                "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'events are read-only in this test'; END $$"
            )
        )
        connection.execute(
            text(
                "CREATE TRIGGER refuse_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_event()"
            )
        )
    try:
        response = await browser.get(await start_install(browser, SHOP))
    finally:
        with db_engine.begin() as connection:
            connection.execute(text("DROP TRIGGER refuse_event ON events"))
            connection.execute(text("DROP FUNCTION refuse_event()"))

    assert _redirect_parts(response)[1]["is_new"] == "true"
    assert count(db_engine, "SELECT count(*) FROM users") == 1
    assert count(db_engine, "SELECT count(*) FROM merchants") == 1
    assert count(db_engine, "SELECT count(*) FROM events") == 0
    messages = [record.getMessage() for record in caplog.records]  # type: ignore[attr-defined]
    assert any("event user_created" in m and "not recorded" in m for m in messages)
    assert any("event oauth_complete" in m and "not recorded" in m for m in messages)
