"""The install and callback steps of Shopify's OAuth, behind the thin router.

Callback order (the contract's, cheapest first): params' shape and the shop, HMAC, timestamp,
host, the state cookie, then the state in Redis (consumed atomically). Any failure raises before
anything is written. Only then is the code exchanged, the shop's profile read (a failure there is
logged), and the user, merchant and events written in one PostgreSQL transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.exceptions import NotConfiguredError, RateLimitedError, StoreUnavailableError
from app.services import merchant_storage, oauth_state, oauth_validation
from app.services.identity_db import get_db
from app.services.shopify_client import ShopifyClient, ShopProfile
from shared.crypto import token_cipher
from shared.rate_limits import RateLimiter
from shared.redis_client import REDIS_ERRORS, AnyRedis
from shared.tokens import issue_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallRedirect:
    authorize_url: str
    state: str


@dataclass(frozen=True)
class CallbackOutcome:
    redirect_url: str
    user_id: str
    is_new: bool


def client_credentials(settings: Settings) -> tuple[str, str]:
    if not settings.shopify_client_id:
        raise NotConfiguredError(
            "Shopify is not configured: set SHOPIFY_CLIENT_ID to your app's client id"
        )
    secret = (
        settings.shopify_client_secret.get_secret_value() if settings.shopify_client_secret else ""
    )
    if not secret:
        raise NotConfiguredError(
            "Shopify is not configured: set SHOPIFY_CLIENT_SECRET to your app's client secret"
        )
    return settings.shopify_client_id, secret


def callback_url(settings: Settings) -> str:
    return settings.auth_public_url + oauth_state.CALLBACK_PATH


async def begin_install(
    *,
    raw_shop: str,
    client_host: str,
    settings: Settings,
    redis: AnyRedis,
    limiter: RateLimiter,
    shopify: ShopifyClient,
) -> InstallRedirect:
    client_id, _ = client_credentials(settings)
    shop = oauth_validation.validate_shop(raw_shop)
    await _count_install(limiter=limiter, client_host=client_host, settings=settings)
    state = await oauth_state.issue_state(
        redis=redis, shop=shop, ttl_seconds=settings.oauth_state_ttl_seconds
    )
    query = urlencode(
        {
            "client_id": client_id,
            "scope": ",".join(settings.scopes),
            "redirect_uri": callback_url(settings),
            "state": state,
        }
    )
    return InstallRedirect(
        authorize_url=f"{shopify.admin_url(shop)}/oauth/authorize?{query}", state=state
    )


async def _count_install(*, limiter: RateLimiter, client_host: str, settings: Settings) -> None:
    """OAUTH_INSTALLS_PER_MINUTE_PER_IP: each install stores a state in Redis for 10 minutes,
    so an address that starts installs in a loop would fill Redis; past the limit, 429 and no
    state. A person installs once or twice."""
    try:
        decision = await limiter.hit(
            name="oauth-install",
            subject=client_host,
            per_minute=settings.oauth_installs_per_minute_per_ip,
        )
    except REDIS_ERRORS:
        raise StoreUnavailableError("the session store is unavailable; try again shortly") from None
    if not decision.allowed:
        logger.warning("install refused for %s: over the per-address limit", client_host)
        raise RateLimitedError(
            "too many installs from this address; try again in a minute",
            retry_after_seconds=decision.retry_after_seconds,
        )


async def complete_callback(
    *,
    query: Sequence[tuple[str, str]],
    state_cookie: str | None,
    settings: Settings,
    redis: AnyRedis,
    shopify: ShopifyClient,
    now: float | None = None,
) -> CallbackOutcome:
    client_id, secret = client_credentials(settings)
    params = oauth_validation.parse_callback_params(query)
    shop = oauth_validation.validate_shop(params["shop"])
    oauth_validation.verify_callback_hmac(params, secret=secret)
    oauth_validation.check_timestamp(
        params["timestamp"],
        now=time.time() if now is None else now,
        max_age_seconds=settings.oauth_timestamp_max_age_seconds,
    )
    oauth_validation.check_host(params.get("host"), shop=shop)
    oauth_state.check_state_cookie(state=params["state"], cookie=state_cookie)
    await oauth_state.consume_state(redis=redis, state=params["state"], shop=shop)

    grant = await shopify.exchange_code(
        shop=shop, code=params["code"], client_id=client_id, client_secret=secret
    )
    profile = await shopify.fetch_shop_profile(shop=shop, access_token=grant.access_token)
    record = await run_in_threadpool(
        _persist_installation,
        settings=settings,
        shop=shop,
        access_token=grant.access_token,
        scopes=grant.scopes,
        profile=profile,
    )
    token = issue_token(
        user_id=record.user_id,
        shop=shop,
        secret=settings.identity_token_secret.get_secret_value(),
        ttl_seconds=settings.identity_token_ttl_seconds,
    )
    logger.info("oauth complete for %s: %s (new=%s)", shop, record.user_id, record.is_new)
    return CallbackOutcome(
        redirect_url=_frontend_redirect(settings, record, token),
        user_id=record.user_id,
        is_new=record.is_new,
    )


def _persist_installation(
    *,
    settings: Settings,
    shop: str,
    access_token: str,
    scopes: list[str],
    profile: ShopProfile | None,
) -> merchant_storage.MerchantRecord:
    cipher = token_cipher(settings)
    try:
        with get_db() as session:
            record = merchant_storage.store_merchant_token(
                session=session, shop=shop, access_token=access_token, scopes=scopes, cipher=cipher
            )
            if profile is not None:
                merchant_storage.update_user_profile(
                    session=session, user_id=record.user_id, profile=profile
                )
    except SQLAlchemyError as exc:
        logger.error("storing the installation of %s failed: %s", shop, type(exc).__name__)
        raise StoreUnavailableError(
            "the identity database is unavailable; start the install again shortly"
        ) from None
    return record


def _frontend_redirect(
    settings: Settings, record: merchant_storage.MerchantRecord, token: str
) -> str:
    query = urlencode(
        {
            "oauth": "complete",
            "is_new": "true" if record.is_new else "false",
            "merchant_id": record.merchant_id,
            "user_id": record.user_id,
            "shop": record.shop,
        }
    )
    # The token rides in the fragment: browsers never send it to a server or a Referer.
    return f"{settings.frontend_url}/chat?{query}#token={token}"
