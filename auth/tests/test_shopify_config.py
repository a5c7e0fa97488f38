"""``GET /api/v1/shopify/config``: what the homepage asks before Connect Shopify."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from conftest import CLIENT_SECRET, FRONTEND_URL
from cryptography.fernet import Fernet

from app.config import get_settings
from app.main import create_app


@asynccontextmanager
async def _client() -> AsyncIterator[httpx.AsyncClient]:
    """The route reads only the settings, so the app's lifespan (stores, pools) is not needed."""
    get_settings.cache_clear()
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
        yield client
    get_settings.cache_clear()


async def test_configured_with_the_local_fake_is_the_demo_store(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/api/v1/shopify/config", headers={"Origin": FRONTEND_URL})

    assert response.status_code == 200
    assert response.json() == {"configured": True, "demo": True}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["access-control-allow-origin"] == FRONTEND_URL
    assert CLIENT_SECRET not in response.text


async def test_missing_credentials_are_reported_not_configured(
    auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPIFY_CLIENT_ID", "")
    monkeypatch.setenv("SHOPIFY_CLIENT_SECRET", "")
    async with _client() as client:
        response = await client.get("/api/v1/shopify/config")

    assert response.status_code == 200
    assert response.json() == {"configured": False, "demo": False}


async def test_one_missing_half_is_not_configured(
    auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPIFY_CLIENT_SECRET", "")
    async with _client() as client:
        response = await client.get("/api/v1/shopify/config")

    assert response.json() == {"configured": False, "demo": False}


async def test_real_shopify_is_not_the_demo(
    auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPIFY_ADMIN_URL_TEMPLATE", "https://{shop}/admin")
    async with _client() as client:
        response = await client.get("/api/v1/shopify/config")

    assert response.json() == {"configured": True, "demo": False}


async def test_production_is_never_the_demo(
    auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("IDENTITY_TOKEN_SECRET", "p" * 48)
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", Fernet.generate_key().decode())
    async with _client() as client:
        response = await client.get("/api/v1/shopify/config")

    assert response.json() == {"configured": True, "demo": False}


async def test_the_route_is_in_the_openapi_document(browser: httpx.AsyncClient) -> None:
    paths = (await browser.get("/openapi.json")).json()["paths"]
    assert set(paths["/api/v1/shopify/config"]) == {"get"}
