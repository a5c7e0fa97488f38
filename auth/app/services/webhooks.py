"""Shopify's webhooks: authenticity, the topic's shape, once-only handling, and what each does.

The HMAC covers the raw body only, not the headers, so nothing in a header is believed on its
own: the body must have its topic's shape (``webhook_payloads``: a body of one topic resent
under another is refused), and the shop it names must match ``X-Shopify-Shop-Domain``. Each
delivery id is stored in the same transaction as its handling, so a repeated delivery is
acknowledged without being handled again.

Replays are also checked against what the database knows:

- ``app/uninstalled`` whose ``X-Shopify-Triggered-At`` is older than the shop's latest install
  (``merchants.installed_at``) changes nothing: it is an old uninstall, and acting on it would
  delete the token of the install that followed. The header is not signed either, so this stops
  a replay resent as captured, not one whose header was rewritten.
- ``shop/redact`` acts only on a shop whose app is uninstalled (Shopify sends it 48 hours after
  ``app/uninstalled``); for an installed shop it is logged and changes nothing.

Both answer 200 with ``status: "ignored"`` when they change nothing (Shopify retries anything
else), and record no delivery, so the genuine delivery is still handled if it comes later.

GDPR (``shop/redact``): the shop's conversations (linked by user or by merchant id), its events,
its merchant row with the access token, and the user's personal fields (email, name, Shopify id,
metadata) are deleted. The ``users`` row itself is kept with only the id and the shop's domain,
which Shopify sends us anyway: it holds no personal data, keeps the shop's deterministic id
stable if it reinstalls, and keeps foreign keys valid. Live conversations in Redis expire within
``REDIS_SESSION_TTL`` (a day by default), before the redact arrives. HireCJ stores no data about
a shop's customers, so the ``customers/*`` topics are acknowledged and recorded as events.

``app/uninstalled`` and ``shop/redact`` also revoke every bearer token issued to the shop's user
so far (``token_revocation``): a token outlives neither the install nor the shop's data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.exceptions import InvalidRequestError, InvalidSignatureError
from app.services import event_logger, token_revocation
from app.services.webhook_payloads import (
    APP_UNINSTALLED,
    CUSTOMERS_REDACT,
    SHOP_REDACT,
    AppUninstalled,
    CustomersDataRequest,
    CustomersRedact,
    WebhookPayload,
    validate_payload,
)
from shared.ids import InvalidShopError, merchant_id_for_shop, normalize_shop
from shared.safe_json import UnsafeJsonError, loads_checked

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
# Shopify's payloads are a few levels deep at most (the shop object, a customer, id lists).
MAX_WEBHOOK_DEPTH = 16
_TOPIC = re.compile(r"^[a-z0-9_]+/[a-z0-9_]+$")
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9._:-]{1,255}$")


def verify_webhook_hmac(*, body: bytes, header: str | None, secret: str) -> None:
    if not header:
        raise InvalidSignatureError("missing X-Shopify-Hmac-Sha256 header")
    try:
        received = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignatureError("X-Shopify-Hmac-Sha256 is not base64") from None
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, received):
        raise InvalidSignatureError("X-Shopify-Hmac-Sha256 does not match the body")


@dataclass(frozen=True)
class Delivery:
    """An authenticated, well-formed delivery: what ``handle_delivery`` acts on."""

    topic: str
    shop: str
    webhook_id: str | None
    # The topic's model; None for a topic HireCJ does not handle (acknowledged, nothing done).
    payload: WebhookPayload | None
    triggered_at: datetime | None = None


Outcome = Literal["handled", "duplicate", "ignored"]


def parse_delivery(
    *,
    body: bytes,
    topic: str | None,
    shop_header: str | None,
    webhook_id: str | None,
    triggered_at: str | None = None,
) -> Delivery:
    """The delivery, its body checked against its topic's shape, or 400."""
    if not topic or not _TOPIC.fullmatch(topic):
        raise InvalidRequestError("missing or malformed X-Shopify-Topic header")
    if webhook_id is not None and not _WEBHOOK_ID.fullmatch(webhook_id):
        raise InvalidRequestError("malformed X-Shopify-Webhook-Id header")
    try:
        shop = normalize_shop(shop_header or "")
    except InvalidShopError:
        raise InvalidRequestError(
            "X-Shopify-Shop-Domain is not a name.myshopify.com shop"
        ) from None
    try:
        # Text is not checked here: no string of the body is stored but the shop, which must
        # match the header, and Shopify's ids.
        data = loads_checked(body or b"{}", max_depth=MAX_WEBHOOK_DEPTH, check_text=False)
    except UnsafeJsonError as exc:
        raise InvalidRequestError(
            "webhook body is not JSON" if exc.not_json else f"webhook body {exc}"
        ) from None
    if not isinstance(data, dict):
        raise InvalidRequestError("webhook body is not a JSON object")
    payload = validate_payload(topic, data)
    if payload is not None:
        signed_shop: Any = payload.shop_domain
    else:
        signed_shop = data.get("shop_domain") or data.get("myshopify_domain")
    if signed_shop is not None and str(signed_shop).lower() != shop:
        raise InvalidRequestError("X-Shopify-Shop-Domain does not match the signed body")
    return Delivery(
        topic=topic,
        shop=shop,
        webhook_id=webhook_id,
        payload=payload,
        triggered_at=_parse_triggered_at(triggered_at),
    )


