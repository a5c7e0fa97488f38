"""Identifiers: shop domains, user ids, merchant ids, conversation ids."""

from __future__ import annotations

import hashlib
import re
import uuid

from shared.constants import MERCHANT_ID_PREFIX, SHOP_SUFFIX, USER_ID_PREFIX

SHOP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
MAX_SHOP_NAME = 63  # one DNS label


class InvalidShopError(ValueError):
    """Not a ``name.myshopify.com`` domain."""


def normalize_shop(raw: str) -> str:
    """Lowercase, strip a scheme and a trailing slash, then insist on ``name.myshopify.com``.

    Anything else (another host, a path, a port, credentials, a second suffix) is refused, so a
    caller can never be pointed at a host that is not a Shopify shop.
    """
    shop = raw.strip().lower()
    for scheme in ("https://", "http://"):
        if shop.startswith(scheme):
            shop = shop[len(scheme) :]
            break
    shop = shop.removesuffix("/")
    if not SHOP_PATTERN.fullmatch(shop):
        raise InvalidShopError("shop must look like your-store.myshopify.com")
    if len(shop) - len(SHOP_SUFFIX) > MAX_SHOP_NAME:
        raise InvalidShopError(f"shop name is longer than {MAX_SHOP_NAME} characters")
    return shop


def shop_hash(shop: str) -> str:
    return hashlib.sha256(shop.encode()).hexdigest()


def user_id_for_shop(shop: str, length: int = 8) -> str:
    """``usr_`` + the first ``length`` hex digits of sha256(shop) (the design guide uses 8)."""
    return USER_ID_PREFIX + shop_hash(shop)[:length]


def merchant_id_for_shop(shop: str) -> str:
    return MERCHANT_ID_PREFIX + shop.removesuffix(SHOP_SUFFIX)


def parse_conversation_id(value: str) -> str:
    """The canonical (lowercase, hyphenated) UUID, or ValueError."""
    return str(uuid.UUID(value))
