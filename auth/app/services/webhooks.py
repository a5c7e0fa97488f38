"""Shopify's webhooks: authenticity, once-only handling, and what each topic does.

The HMAC covers the raw body only, not the headers, so the shop the body names (when it names
one) must match ``X-Shopify-Shop-Domain``; otherwise a captured delivery could be replayed
with another shop's header. Each delivery id is stored in the same transaction as its handling,
so a repeated delivery is acknowledged without being handled again.

GDPR (``shop/redact``, sent 48 hours after an uninstall): the shop's conversations (linked by
user or by merchant id), its events, its merchant row with the access token, and the user's
personal fields (email, name, Shopify id, metadata) are deleted. The ``users`` row itself is
kept with only the id and the shop's domain, which Shopify sends us anyway: it holds no
personal data, keeps the shop's deterministic id stable if it reinstalls, and keeps foreign keys
valid. Live conversations in Redis expire within ``REDIS_SESSION_TTL`` (a day by default),
before the redact arrives. HireCJ stores no data about a shop's customers, so the
``customers/*`` topics are acknowledged and recorded as events.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.exceptions import InvalidRequestError, InvalidSignatureError
from app.services import event_logger
from shared.ids import InvalidShopError, merchant_id_for_shop, normalize_shop

logger = logging.getLogger(__name__)

MAX_WEBHOOK_BYTES = 256 * 1024
APP_UNINSTALLED = "app/uninstalled"
SHOP_REDACT = "shop/redact"
CUSTOMERS_REDACT = "customers/redact"
CUSTOMERS_DATA_REQUEST = "customers/data_request"
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


def parse_delivery(
    *, body: bytes, topic: str | None, shop_header: str | None, webhook_id: str | None
) -> tuple[str, str, dict[str, Any]]:
    """(topic, shop, payload) of an authenticated delivery, or 400."""
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
        payload = json.loads(body or b"{}")
    except ValueError:
        raise InvalidRequestError("webhook body is not JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRequestError("webhook body is not a JSON object")
    signed_shop = payload.get("shop_domain") or payload.get("myshopify_domain")
    if signed_shop is not None and str(signed_shop).lower() != shop:
        raise InvalidRequestError("X-Shopify-Shop-Domain does not match the signed body")
    return topic, shop, payload


def handle_delivery(
    *, session: Session, webhook_id: str | None, topic: str, shop: str, payload: dict[str, Any]
) -> bool:
    """Handle one delivery; False when this webhook id was already handled."""
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
            return False
    user_id = session.execute(
        text("SELECT id FROM users WHERE shop_domain = :shop"), {"shop": shop}
    ).scalar_one_or_none()
    if topic == APP_UNINSTALLED:
        _uninstall(session=session, shop=shop, user_id=user_id)
    elif topic == SHOP_REDACT:
        _redact_shop(session=session, shop=shop, user_id=user_id)
    elif topic in (CUSTOMERS_REDACT, CUSTOMERS_DATA_REQUEST):
        event_type = (
            event_logger.CUSTOMERS_REDACT
            if topic == CUSTOMERS_REDACT
            else event_logger.CUSTOMERS_DATA_REQUEST
        )
        customer = payload.get("customer")
        customer_id = customer.get("id") if isinstance(customer, dict) else None
        # No customer data is stored, so there is nothing to erase or export; the request
        # is recorded by Shopify's ids only (no email or phone).
        event_logger.log_user_event(
            session=session,
            user_id=user_id,
            event_type=event_type,
            event_data={"shop": shop, "customer_id": customer_id, "webhook_id": webhook_id},
        )
        logger.info("%s for %s acknowledged: no customer data is stored", topic, shop)
    else:
        logger.warning("webhook topic %s for %s is not handled; acknowledged", topic, shop)
    return True


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
    logger.info("app uninstalled from %s: access token deleted", shop)


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
    logger.info("shop/redact for %s: conversations, events and personal fields deleted", shop)
