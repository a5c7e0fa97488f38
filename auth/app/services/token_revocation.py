"""Revoking bearer tokens: ``users.tokens_valid_after`` (migration 010).

A token whose ``iat`` is earlier than its user's ``tokens_valid_after`` is refused by agents,
which polls for changes every couple of seconds (so a revocation takes effect within 5 s).
Auth moves it to the current time on sign-out, ``app/uninstalled`` and ``shop/redact``.

``clock_timestamp()``, not ``now()``: ``now()`` is when the transaction began, and agents reads
revocations newer than its last poll; a webhook's transaction may run a while before this
statement, which is always its last, so the stored time is as close to the commit as it can be.
``iat`` has whole seconds, so a token issued in the same second as a revocation is refused too.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.exceptions import NotAuthenticatedError, StoreUnavailableError
from app.services.identity_db import get_db
from shared.settings import token_secrets
from shared.tokens import InvalidTokenError, verify_token

logger = logging.getLogger(__name__)

_REVOKE = text("UPDATE users SET tokens_valid_after = clock_timestamp() WHERE id = :id")
# Only a token that is still valid signs out: one already revoked, or for no user, is refused.
_SIGN_OUT = text(
    "UPDATE users SET tokens_valid_after = clock_timestamp() WHERE id = :id "
    "AND (tokens_valid_after IS NULL OR tokens_valid_after <= to_timestamp(:issued_at)) "
    "RETURNING id"
)


def revoke_user_tokens(*, session: Session, user_id: str) -> None:
    """Every token issued to ``user_id`` until now is refused from now on."""
    session.execute(_REVOKE, {"id": user_id})


def sign_out(*, session: Session, user_id: str, issued_at: int) -> bool:
    """Revoke the user's tokens if the presented one (issued at ``issued_at``) is still valid."""
    revoked = session.execute(_SIGN_OUT, {"id": user_id, "issued_at": issued_at}).scalar()
    if revoked is not None:
        logger.info("sign-out of %s: every earlier token revoked", user_id)
    return revoked is not None


async def sign_out_token(*, token: str | None, settings: Settings) -> None:
    """Revoke every token of the presented token's user; NotAuthenticatedError when the token
    is missing, does not verify, or was already revoked."""
    if not token:
        raise NotAuthenticatedError("Not authenticated: send Authorization: Bearer <token>")
    try:
        claims = verify_token(token, secrets=token_secrets(settings))
    except InvalidTokenError as exc:
        raise NotAuthenticatedError(f"Invalid token: {exc}") from None
    revoked = await run_in_threadpool(
        _sign_out_in_database, user_id=claims.user_id, issued_at=claims.issued_at
    )
    if not revoked:
        raise NotAuthenticatedError("Invalid token: token has been revoked")


def _sign_out_in_database(*, user_id: str, issued_at: int) -> bool:
    try:
        with get_db() as session:
            return sign_out(session=session, user_id=user_id, issued_at=issued_at)
    except SQLAlchemyError as exc:
        logger.error("sign-out of %s failed: %s", user_id, type(exc).__name__)
        raise StoreUnavailableError(
            "the identity database is unavailable; sign out again shortly"
        ) from None
