"""Bearer authentication for the agents HTTP API: who is calling, from the JWT auth issued."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import get_settings
from shared.settings import token_secrets
from shared.tokens import InvalidTokenError, TokenClaims, verify_token

# auto_error=False: FastAPI's own error would be a 403 without WWW-Authenticate; every missing or
# bad credential here is a 401 that tells the client to authenticate with a bearer token.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="The token the auth service issued at the end of the Shopify OAuth.",
)

CHALLENGE = {"WWW-Authenticate": "Bearer"}


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers=CHALLENGE)


# Verifying a JWT costs ~100 us of CPU in PyJWT (a quarter of a history request), and a client
# sends the same token with every request until it expires. A token string that verified once
# stays valid until its exp (nothing else about it can change: it is signed, and the service
# keeps no revocation list), so its claims are remembered, keyed by the exact token and the
# secrets that verified it, and exp is checked again on every use. Only tokens that verified are
# kept, so garbage cannot fill the cache; it is bounded, least recently used out first.
VERIFIED_TOKENS_MAX = 4096
_verified_tokens: OrderedDict[str, tuple[tuple[str, ...], TokenClaims]] = OrderedDict()


def _verified_claims(token: str) -> TokenClaims:
    # get_settings() is cached; called here rather than as a (sync, thread-pooled) dependency.
    secrets = tuple(token_secrets(get_settings()))
    known = _verified_tokens.get(token)
    if known is not None and known[0] == secrets:
        claims = known[1]
        # The same rule as PyJWT's (no leeway): expired once now reaches exp.
        if claims.expires_at > time.time():
            _verified_tokens.move_to_end(token)
            return claims
        del _verified_tokens[token]
        raise InvalidTokenError("token expired")
    claims = verify_token(token, secrets=secrets)
    _verified_tokens[token] = (secrets, claims)
    if len(_verified_tokens) > VERIFIED_TOKENS_MAX:
        _verified_tokens.popitem(last=False)
    return claims


def authenticate(credentials: HTTPAuthorizationCredentials | None) -> TokenClaims:
    """The verified claims of a bearer credential, or a 401 HTTPException."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("Not authenticated: send Authorization: Bearer <token>")
    try:
        return _verified_claims(credentials.credentials)
    except InvalidTokenError as exc:
        # The reason ("token expired", ...) names no part of the token itself.
        raise _unauthorized(f"Invalid token: {exc}") from None


# async on purpose: verifying an HS256 token is a few microseconds of CPU, far cheaper than the
# thread-pool hop FastAPI would make for a sync dependency on every request.
async def get_current_user(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> TokenClaims:
    """The verified claims of the request's bearer token, or a 401."""
    return authenticate(credentials)


CurrentUser = Annotated[TokenClaims, Depends(get_current_user)]
