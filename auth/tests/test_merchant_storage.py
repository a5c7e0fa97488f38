"""User ids, collisions and tokens at rest, against the real PostgreSQL and Redis."""

from __future__ import annotations

import hashlib
import logging

import httpx
import pytest
import redis
from conftest import CLIENT_SECRET
from oauth_helpers import start_install
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

import shared.ids
from app.services import merchant_storage
from shared.ids import user_id_for_shop
from shared.testing.fake_shopify import FakeShopify

SHOP = "cool-store.myshopify.com"


def test_generate_user_id_is_the_guides_id() -> None:
    assert user_id_for_shop(SHOP) == ("usr_" + hashlib.sha256(SHOP.encode()).hexdigest()[:8])


def test_colliding_shops_get_different_ids(
    clean_database: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two shops whose hashes share their first 9 hex digits: the second takes one more.
    fake_hashes = {
        "first.myshopify.com": "deadbeef1" + "a" * 55,
        "second.myshopify.com": "deadbeef1" + "b" * 55,
    }
    monkeypatch.setattr(shared.ids, "shop_hash", fake_hashes.__getitem__)

    with Session(clean_database) as session, session.begin():
        first = merchant_storage.get_or_create_user(session=session, shop="first.myshopify.com")
        second = merchant_storage.get_or_create_user(session=session, shop="second.myshopify.com")
    with Session(clean_database) as session, session.begin():
        again = merchant_storage.get_or_create_user(session=session, shop="second.myshopify.com")

    assert first == merchant_storage.UserRecord(user_id="usr_deadbeef", is_new=True)
    assert second == merchant_storage.UserRecord(user_id="usr_deadbeef1", is_new=True)
    assert again == merchant_storage.UserRecord(user_id="usr_deadbeef1", is_new=False)
    with clean_database.connect() as connection:
        rows = connection.execute(text("SELECT id, shop_domain FROM users ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [
        ("usr_deadbeef", "first.myshopify.com"),
        ("usr_deadbeef1", "second.myshopify.com"),
    ]


async def test_the_access_token_is_never_readable_in_plain_text(
    browser: httpx.AsyncClient,
    fake_shopify: FakeShopify,
    db_engine: Engine,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await browser.get(await start_install(browser, SHOP))
    assert response.status_code == 302
    [access_token] = fake_shopify.issued_tokens()

    with db_engine.connect() as connection:
        for table in ("merchants", "users", "events", "shopify_webhook_deliveries"):
            dump = connection.execute(
                text(f"SELECT coalesce(string_agg(t::text, ''), '') FROM {table} t")
            ).scalar_one()
            assert access_token not in dump, table
        stored = connection.execute(
            text("SELECT access_token_encrypted FROM merchants")
        ).scalar_one()
    for key in redis_client.keys("*"):
        assert access_token not in key
        if redis_client.type(key) == "string":
            assert access_token not in (redis_client.get(key) or "")
    assert access_token not in caplog.text
    assert CLIENT_SECRET not in caplog.text
    # It decrypts back with the service's key, and only with it.
    from app.config import get_settings
    from shared.crypto import token_cipher

    assert token_cipher(get_settings()).decrypt(stored) == access_token


async def test_users_and_merchants_survive_a_redis_flush(
    browser: httpx.AsyncClient, redis_client: redis.Redis
) -> None:
    first = await browser.get(await start_install(browser, SHOP))
    redis_client.flushdb()

    second = await browser.get(await start_install(browser, SHOP))

    assert "is_new=false" in second.headers["location"]
    user = first.headers["location"].split("user_id=")[1].split("&")[0]
    assert f"user_id={user}" in second.headers["location"]
