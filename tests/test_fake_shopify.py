"""The fake Shopify, as a thread and as a process (its CLI)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest

from shared.testing.fake_shopify import FakeShopify, host_param, sign_query, sign_webhook

REPO = Path(__file__).resolve().parents[1]
SHOP = "demo-store.myshopify.com"


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    server = FakeShopify(client_id="cid", client_secret="csecret").start()
    yield server
    server.stop()


def _authorize(fake: FakeShopify, **overrides: str) -> httpx.Response:
    params = {
        "client_id": "cid",
        "scope": "read_products",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "state": "nonce-1",
        **overrides,
    }
    return httpx.get(f"{fake.base_url}/{SHOP}/admin/oauth/authorize", params=params)


def test_authorize_redirects_back_with_a_correct_hmac(fake: FakeShopify) -> None:
    response = _authorize(fake)

    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.netloc == "127.0.0.1:9"
    pairs = parse_qsl(location.query)
    params = dict(pairs)
    assert set(params) == {"code", "host", "shop", "state", "timestamp", "hmac"}
    assert params["shop"] == SHOP
    assert params["state"] == "nonce-1"
    assert base64.b64decode(params["host"]) == b"admin.shopify.com/store/demo-store"
    # Checked independently of sign_query: the query minus hmac, in order, keyed with the secret.
    message = "&".join(
        f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in sorted(pairs) if k != "hmac"
    )
    expected = hmac.new(b"csecret", message.encode(), hashlib.sha256).hexdigest()
    assert params["hmac"] == expected


def test_authorize_refuses_an_unknown_client(fake: FakeShopify) -> None:
    assert _authorize(fake, client_id="other").status_code == 400


def test_access_token_checks_credentials_and_uses_a_code_once(fake: FakeShopify) -> None:
    code = dict(parse_qsl(urlsplit(_authorize(fake).headers["location"]).query))["code"]
    url = f"{fake.base_url}/{SHOP}/admin/oauth/access_token"

    wrong_secret = httpx.post(url, json={"client_id": "cid", "client_secret": "x", "code": code})
    granted = httpx.post(url, json={"client_id": "cid", "client_secret": "csecret", "code": code})
    reused = httpx.post(url, json={"client_id": "cid", "client_secret": "csecret", "code": code})

    assert wrong_secret.status_code == 400
    assert granted.status_code == 200
    assert granted.json()["scope"] == "read_products"
    token = granted.json()["access_token"]
    assert token.startswith("shpat_")
    assert reused.status_code == 400
    assert len(fake.token_requests) == 3
    shop = httpx.get(
        f"{fake.base_url}/{SHOP}/admin/api/2025-07/shop.json",
        headers={"X-Shopify-Access-Token": token},
    )
    assert shop.json()["shop"]["myshopify_domain"] == SHOP
    denied = httpx.get(
        f"{fake.base_url}/{SHOP}/admin/api/2025-07/shop.json",
        headers={"X-Shopify-Access-Token": "nope"},
    )
    assert denied.status_code == 401


def test_failure_modes(fake: FakeShopify) -> None:
    url = f"{fake.base_url}/{SHOP}/admin/oauth/access_token"
    fake.set_token_exchange("error", times=1)
    assert httpx.post(url, json={}).status_code == 502
    fake.set_token_exchange("drop", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(url, json={})
    assert httpx.post(url, json={}).status_code == 400  # back to normal: no valid code


def test_signing_helpers() -> None:
    assert (
        sign_webhook(b"{}", "s")
        == base64.b64encode(hmac.new(b"s", b"{}", hashlib.sha256).digest()).decode()
    )
    assert (
        sign_query({"a": "1", "hmac": "x", "signature": "y"}, "s")
        == hmac.new(b"s", b"a=1", hashlib.sha256).hexdigest()
    )
    assert host_param("a.myshopify.com") == base64.b64encode(b"admin.shopify.com/store/a").decode()


def test_the_cli_serves_until_terminated(free_tcp_port: int) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shared.testing.fake_shopify",
            "--port",
            str(free_tcp_port),
            "--client-id",
            "cid",
            "--client-secret",
            "csecret",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{free_tcp_port}" in banner
        base = f"http://127.0.0.1:{free_tcp_port}"
        response = httpx.get(
            f"{base}/{SHOP}/admin/oauth/authorize",
            params={"client_id": "cid", "redirect_uri": "http://x/cb", "state": "s"},
        )
        assert response.status_code == 302
        assert httpx.post(f"{base}/_fake/mode", json={"token_exchange": "error"}).status_code == 200
        assert httpx.post(f"{base}/{SHOP}/admin/oauth/access_token", json={}).status_code == 502
        assert len(httpx.get(f"{base}/_fake/token-requests").json()) == 1
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


def test_the_demo_store_asks_before_approving() -> None:
    demo = FakeShopify(client_id="cid", client_secret="csecret", demo=True).start()
    try:
        asked = _authorize(demo, scope="read_products,read_orders,<b>odd</b>")
        assert asked.status_code == 200
        assert asked.headers["content-type"].startswith("text/html")
        page = asked.text
        assert "Demo store" in page
        assert SHOP in page
        assert "See your products" in page
        assert "<code>read_orders</code>" in page
        assert "<b>odd</b>" not in page
        assert "&lt;b&gt;odd&lt;/b&gt;" in page
        assert 'data-testid="demo-approve"' in page
        assert 'name="state" value="nonce-1"' in page
        assert demo.token_requests == []

        approved = _authorize(demo, approve="1")
        assert approved.status_code == 302
        params = dict(parse_qsl(urlsplit(approved.headers["location"]).query))
        assert "approve" not in params
        assert params["state"] == "nonce-1"
        assert params["hmac"] == sign_query(params, "csecret")
        assert _authorize(demo, client_id="other").status_code == 400
    finally:
        demo.stop()
