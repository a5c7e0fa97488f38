"""shared.ids (shops, user ids) and shared.tokens (the bearer JWT both services use)."""

from __future__ import annotations

import hashlib
import time

import jwt
import pytest

from shared.ids import (
    InvalidShopError,
    merchant_id_for_shop,
    normalize_shop,
    user_id_for_shop,
)
from shared.tokens import InvalidTokenError, issue_token, verify_token

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("raw", "shop"),
    [
        ("cool-store.myshopify.com", "cool-store.myshopify.com"),
        ("  HTTPS://Cool-Store.MyShopify.com/ ", "cool-store.myshopify.com"),
        ("http://a.myshopify.com", "a.myshopify.com"),
        ("a" * 63 + ".myshopify.com", "a" * 63 + ".myshopify.com"),
    ],
)
def test_normalize_shop_accepts_shopify_shops(raw: str, shop: str) -> None:
    assert normalize_shop(raw) == shop


@pytest.mark.parametrize(
    "raw",
    [
        "evil.com",
        "a.myshopify.com.evil.com",
        "../../x",
        "",
        "-a.myshopify.com",
        "a.myshopify.com:443",
        "user@a.myshopify.com",
        "a.myshopify.com/admin",
        "a_b.myshopify.com",
        "a" * 64 + ".myshopify.com",
        "ftp://a.myshopify.com",
    ],
)
def test_normalize_shop_refuses_everything_else(raw: str) -> None:
    with pytest.raises(InvalidShopError):
        normalize_shop(raw)


def test_user_and_merchant_ids() -> None:
    digest = hashlib.sha256(b"cool-store.myshopify.com").hexdigest()
    assert user_id_for_shop("cool-store.myshopify.com") == "usr_" + digest[:8]
    assert user_id_for_shop("cool-store.myshopify.com", 12) == "usr_" + digest[:12]
    assert merchant_id_for_shop("cool-store.myshopify.com") == "merchant_cool-store"


def test_token_round_trip_and_claims() -> None:
    token = issue_token(
        user_id="usr_12345678", shop="a.myshopify.com", secret=SECRET, ttl_seconds=60
    )

    claims = verify_token(token, secrets=[SECRET])

    assert (claims.user_id, claims.shop) == ("usr_12345678", "a.myshopify.com")
    assert claims.expires_at - claims.issued_at == 60
    raw = jwt.decode(token, SECRET, algorithms=["HS256"], audience="hirecj-agents")
    assert raw["iss"] == "hirecj-auth"
    assert set(raw) == {"iss", "aud", "sub", "shop", "iat", "exp", "jti"}


def test_previous_secret_verifies_during_rotation() -> None:
    token = issue_token(user_id="usr_1", shop="a.myshopify.com", secret=SECRET, ttl_seconds=60)
    assert verify_token(token, secrets=["n" * 40, SECRET]).user_id == "usr_1"
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_token(token, secrets=["n" * 40])


def test_expired_none_alg_and_missing_claims_are_refused() -> None:
    expired = issue_token(
        user_id="usr_1", shop="a", secret=SECRET, ttl_seconds=60, now=int(time.time()) - 120
    )
    with pytest.raises(InvalidTokenError, match="expired"):
        verify_token(expired, secrets=[SECRET])
    unsigned = jwt.encode(
        {
            "iss": "hirecj-auth",
            "aud": "hirecj-agents",
            "sub": "usr_1",
            "shop": "a",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": "x",
        },
        None,
        algorithm="none",
    )
    with pytest.raises(InvalidTokenError):
        verify_token(unsigned, secrets=[SECRET])
    no_shop = jwt.encode(
        {
            "iss": "hirecj-auth",
            "aud": "hirecj-agents",
            "sub": "usr_1",
            "iat": int(time.time()),
            "exp": int(time.time()) + 60,
            "jti": "x",
        },
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(InvalidTokenError, match="shop"):
        verify_token(no_shop, secrets=[SECRET])
