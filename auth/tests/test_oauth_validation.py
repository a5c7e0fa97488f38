"""The callback checks on their own: Shopify's published HMAC example, host and timestamps."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from app.exceptions import InvalidRequestError
from app.services import oauth_validation

# The example in Shopify's OAuth docs ("Verify the HMAC"), secret "hush".
DOC_PARAMS = {
    "code": "0907a61c0c8d55e99db179b68161bc00",
    "hmac": "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf",
    "shop": "some-shop.myshopify.com",
    "state": "0.6784241404160823",
    "timestamp": "1337178173",
}


def test_shopifys_documented_example_verifies() -> None:
    oauth_validation.verify_callback_hmac(DOC_PARAMS, secret="hush")


def test_the_documented_example_fails_with_another_secret() -> None:
    with pytest.raises(InvalidRequestError, match="hmac does not match"):
        oauth_validation.verify_callback_hmac(DOC_PARAMS, secret="hush2")


def test_hmac_and_signature_are_left_out_of_the_message() -> None:
    params = {**DOC_PARAMS, "signature": "anything"}
    oauth_validation.verify_callback_hmac(params, secret="hush")


def test_values_needing_escapes_verify_in_the_python_librarys_form() -> None:
    params = {"code": "a&b", "shop": "x.myshopify.com", "state": "100%", "timestamp": "1"}
    message = "code=a%26b&shop=x.myshopify.com&state=100%25&timestamp=1"
    digest = hmac.new(b"k", message.encode(), hashlib.sha256).hexdigest()
    oauth_validation.verify_callback_hmac({**params, "hmac": digest}, secret="k")


@pytest.mark.parametrize(
    "decoded",
    ["admin.shopify.com/store/some-shop", "some-shop.myshopify.com/admin"],
)
def test_host_of_this_shop_is_accepted(decoded: str) -> None:
    host = base64.b64encode(decoded.encode()).decode()
    oauth_validation.check_host(host, shop="some-shop.myshopify.com")
    oauth_validation.check_host(host.rstrip("="), shop="some-shop.myshopify.com")


@pytest.mark.parametrize(
    "decoded",
    [
        "admin.shopify.com/store/other-shop",
        "other-shop.myshopify.com/admin",
        "evil.com/admin",
        "admin.shopify.com.evil.com/store/some-shop",
        "",
    ],
)
def test_host_of_anything_else_is_refused(decoded: str) -> None:
    host = base64.b64encode(decoded.encode()).decode() or "="
    with pytest.raises(InvalidRequestError):
        oauth_validation.check_host(host, shop="some-shop.myshopify.com")


def test_no_host_is_accepted() -> None:
    oauth_validation.check_host(None, shop="some-shop.myshopify.com")


@pytest.mark.parametrize(
    ("timestamp", "ok"),
    [
        (1_000_000 - 86400, True),
        (1_000_000 - 86401, False),
        (1_000_000 + 300, True),
        (1_000_000 + 301, False),
    ],
)
def test_timestamp_window(timestamp: int, ok: bool) -> None:
    def check() -> None:
        oauth_validation.check_timestamp(str(timestamp), now=1_000_000, max_age_seconds=86400)

    if ok:
        check()
    else:
        with pytest.raises(InvalidRequestError):
            check()
