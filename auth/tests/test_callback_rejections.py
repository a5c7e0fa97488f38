"""Every forged, stale or malformed callback is a 4xx that changes nothing anywhere.

Each case asserts: the status and reason, every identity table and every Redis key exactly as
before, and no token request received by the fake Shopify.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
import redis
from conftest import CLIENT_SECRET, BrowserFactory
from oauth_helpers import (
    callback_params,
    callback_path,
    forged_callback,
    signed,
    snapshot,
    start_install,
)
from sqlalchemy import Engine

from shared.testing.fake_shopify import FakeShopify

SHOP = "cool-store.myshopify.com"
Case = Callable[[BrowserFactory], Awaitable[tuple[httpx.AsyncClient, str]]]


async def _genuine(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, dict[str, str]]:
    browser = new_browser()
    return browser, callback_params(await start_install(browser, SHOP))


def _tamper(change: Callable[[dict[str, str]], dict[str, str]]) -> Case:
    async def case(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
        browser, params = await _genuine(new_browser)
        return browser, callback_path(change(dict(params)))

    return case


def _without(name: str, *, resign: bool) -> Callable[[dict[str, str]], dict[str, str]]:
    def change(params: dict[str, str]) -> dict[str, str]:
        params.pop(name)
        return signed(params, CLIENT_SECRET) if resign else params

    return change


def _resigned(**changes: str) -> Callable[[dict[str, str]], dict[str, str]]:
    """Shopify-valid HMAC over changed params: only the later checks can refuse them."""
    return lambda params: signed({**params, **changes}, CLIENT_SECRET)


def _flip_hmac(params: dict[str, str]) -> dict[str, str]:
    last = params["hmac"][-1]
    return {**params, "hmac": params["hmac"][:-1] + ("0" if last != "0" else "1")}


async def _other_browser(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
    _, params = await _genuine(new_browser)
    other = new_browser()
    await start_install(other, SHOP)  # the other browser has its own, different state cookie
    return other, callback_path(params)


async def _no_cookie(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
    _, params = await _genuine(new_browser)
    return new_browser(), callback_path(params)


async def _state_not_issued(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
    browser, _ = await _genuine(new_browser)
    made_up = "x" * 43
    browser.cookies.set("hirecj_oauth_state", made_up, path="/api/v1/shopify/callback")
    return browser, callback_path(forged_callback(shop=SHOP, state=made_up, secret=CLIENT_SECRET))


async def _state_for_another_shop(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
    browser, params = await _genuine(new_browser)
    other = "other-store.myshopify.com"
    return browser, callback_path(
        forged_callback(shop=other, state=params["state"], secret=CLIENT_SECRET)
    )


def _bad_shop(shop: str) -> Case:
    async def case(new_browser: BrowserFactory) -> tuple[httpx.AsyncClient, str]:
        browser, params = await _genuine(new_browser)
        forged = forged_callback(shop=shop, state=params["state"], secret=CLIENT_SECRET)
        return browser, callback_path(forged)

    return case


CASES: dict[str, tuple[Case, int, str]] = {
    "wrong hmac": (_tamper(_flip_hmac), 400, "hmac does not match"),
    "missing hmac": (_tamper(_without("hmac", resign=False)), 400, "missing query parameter: hmac"),
    "hmac of other params": (
        _tamper(lambda p: {**p, "code": "0" * 32}),
        400,
        "hmac does not match",
    ),
    "hmac not hex": (_tamper(lambda p: {**p, "hmac": "z" * 64}), 400, "not a hex SHA-256"),
    "unsigned extra param": (_tamper(lambda p: {**p, "admin": "1"}), 400, "hmac does not match"),
    "stale timestamp": (
        _tamper(_resigned(timestamp=str(int(time.time()) - 86400 - 60))),
        400,
        "timestamp is too old",
    ),
    "future timestamp": (
        _tamper(_resigned(timestamp=str(int(time.time()) + 600))),
        400,
        "timestamp is in the future",
    ),
    "timestamp not a number": (_tamper(_resigned(timestamp="soon")), 400, "not a Unix time"),
    "host of another shop": (
        _tamper(
            _resigned(host=base64.b64encode(b"admin.shopify.com/store/evil").decode().rstrip("="))
        ),
        400,
        "host does not name this shop",
    ),
    "host of another site": (
        _tamper(_resigned(host=base64.b64encode(b"evil.com/admin").decode())),
        400,
        "host does not name this shop",
    ),
    "host not base64": (_tamper(_resigned(host="not base64!")), 400, "host is not base64"),
    "missing state": (
        _tamper(_without("state", resign=True)),
        400,
        "missing query parameter: state",
    ),
    "missing code": (_tamper(_without("code", resign=True)), 400, "missing query parameter: code"),
    "state from another browser": (_other_browser, 400, "does not match this browser"),
    "no state cookie": (_no_cookie, 400, "no OAuth state cookie"),
    "state never issued": (_state_not_issued, 400, "state is unknown"),
    "state issued for another shop": (_state_for_another_shop, 400, "issued for another shop"),
    "shop=evil.com": (_bad_shop("evil.com"), 400, "invalid shop"),
    "shop=a.myshopify.com.evil.com": (_bad_shop("a.myshopify.com.evil.com"), 400, "invalid shop"),
    "shop=../../x": (_bad_shop("../../x"), 400, "invalid shop"),
    "shop with a port": (_bad_shop("cool-store.myshopify.com:8080"), 400, "invalid shop"),
    "huge code": (_tamper(_resigned(code="a" * 60_000)), 400, "longer than 512 characters"),
    "repeated shop": (
        _tamper(lambda p: p),  # replaced below: a query with shop twice
        400,
        "appears more than once",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_rejected_callback_changes_nothing(
    name: str,
    new_browser: BrowserFactory,
    fake_shopify: FakeShopify,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    make_case, status, reason = CASES[name]
    browser, path = await make_case(new_browser)
    if name == "repeated shop":
        path += "&shop=evil-store.myshopify.com"
    before = snapshot(db_engine, redis_client)

    response = await browser.get(path)

    assert response.status_code == status, response.text
    assert reason in response.json()["detail"]
    assert snapshot(db_engine, redis_client) == before
    assert fake_shopify.token_requests == []


async def test_replayed_state_fails_with_the_original_cookie(
    browser: httpx.AsyncClient,
    fake_shopify: FakeShopify,
    db_engine: Engine,
    redis_client: redis.Redis,
) -> None:
    callback_url = await start_install(browser, SHOP)
    state = callback_params(callback_url)["state"]
    assert (await browser.get(callback_url)).status_code == 302
    before = snapshot(db_engine, redis_client)
    browser.cookies.set("hirecj_oauth_state", state, path="/api/v1/shopify/callback")

    replay = await browser.get(callback_url)

    assert replay.status_code == 400
    assert "already used" in replay.json()["detail"]
    assert snapshot(db_engine, redis_client) == before
    assert len(fake_shopify.token_requests) == 1


async def test_a_forged_callback_does_not_use_up_the_state(
    browser: httpx.AsyncClient, db_engine: Engine, redis_client: redis.Redis
) -> None:
    callback_url = await start_install(browser, SHOP)
    params = callback_params(callback_url)
    assert (await browser.get(callback_path(_flip_hmac(params)))).status_code == 400

    genuine = await browser.get(callback_url)

    assert genuine.status_code == 302
    assert "is_new=true" in genuine.headers["location"]


@pytest.mark.parametrize(
    "shop", ["evil.com", "a.myshopify.com.evil.com", "../../x", "", "x" * 64 + ".myshopify.com"]
)
async def test_install_refuses_a_shop_that_is_not_a_shopify_shop(
    shop: str, browser: httpx.AsyncClient, db_engine: Engine, redis_client: redis.Redis
) -> None:
    before = snapshot(db_engine, redis_client)

    response = await browser.get("/api/v1/shopify/install", params={"shop": shop})

    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.json()["detail"].startswith("invalid shop")
    assert snapshot(db_engine, redis_client) == before


@pytest.mark.parametrize("variable", ["SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET"])
async def test_unset_credentials_give_a_503_naming_the_variable(
    variable: str,
    browser: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    redis_client: redis.Redis,
) -> None:
    from app.config import get_settings

    monkeypatch.delenv(variable)
    get_settings.cache_clear()

    install = await browser.get("/api/v1/shopify/install", params={"shop": SHOP})
    callback = await browser.get(callback_path(forged_callback(shop=SHOP, state="s", secret="x")))

    for response in (install, callback):
        assert response.status_code == 503
        assert variable in response.json()["detail"]
    assert redis_client.keys("*") == []


async def test_state_cookie_is_secure_when_the_public_url_is_https(
    browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    monkeypatch.setenv("AUTH_PUBLIC_URL", "https://auth.example.com")
    get_settings.cache_clear()

    response = await browser.get("/api/v1/shopify/install", params={"shop": SHOP})

    assert "Secure" in response.headers["set-cookie"]
    assert (
        "redirect_uri=https%3A%2F%2Fauth.example.com%2Fapi%2Fv1%2Fshopify%2Fcallback"
        in (response.headers["location"])
    )
