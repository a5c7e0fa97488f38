"""The OAuth ``state`` nonce: random, bound to one browser (cookie) and one shop, used once.

Redis holds ``oauth:state:<nonce>`` = the shop for ``oauth_state_ttl_seconds``; the browser holds
the nonce in an HttpOnly, SameSite=Lax cookie (Shopify's callback is a top-level GET, so Lax
cookies are sent with it). Consuming is one atomic compare-and-delete: the key is deleted only
when it exists and names the callback's shop, so a replay, a parallel duplicate or a state
issued for another shop all fail, and a failed check leaves the state as it was.
"""

from __future__ import annotations

import hmac
import secrets

from app.exceptions import InvalidRequestError, StoreUnavailableError
from shared.redis_client import REDIS_ERRORS, AnyRedis

STATE_KEY_PREFIX = "oauth:state:"
STATE_COOKIE = "hirecj_oauth_state"
CALLBACK_PATH = "/api/v1/shopify/callback"
_NONCE_BYTES = 32

# KEYS[1] = state key, ARGV[1] = shop. 1 = consumed, 2 = issued for another shop, 0 = unknown.
_CONSUME = """
local shop = redis.call('GET', KEYS[1])
if not shop then return 0 end
if shop ~= ARGV[1] then return 2 end
redis.call('DEL', KEYS[1])
return 1
"""


def state_key(nonce: str) -> str:
    return STATE_KEY_PREFIX + nonce


async def issue_state(*, redis: AnyRedis, shop: str, ttl_seconds: int) -> str:
    nonce = secrets.token_urlsafe(_NONCE_BYTES)
    try:
        await redis.set(state_key(nonce), shop, ex=ttl_seconds, nx=True)
    except REDIS_ERRORS:
        raise StoreUnavailableError("the session store is unavailable; try again shortly") from None
    return nonce


def check_state_cookie(*, state: str, cookie: str | None) -> None:
    """The callback's state must be the one this browser was given (no Redis needed)."""
    if not cookie:
        raise InvalidRequestError(
            "no OAuth state cookie: start the install from this browser (cookies must be enabled)"
        )
    if not hmac.compare_digest(state.encode(), cookie.encode()):
        raise InvalidRequestError("state does not match this browser's OAuth session")


async def consume_state(*, redis: AnyRedis, state: str, shop: str) -> None:
    try:
        outcome = await redis.eval(_CONSUME, 1, state_key(state), shop)
    except REDIS_ERRORS:
        raise StoreUnavailableError("the session store is unavailable; try again shortly") from None
    if outcome == 2:
        raise InvalidRequestError("state was issued for another shop")
    if outcome != 1:
        raise InvalidRequestError("state is unknown, expired or already used; start again")
