"""The bearer token: a JWT (HS256) issued by auth and verified by agents with the same code.

Claims: iss=hirecj-auth, aud=hirecj-agents, sub=user id, shop, iat, exp, jti. Verification
accepts only HS256 and requires every claim, so ``alg: none`` and tokens missing a claim fail.
During a secret rotation tokens signed with a previous secret still verify; new ones are always
signed with the current secret.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt

from shared.constants import TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER
from shared.safe_json import is_storable_text

REQUIRED_CLAIMS = ["iss", "aud", "sub", "shop", "iat", "exp", "jti"]
MAX_CLAIM_CHARS = 255


class InvalidTokenError(Exception):
    """The token is missing, malformed, expired, wrongly signed or has wrong claims."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    shop: str
    issued_at: int
    expires_at: int
    token_id: str


def issue_token(
    *, user_id: str, shop: str, secret: str, ttl_seconds: int, now: int | None = None
) -> str:
    issued_at = int(time.time()) if now is None else now
    claims = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": user_id,
        "shop": shop,
        "iat": issued_at,
        "exp": issued_at + ttl_seconds,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM)


def verify_token(token: str, *, secrets: Sequence[str], leeway_seconds: int = 0) -> TokenClaims:
    """Claims of a valid token, trying each secret (current first); else InvalidTokenError."""
    if not token or not isinstance(token, str) or len(token) > 4096:
        raise InvalidTokenError("missing or oversized token")
    last_error: Exception | None = None
    for secret in secrets:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=[TOKEN_ALGORITHM],
                audience=TOKEN_AUDIENCE,
                issuer=TOKEN_ISSUER,
                leeway=leeway_seconds,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidSignatureError as exc:
            last_error = exc
            continue
        except jwt.PyJWTError as exc:
            raise InvalidTokenError(_reason(exc)) from None
        subject, shop = claims.get("sub"), claims.get("shop")
        if not isinstance(subject, str) or not isinstance(shop, str):
            raise InvalidTokenError("token subject or shop is not a string")
        # A signed token can still carry text no database column can hold (a NUL, an unpaired
        # surrogate); it is as unusable as a forged one, so it is refused the same way.
        if not (0 < len(subject) <= MAX_CLAIM_CHARS and len(shop) <= MAX_CLAIM_CHARS) or not (
            is_storable_text(subject) and is_storable_text(shop)
        ):
            raise InvalidTokenError("token subject or shop is malformed")
        return TokenClaims(
            user_id=claims["sub"],
            shop=claims["shop"],
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            token_id=str(claims["jti"]),
        )
    raise InvalidTokenError(_reason(last_error) if last_error else "no verification secret")


def _reason(exc: Exception) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token expired"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature is invalid"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "token audience is wrong"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "token issuer is wrong"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"token lacks the {exc.claim} claim"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return "token algorithm is not allowed"
    return "token is malformed"
