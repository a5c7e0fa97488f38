"""Shopify install, OAuth callback and webhooks. Thin: parse, call one service, answer."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from app.api.deps import ClientHost, RateLimiterDep, RedisDep, SettingsDep, ShopifyDep
from app.exceptions import PayloadTooLargeError, StoreUnavailableError
from app.schemas import ErrorResponse, WebhookAck
from app.services import oauth_flow, oauth_state, webhooks
from app.services.identity_db import get_db

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/shopify", tags=["shopify"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorResponse, "description": "A parameter is missing, malformed or forged"},
    429: {"model": ErrorResponse, "description": "Too many installs from this address"},
    502: {"model": ErrorResponse, "description": "Shopify did not complete the code exchange"},
    503: {"model": ErrorResponse, "description": "Shopify credentials unset or a store is down"},
}
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/install", status_code=302, responses=_ERRORS)
async def install(
    settings: SettingsDep,
    redis: RedisDep,
    limiter: RateLimiterDep,
    client_host: ClientHost,
    shopify: ShopifyDep,
    shop: Annotated[str, Query(description="the shop, as your-store.myshopify.com")] = "",
) -> RedirectResponse:
    """Start the install: redirect to the shop's Shopify authorize page with a fresh state,
    remembered in Redis for 10 minutes and in an HttpOnly cookie bound to this browser."""
    redirect = await oauth_flow.begin_install(
        raw_shop=shop,
        client_host=client_host,
        settings=settings,
        redis=redis,
        limiter=limiter,
        shopify=shopify,
    )
    response = RedirectResponse(redirect.authorize_url, status_code=302, headers=_NO_STORE)
    response.set_cookie(
        oauth_state.STATE_COOKIE,
        redirect.state,
        max_age=settings.oauth_state_ttl_seconds,
        path=oauth_state.CALLBACK_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.auth_public_url.startswith("https://"),
    )
    return response


@router.get("/callback", status_code=302, responses=_ERRORS)
async def callback(
    request: Request, settings: SettingsDep, redis: RedisDep, shopify: ShopifyDep
) -> RedirectResponse:
    """Shopify's redirect back (``code``, ``hmac``, ``host``, ``shop``, ``state``,
    ``timestamp``). Checked in order: shop, HMAC, timestamp, host, state (this browser's, used
    once). Then the code is exchanged and the browser is sent to the chat with its user id in
    the query and its bearer token in the fragment (``#token=``)."""
    outcome = await oauth_flow.complete_callback(
        query=request.query_params.multi_items(),
        state_cookie=request.cookies.get(oauth_state.STATE_COOKIE),
        settings=settings,
        redis=redis,
        shopify=shopify,
    )
    response = RedirectResponse(outcome.redirect_url, status_code=302, headers=_NO_STORE)
    response.delete_cookie(
        oauth_state.STATE_COOKIE,
        path=oauth_state.CALLBACK_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.auth_public_url.startswith("https://"),
    )
    return response


@router.post(
    "/webhooks",
    responses={
        **_ERRORS,
        401: {"model": ErrorResponse, "description": "Missing or wrong X-Shopify-Hmac-Sha256"},
        413: {"model": ErrorResponse, "description": "Body larger than 256 KiB"},
    },
)
async def shopify_webhook(request: Request, settings: SettingsDep) -> WebhookAck:
    """Shopify's webhooks (``app/uninstalled``, ``shop/redact``, ``customers/redact``,
    ``customers/data_request``), authenticated by the base64 HMAC of the raw body, each body
    checked against its topic's shape. Unknown topics and repeated deliveries are acknowledged
    (Shopify retries anything but 2xx); a replay that must change nothing (an uninstall older
    than the current install, a redact for an installed shop) answers ``status: "ignored"``."""
    _, secret = oauth_flow.client_credentials(settings)
    body = await _read_body(request, limit=webhooks.MAX_WEBHOOK_BYTES)
    headers = request.headers
    webhooks.verify_webhook_hmac(
        body=body, header=headers.get("X-Shopify-Hmac-Sha256"), secret=secret
    )
    delivery = webhooks.parse_delivery(
        body=body,
        topic=headers.get("X-Shopify-Topic"),
        shop_header=headers.get("X-Shopify-Shop-Domain"),
        webhook_id=headers.get("X-Shopify-Webhook-Id"),
        triggered_at=headers.get("X-Shopify-Triggered-At"),
    )
    outcome = await run_in_threadpool(_handle, delivery=delivery)
    return WebhookAck(
        status="ignored" if outcome == "ignored" else "ok",
        topic=delivery.topic,
        duplicate=outcome == "duplicate",
    )


def _handle(*, delivery: webhooks.Delivery) -> webhooks.Outcome:
    try:
        with get_db() as session:
            return webhooks.handle_delivery(session=session, delivery=delivery)
    except SQLAlchemyError as exc:
        # 503 makes Shopify deliver again later; the transaction left nothing behind.
        logger.error(
            "webhook %s for %s not handled: %s", delivery.topic, delivery.shop, type(exc).__name__
        )
        raise StoreUnavailableError("the identity database is unavailable; retry later") from None


async def _read_body(request: Request, *, limit: int) -> bytes:
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeError(f"webhook body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"webhook body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