def _parse_triggered_at(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequestError("X-Shopify-Triggered-At is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def handle_delivery(*, session: Session, delivery: Delivery) -> Outcome:
    """Handle one delivery: "duplicate" when this webhook id was already handled, "ignored"
    when it is a replay that must change nothing (then no delivery is recorded either)."""
    topic, shop, webhook_id = delivery.topic, delivery.shop, delivery.webhook_id
    merchant = session.execute(
        text(
            "SELECT installed_at, uninstalled_at FROM merchants WHERE shop_domain = :shop "
            "FOR UPDATE"
        ),
        {"shop": shop},
    ).one_or_none()
    if topic == APP_UNINSTALLED and merchant is not None and delivery.triggered_at is not None:
        if delivery.triggered_at < merchant.installed_at:
            logger.warning(
                "app/uninstalled for %s triggered at %s, before the install of %s: ignored",
                shop,
                delivery.triggered_at.isoformat(),
                merchant.installed_at.isoformat(),
            )
            return "ignored"
    if topic == SHOP_REDACT and merchant is not None and merchant.uninstalled_at is None:
        logger.warning("shop/redact for %s, whose app is installed: ignored, nothing erased", shop)
        return "ignored"
    if webhook_id is not None:
        fresh = session.execute(
            text(
                "INSERT INTO shopify_webhook_deliveries (webhook_id, topic, shop_domain) "
                "VALUES (:id, :topic, :shop) ON CONFLICT DO NOTHING RETURNING webhook_id"
            ),
            {"id": webhook_id, "topic": topic, "shop": shop},
        ).scalar()
        if fresh is None:
            logger.info("webhook %s (%s) for %s already handled", webhook_id, topic, shop)
            return "duplicate"
    user_id = session.execute(
        text("SELECT id FROM users WHERE shop_domain = :shop"), {"shop": shop}
    ).scalar_one_or_none()
    payload = delivery.payload
    if isinstance(payload, AppUninstalled):
        _uninstall(session=session, shop=shop, user_id=user_id)
    elif isinstance(payload, (CustomersRedact, CustomersDataRequest)):
        _customer_request(
            session=session,
            topic=topic,
            shop=shop,
            user_id=user_id,
            payload=payload,
            webhook_id=webhook_id,
        )
    elif topic == SHOP_REDACT:
        _redact_shop(session=session, shop=shop, user_id=user_id)
    else:
        logger.warning("webhook topic %s for %s is not handled; acknowledged", topic, shop)
    return "handled"


def _customer_request(
    *,
    session: Session,
    topic: str,
    shop: str,
    user_id: str | None,
    payload: CustomersRedact | CustomersDataRequest,
    webhook_id: str | None,
) -> None:
    event_type = (
        event_logger.CUSTOMERS_REDACT
        if topic == CUSTOMERS_REDACT
        else event_logger.CUSTOMERS_DATA_REQUEST
    )
    # No customer data is stored, so there is nothing to erase or export; the request is
    # recorded by Shopify's ids only (no email or phone).
    event_logger.log_user_event(
        session=session,
        user_id=user_id,
        event_type=event_type,
        event_data={"shop": shop, "customer_id": payload.customer.id, "webhook_id": webhook_id},
    )
    logger.info("%s for %s acknowledged: no customer data is stored", topic, shop)


def _uninstall(*, session: Session, shop: str, user_id: str | None) -> None:
    session.execute(
        text(
            "UPDATE merchants SET access_token_encrypted = NULL, uninstalled_at = NOW(), "
            "updated_at = NOW() WHERE shop_domain = :shop"
        ),
        {"shop": shop},
    )
    event_logger.log_user_event(
        session=session,
        user_id=user_id,
        event_type=event_logger.APP_UNINSTALLED,
        event_data={"shop": shop},
    )
    if user_id is not None:
        token_revocation.revoke_user_tokens(session=session, user_id=user_id)
    logger.info("app uninstalled from %s: access token deleted, bearer tokens revoked", shop)


def _redact_shop(*, session: Session, shop: str, user_id: str | None) -> None:
    params = {"shop": shop, "user_id": user_id, "merchant_id": merchant_id_for_shop(shop)}
    session.execute(
        text("DELETE FROM conversations WHERE user_id = :user_id OR merchant_id = :merchant_id"),
        params,
    )
    # events_archive holds the same kind of rows once maintenance has moved them out of events.
    for table in ("events", "events_archive"):
        session.execute(text(f"DELETE FROM {table} WHERE user_id = :user_id"), params)
        session.execute(
            text(f"DELETE FROM {table} WHERE user_id IS NULL AND event_data->>'shop' = :shop"),
            params,
        )
    session.execute(text("DELETE FROM merchants WHERE shop_domain = :shop"), params)
    session.execute(
        text(
            "UPDATE users SET email = NULL, name = NULL, shopify_id = NULL, "
            "metadata = '{}'::jsonb WHERE shop_domain = :shop"
        ),
        params,
    )
    if user_id is not None:
        token_revocation.revoke_user_tokens(session=session, user_id=user_id)
    logger.info("shop/redact for %s: conversations, events and personal fields deleted", shop)
