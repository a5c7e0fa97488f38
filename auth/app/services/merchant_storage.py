"""Users and merchants in PostgreSQL, the source of truth (a Redis flush loses neither).

``shared.ids.user_id_for_shop(shop)`` is the design guide's ``usr_`` + first 8 hex of sha256(shop). Ids
are collision-safe: when that id already belongs to another shop, the next candidate takes one
more hex digit (9, 10, ... 64), so the id a shop gets is deterministic given who holds the
shorter ones, and two shops never share an id. Inserts use ``ON CONFLICT DO NOTHING``, so two
simultaneous installs of one new shop create one user. Access tokens are stored only as Fernet
ciphertext.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.services import event_logger
from app.services.shopify_client import ShopProfile
from shared.crypto import TokenCipher
from shared.ids import merchant_id_for_shop, user_id_for_shop

SHORT_ID_HEX = 8
MAX_ID_HEX = 64

_TOUCH_USER = text("UPDATE users SET last_seen = NOW() WHERE shop_domain = :shop RETURNING id")
_INSERT_USER = text(
    "INSERT INTO users (id, shop_domain) VALUES (:id, :shop) ON CONFLICT DO NOTHING RETURNING id"
)
_UPSERT_MERCHANT = text(
    """
    INSERT INTO merchants (merchant_id, shop_domain, user_id, scopes, access_token_encrypted)
    VALUES (:merchant_id, :shop, :user_id, :scopes, :token)
    ON CONFLICT (shop_domain) DO UPDATE SET
        user_id = EXCLUDED.user_id,
        scopes = EXCLUDED.scopes,
        access_token_encrypted = EXCLUDED.access_token_encrypted,
        installed_at = CASE WHEN merchants.uninstalled_at IS NULL
                            THEN merchants.installed_at ELSE NOW() END,
        uninstalled_at = NULL,
        updated_at = NOW()
    """
)
_UPDATE_PROFILE = text(
    "UPDATE users SET shopify_id = :shopify_id, name = :name, email = :email WHERE id = :id"
)


class UserIdExhaustedError(RuntimeError):
    """Every candidate id is held by another shop (not reachable with sha256 in practice)."""


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    is_new: bool


@dataclass(frozen=True)
class MerchantRecord:
    user_id: str
    merchant_id: str
    shop: str
    is_new: bool


def get_or_create_user(*, session: Session, shop: str) -> UserRecord:
    """The shop's user (``last_seen`` bumped), created on first sight."""
    existing = session.execute(_TOUCH_USER, {"shop": shop}).scalar_one_or_none()
    if existing is not None:
        return UserRecord(user_id=existing, is_new=False)
    for length in range(SHORT_ID_HEX, MAX_ID_HEX + 1):
        candidate = user_id_for_shop(shop, length)
        created = session.execute(_INSERT_USER, {"id": candidate, "shop": shop}).scalar()
        if created is not None:
            return UserRecord(user_id=created, is_new=True)
        # Nothing inserted: a concurrent install created this shop's user (the insert waited
        # for it to commit), or ``candidate`` belongs to another shop and a longer one is next.
        existing = session.execute(_TOUCH_USER, {"shop": shop}).scalar_one_or_none()
        if existing is not None:
            return UserRecord(user_id=existing, is_new=False)
    raise UserIdExhaustedError(f"no free user id for {shop}")


def store_merchant_token(
    *,
    session: Session,
    shop: str,
    access_token: str,
    scopes: list[str],
    cipher: TokenCipher,
) -> MerchantRecord:
    """Upsert the user and the merchant (token encrypted) and record the guide's events."""
    user = get_or_create_user(session=session, shop=shop)
    merchant_id = merchant_id_for_shop(shop)
    session.execute(
        _UPSERT_MERCHANT,
        {
            "merchant_id": merchant_id,
            "shop": shop,
            "user_id": user.user_id,
            "scopes": ",".join(scopes),
            "token": cipher.encrypt(access_token),
        },
    )
    if user.is_new:
        event_logger.log_user_event(
            session=session,
            user_id=user.user_id,
            event_type=event_logger.USER_CREATED,
            event_data={"shop": shop},
        )
    event_logger.log_user_event(
        session=session,
        user_id=user.user_id,
        event_type=event_logger.OAUTH_COMPLETE,
        event_data={"shop": shop, "first_time": user.is_new},
    )
    return MerchantRecord(
        user_id=user.user_id, merchant_id=merchant_id, shop=shop, is_new=user.is_new
    )


def update_user_profile(*, session: Session, user_id: str, profile: ShopProfile) -> None:
    session.execute(
        _UPDATE_PROFILE,
        {
            "id": user_id,
            "shopify_id": profile.shopify_id,
            "name": profile.name,
            "email": profile.email,
        },
    )
