"""Bearer authentication for the agents HTTP API: who is calling, from the JWT auth issued."""

from __future__ import annotations

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


def authenticate(credentials: HTTPAuthorizationCredentials | None) -> TokenClaims:
    """The verified claims of a bearer credential, or a 401 HTTPException."""
    if credentials is None or not credentials.credentials:
        raise _unauthorized("Not authenticated: send Authorization: Bearer <token>")
    try:
        # get_settings() is cached; called here rather than as a (sync, thread-pooled) dependency.
        return verify_token(credentials.credentials, secrets=token_secrets(get_settings()))
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
