"""Helpers for the auth tests: walking the install, crafting callbacks, snapshotting stores."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import redis
from sqlalchemy import Engine, text

from shared.testing.fake_shopify import host_param, sign_query

TABLES = ("users", "events", "merchants", "conversations", "shopify_webhook_deliveries")


async def start_install(browser: httpx.AsyncClient, shop: str) -> str:
    """GET install and follow the real fake Shopify's authorize redirect; the callback URL."""
    response = await browser.get("/api/v1/shopify/install", params={"shop": shop})
    assert response.status_code == 302, response.text
    async with httpx.AsyncClient() as shopify:
        authorize = await shopify.get(response.headers["location"])
    assert authorize.status_code == 302, authorize.text
    return authorize.headers["location"]


def callback_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def callback_path(params: dict[str, str]) -> str:
    return "/api/v1/shopify/callback?" + urlencode(params)


def signed(params: dict[str, str], secret: str) -> dict[str, str]:
    """``params`` with a correct hmac (as Shopify would sign them)."""
    unsigned = {k: v for k, v in params.items() if k != "hmac"}
    return {**unsigned, "hmac": sign_query(unsigned, secret)}


def forged_callback(
    *, shop: str, state: str, secret: str, code: str = "abc123", timestamp: int | None = None
) -> dict[str, str]:
    params = {
        "code": code,
        "host": host_param(shop) if shop.endswith(".myshopify.com") else "",
        "shop": shop,
        "state": state,
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
    }
    if not params["host"]:
        del params["host"]
    return signed(params, secret)


def snapshot(engine: Engine, client: redis.Redis) -> dict[str, Any]:
    """Every row of the identity tables and every Redis key with its value and TTL-presence."""
    state: dict[str, Any] = {}
    with engine.connect() as connection:
        for table in TABLES:
            rows = connection.execute(text(f"SELECT t::text FROM {table} t ORDER BY 1")).scalars()
            state[table] = list(rows)
    keys = sorted(client.keys("*"))
    state["redis"] = {
        key: client.get(key) if client.type(key) == "string" else client.type(key) for key in keys
    }
    return state


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql), params).scalar_one())
