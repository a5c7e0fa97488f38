"""The checks on Shopify's OAuth callback, in the contract's order of cheapness.

They follow what Shopify's own libraries (shopify-app-js, shopify-api-ruby, shopify_python_api)
check: the shop's shape, the ``hmac`` over the other params (``hmac`` and ``signature`` left out,
sorted by key, ``k=v`` joined with ``&``, hex HMAC-SHA256 with the client secret, compared in
constant time), the ``timestamp``'s freshness and, when present, that ``host`` is base64 of this
shop's admin. The state is checked last (``oauth_state``), because it is the only check that
costs a Redis round trip.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import quote, quote_plus, urlencode

from app.exceptions import InvalidRequestError
from shared.constants import SHOP_SUFFIX
from shared.ids import InvalidShopError, normalize_shop

REQUIRED_PARAMS = ("code", "hmac", "shop", "state", "timestamp")
# Shopify's values are short (code: 32 hex, state: ours, 43 chars; host: ~60); anything far
# longer is not from Shopify and is refused before it costs an HMAC or a request.
MAX_PARAM_CHARS = 512
MAX_PARAMS = 16
MAX_FUTURE_SKEW_SECONDS = 300
_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_BASE64 = re.compile(r"^[0-9A-Za-z+/]+={0,2}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def parse_callback_params(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The query as a dict, refusing oversized, repeated or missing params (400)."""
    if len(pairs) > MAX_PARAMS:
        raise InvalidRequestError(f"too many query parameters (at most {MAX_PARAMS})")
    params: dict[str, str] = {}
    for key, value in pairs:
        if len(key) > MAX_PARAM_CHARS or len(value) > MAX_PARAM_CHARS:
            raise InvalidRequestError(
                f"query parameter {key[:40]!r} is longer than {MAX_PARAM_CHARS} characters"
            )
        if key in params:
            raise InvalidRequestError(f"query parameter {key!r} appears more than once")
        params[key] = value
    missing = [name for name in REQUIRED_PARAMS if not params.get(name)]
    if missing:
        raise InvalidRequestError(f"missing query parameter: {', '.join(missing)}")
    return params


def validate_shop(raw: str) -> str:
    try:
        return normalize_shop(raw)
    except InvalidShopError as exc:
        raise InvalidRequestError(f"invalid shop: {exc}") from None


def _form_message(params: dict[str, str]) -> str:
    # The sorted params, form-encoded as Python (and shopify-api-ruby) does: a space is "+".
    return urlencode(sorted(params.items()))


def _percent_message(params: dict[str, str]) -> str:
    # The same with a space as "%20", as a signer that percent-encodes (encodeURIComponent) does.
    return urlencode(sorted(params.items()), quote_via=quote)


def _url_search_params_message(params: dict[str, str]) -> str:
    # What shopify-app-js signs (its ProcessedQuery is a URLSearchParams): the WHATWG form
    # encoding, which differs from Python's for "*" (kept) and "~" (escaped).
    def encode(text: str) -> str:
        return quote_plus(text, safe="*").replace("~", "%7E")

    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))


def _escaped_message(params: dict[str, str]) -> str:
    # What shopify_python_api signs: raw values with only '%', '&' (and '=' in keys) escaped.
    def key(k: str) -> str:
        return k.replace("%", "%25").replace("&", "%26").replace("=", "%3D")

    def value(v: str) -> str:
        return v.replace("%", "%25").replace("&", "%26")

    return "&".join(f"{key(k)}={value(v)}" for k, v in sorted(params.items()))


def verify_callback_hmac(params: dict[str, str], *, secret: str) -> None:
    """Constant-time check of ``hmac``; 400 when missing or wrong.

    Every canonical form Shopify's libraries use is accepted, with a space in either encoding
    ("+" or "%20"): they agree for every value Shopify sends today, and each is keyed with our
    secret, so accepting them all forges nothing.
    """
    received = params.get("hmac", "")
    if not _HEX_DIGEST.fullmatch(received):
        raise InvalidRequestError("hmac is missing or not a hex SHA-256 digest")
    signed = {k: v for k, v in params.items() if k not in ("hmac", "signature")}
    valid = False
    candidates = {
        _form_message(signed),
        _percent_message(signed),
        _url_search_params_message(signed),
        _escaped_message(signed),
    }
    for message in candidates:
        expected = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        # Every candidate is compared, so the time taken does not depend on which matched.
        valid |= hmac.compare_digest(expected.encode(), received.encode())
    if not valid:
        raise InvalidRequestError("hmac does not match the query parameters")


def check_timestamp(raw: str, *, now: float, max_age_seconds: int) -> None:
    if not _TIMESTAMP.fullmatch(raw):
        raise InvalidRequestError("timestamp is not a Unix time in seconds")
    timestamp = int(raw)
    if timestamp < now - max_age_seconds:
        raise InvalidRequestError("timestamp is too old; start the install again")
    if timestamp > now + MAX_FUTURE_SKEW_SECONDS:
        raise InvalidRequestError("timestamp is in the future")


def check_host(raw: str | None, *, shop: str) -> None:
    """``host`` (when sent) must be base64 of this shop's admin: ``admin.shopify.com/store/NAME``
    or the older ``NAME.myshopify.com/admin``. shopify-app-js refuses any other host, since an
    embedded app would otherwise redirect into it."""
    if raw is None:
        return
    if not _BASE64.fullmatch(raw):
        raise InvalidRequestError("host is not base64")
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequestError("host is not base64 of a Shopify admin host") from None
    name = shop.removesuffix(SHOP_SUFFIX)
    if decoded.rstrip("/") not in (f"admin.shopify.com/store/{name}", f"{shop}/admin"):
        raise InvalidRequestError("host does not name this shop's Shopify admin")
