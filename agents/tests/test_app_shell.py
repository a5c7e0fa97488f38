"""What the agents app wraps around its routers: the homepage build, request ids, /metrics, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from app.config import get_settings
from app.main import create_app


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A small homepage build, pointed at by HOMEPAGE_DIST_DIR."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>HireCJ</title><div id=root></div>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('app')")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("outside the build")
    monkeypatch.setenv("HOMEPAGE_DIST_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTEND_URL", "https://app.example.com")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
async def client(
    dist: Path, clean_database: object, redis_client: object
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://agents.test") as http:
            yield http


async def test_spa_routes_fall_back_to_index_and_are_revalidated(client: httpx.AsyncClient) -> None:
    for path in ("/", "/chat", "/history/usr_12345678", "/history/usr_12345678/some-id"):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert "<title>HireCJ</title>" in response.text
        assert response.headers["cache-control"] == "no-cache"


async def test_hashed_assets_are_cached_for_a_year(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-abc123.js")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await client.get("/favicon.svg")).headers["cache-control"] == "no-cache"


async def test_missing_assets_and_api_paths_stay_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/missing.js")).status_code == 404
    assert (await client.get("/api/v1/nothing-here")).status_code == 404
    assert (await client.get("/ws/chat")).status_code == 404


async def test_paths_outside_the_build_are_never_served(client: httpx.AsyncClient) -> None:
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        response = await client.get(path)
        assert "outside the build" not in response.text, path


async def test_health_and_the_api_win_over_the_fallback(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    unauthorised = await client.get("/api/v1/users/usr_12345678/conversations")
    assert unauthorised.status_code == 401


async def test_metrics_carry_request_counts_and_the_usage_gauges(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.get("/api/v1/users/usr_12345678/profile")
    body = (await client.get("/metrics")).text
    assert 'route="/health",service="agents",status="200"' in body
    assert 'route="/api/v1/users/{user_id}/profile",service="agents",status="401"' in body
    assert "usr_12345678" not in body
    assert "hirecj_users_total" in body  # refreshed by the lifespan's schedule, not per scrape


async def test_responses_carry_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"


async def test_cors_allows_the_frontend_origin_only(client: httpx.AsyncClient) -> None:
    allowed = await client.options(
        "/api/v1/users/usr_12345678/conversations",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert allowed.headers.get("access-control-allow-origin") == "https://app.example.com"
    refused = await client.options(
        "/api/v1/users/usr_12345678/conversations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in refused.headers


def test_without_a_build_the_app_serves_no_homepage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOMEPAGE_DIST_DIR", str(tmp_path / "missing"))
    get_settings.cache_clear()
    try:
        paths = {getattr(route, "path", "") for route in create_app().routes}
    finally:
        get_settings.cache_clear()
    assert "/{path:path}" not in paths
