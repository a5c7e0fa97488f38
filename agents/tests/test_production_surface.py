"""What production shows: no OpenAPI pages unless asked, /metrics behind its token, security
headers on every response, HSTS only over https, a CSP on the homepage, no 500 for odd paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from app.config import get_settings
from app.main import create_app

PRODUCTION = {
    "ENVIRONMENT": "production",
    "FRONTEND_URL": "https://hirecj.example",
    "AUTH_PUBLIC_URL": "https://auth.hirecj.example",
}


@pytest.fixture
def production(
    monkeypatch: pytest.MonkeyPatch, redis_client: redis.Redis, clean_database: Engine
) -> Iterator[pytest.MonkeyPatch]:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _client(**env: str) -> TestClient:
    get_settings.cache_clear()
    return TestClient(create_app())


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
def test_openapi_pages_are_404_in_production(production: pytest.MonkeyPatch, path: str) -> None:
    with _client() as client:
        assert client.get(path).status_code == 404


def test_docs_enabled_serves_them_in_production(production: pytest.MonkeyPatch) -> None:
    production.setenv("DOCS_ENABLED", "true")
    with _client() as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200


def test_metrics_need_the_token_in_production(production: pytest.MonkeyPatch) -> None:
    production.setenv("METRICS_TOKEN", "scrape-me-" + "x" * 20)
    with _client() as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-" + "x" * 20})
    assert missing.status_code == 401
    assert "METRICS_TOKEN" in missing.json()["detail"]
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "hirecj_archive_oldest_due_age_seconds" in right.text


def test_metrics_are_refused_in_production_while_no_token_is_set(
    production: pytest.MonkeyPatch,
) -> None:
    with _client() as client:
        response = client.get("/metrics", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 503
    assert "set METRICS_TOKEN" in response.json()["detail"]


def test_metrics_are_open_outside_production(redis_client: redis.Redis) -> None:
    with _client() as client:
        assert client.get("/metrics").status_code == 200


def test_every_response_carries_the_security_headers(production: pytest.MonkeyPatch) -> None:
    with _client() as client:
        for response in (client.get("/health"), client.get("/nowhere"), client.get("/docs")):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
            assert "strict-transport-security" not in response.headers


def test_hsts_only_when_a_trusted_proxy_says_https(production: pytest.MonkeyPatch) -> None:
    production.setenv("FORWARDED_ALLOW_IPS", "testclient")
    with _client() as client:
        proxied = client.get("/health", headers={"X-Forwarded-Proto": "https"})
        plain = client.get("/health", headers={"X-Forwarded-Proto": "http"})
    assert proxied.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in plain.headers
    production.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    with _client() as client:
        # TestClient's peer is not a trusted proxy now: its X-Forwarded-Proto is not believed.
        spoofed = client.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in spoofed.headers


@pytest.fixture
def built_homepage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A homepage build shaped like Vite's: index.html loading one script and one stylesheet."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "index-abc.js").write_text("console.log('hi')")
    (tmp_path / "assets" / "index-abc.css").write_text("body{}")
    (tmp_path / "index.html").write_text(
        '<script type="module" crossorigin src="/assets/index-abc.js"></script>'
        '<link rel="stylesheet" crossorigin href="/assets/index-abc.css">'
    )
    monkeypatch.setenv("HOMEPAGE_DIST_DIR", str(tmp_path))
    return tmp_path


def test_the_homepage_has_a_policy_that_lets_the_built_app_run(
    production: pytest.MonkeyPatch, built_homepage: Path
) -> None:
    with _client() as client:
        page = client.get("/chat", headers={"Host": "hirecj.example"})
        script = client.get("/assets/index-abc.js")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "img-src 'self' data:" in policy
    assert "connect-src 'self' ws://hirecj.example https://auth.hirecj.example" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert script.headers["content-security-policy"] == client.get("/").headers[
        "content-security-policy"
    ].replace("ws://hirecj.example", "ws://testserver")


@pytest.mark.parametrize("path", ["/index.html%00.js", "/%00", "/assets/%00.js", "/a%00/b"])
def test_paths_no_file_can_have_are_404(
    built_homepage: Path, redis_client: redis.Redis, clean_database: Engine, path: str
) -> None:
    with _client() as client:
        response = client.get(path)
    assert response.status_code == 404


def test_a_foreign_origin_cannot_open_the_chat_in_production(
    production: pytest.MonkeyPatch,
) -> None:
    import uuid

    from starlette.websockets import WebSocketDisconnect

    conversation_id = str(uuid.uuid4())
    with (
        _client() as client,
        client.websocket_connect(
            f"/ws/chat/{conversation_id}", headers={"Origin": "https://evil.example"}
        ) as ws,
    ):
        assert ws.receive_json()["type"] == "error"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_development_origins_are_refused_in_production(production: pytest.MonkeyPatch) -> None:
    from shared.settings import SettingsError

    production.setenv("CHAT_ALLOWED_ORIGINS", "http://localhost:5173")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="CHAT_ALLOWED_ORIGINS is for development only"):
        get_settings()
