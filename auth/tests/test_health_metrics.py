"""``/health`` and ``/metrics`` of the auth service, and the request id on every response."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.config import get_settings
from app.main import create_app


async def test_health_is_ok_when_both_stores_answer(browser: httpx.AsyncClient) -> None:
    response = await browser.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


async def test_health_is_503_naming_redis_when_it_is_down(
    auth_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    get_settings.cache_clear()
    app: FastAPI = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
            response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "down"
    assert "redis" in response.json()["detail"]


async def test_metrics_count_requests_by_route_template(browser: httpx.AsyncClient) -> None:
    await browser.get("/health")
    await browser.get("/api/v1/shopify/install", params={"shop": "evil.com"})
    body = (await browser.get("/metrics")).text
    assert (
        'hirecj_http_requests_total{method="GET",route="/health",service="auth",status="200"}'
        in body
    )
    assert 'route="/api/v1/shopify/install",service="auth",status="400"' in body
    assert "hirecj_http_request_duration_seconds_bucket" in body
    assert "evil.com" not in body  # labels are templates, never raw query strings


async def test_every_response_carries_a_request_id(browser: httpx.AsyncClient) -> None:
    generated = await browser.get("/health")
    assert len(generated.headers["x-request-id"]) >= 16
    echoed = await browser.get("/health", headers={"X-Request-ID": "req-abc.123"})
    assert echoed.headers["x-request-id"] == "req-abc.123"
    refused = await browser.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert refused.headers["x-request-id"] != "bad id with spaces"
