"""Fixtures for the auth suite: the real app (lifespan and all) over ASGI, a real fake Shopify
on 127.0.0.1, and the run's private PostgreSQL database and Redis db (shared.testing.plugin)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from fastapi import FastAPI

from shared.testing.fake_shopify import FakeShopify

pytest_plugins = ["shared.testing.plugin"]

CLIENT_ID = "hirecj-test-client"
CLIENT_SECRET = "shpss_test_" + secrets.token_hex(16)
AUTH_BASE = "http://auth.test"
FRONTEND_URL = "http://frontend.test"


@pytest.fixture(scope="session")
def fake_shopify() -> Iterator[FakeShopify]:
    fake = FakeShopify(client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture
def auth_env(monkeypatch: pytest.MonkeyPatch, fake_shopify: FakeShopify) -> Iterator[None]:
    from app.config import get_settings

    monkeypatch.setenv("SHOPIFY_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SHOPIFY_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SHOPIFY_ADMIN_URL_TEMPLATE", fake_shopify.admin_url_template)
    monkeypatch.setenv("AUTH_PUBLIC_URL", AUTH_BASE)
    monkeypatch.setenv("FRONTEND_URL", FRONTEND_URL)
    fake_shopify.reset()
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
async def auth_app(
    auth_env: None, clean_database: object, redis_client: object
) -> AsyncIterator[FastAPI]:
    from app.main import create_app

    app = create_app()
    async with app.router.lifespan_context(app):
        yield app


BrowserFactory = Callable[[], httpx.AsyncClient]


@pytest.fixture
async def new_browser(auth_app: FastAPI) -> AsyncIterator[BrowserFactory]:
    """Makes clients with their own cookie jars: each is one browser talking to the auth app."""
    clients: list[httpx.AsyncClient] = []

    def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=auth_app), base_url=AUTH_BASE)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def browser(new_browser: BrowserFactory) -> httpx.AsyncClient:
    return new_browser()
