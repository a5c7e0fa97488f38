"""Dependencies of the agents routers, as ``Annotated`` aliases; bearer authentication.

Who is calling comes from the JWT the auth service issued, verified here (HS256, every claim)
and not revoked (``TokenRevocations``); ``OwnHistory`` also proves that the path's user is the
token's user.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.config import Settings, get_settings
from app.exceptions import Forbidden, NotAuthenticated
from app.services.identity_db import Pool
from app.services.session_manager import SessionManager
from app.services.token_revocations import TokenRevocations
from shared.redis_client import AnyRedis
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

# Verifying a JWT costs ~100 us of CPU in PyJWT (a quarter of a history request), and a client
# sends the same token with every request until it expires. A token string that verified once
# keeps its signature and claims (it is signed), so its claims are remembered, keyed by the exact
# token and the secrets that verified it; exp and revocation are checked again on every use, and
# a revoked token is dropped from here. Only tokens that verified are kept, so garbage cannot
# fill the cache; it is bounded, least recently used out first.
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


async def authenticate(
    credentials: HTTPAuthorizationCredentials | None, revocations: TokenRevocations
) -> TokenClaims:
    """The verified, unrevoked claims of a bearer credential, or NotAuthenticated (401)."""
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated()
    token = credentials.credentials
    try:
        claims = _verified_claims(token)
    except InvalidTokenError as exc:
        # The reason ("token expired", ...) names no part of the token itself.
        raise NotAuthenticated(f"Invalid token: {exc}") from None
    if await revocations.is_revoked(claims):
        _verified_tokens.pop(token, None)
        raise NotAuthenticated("Invalid token: token has been revoked")
    return claims


@dataclass(frozen=True)
class HistoryAccess:
    """Whose history a request may read (the path's user, proven by the token) and the pool."""

    user_id: str
    pool: Pool


# One async dependency for authentication, authorization and the pool: each dependency level
# costs FastAPI tens of microseconds per request. Measured side by side (bench/history_api.py,
# alternated, 4 rounds): split into a user-id dependency on a current-user one plus a pool
# dependency, list fell 7%, detail 6%, profile 7%; so it stays merged.
async def _history_access(
    request: Request,
    user_id: Annotated[str, Path(description="The user id, usr_XXXXXXXX")],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> HistoryAccess:
    claims = await authenticate(credentials, request.app.state.revocations)
    if claims.user_id != user_id:
        raise Forbidden()
    return HistoryAccess(user_id=user_id, pool=request.app.state.db)


# async, as every dependency here: FastAPI runs a sync dependency in the thread pool, a hop that
# costs more than reading app.state.
async def _db(request: Request) -> Pool:
    pool: Pool = request.app.state.db
    return pool


async def _redis(request: Request) -> AnyRedis:
    client: AnyRedis = request.app.state.redis
    return client


async def _chat_sessions(request: Request) -> SessionManager:
    sessions: SessionManager = request.app.state.chat_sessions
    return sessions


async def _settings() -> Settings:
    return get_settings()


OwnHistory = Annotated[HistoryAccess, Depends(_history_access)]
SettingsDep = Annotated[Settings, Depends(_settings)]
DbPool = Annotated[Pool, Depends(_db)]
RedisDep = Annotated[AnyRedis, Depends(_redis)]
ChatSessionsDep = Annotated[SessionManager, Depends(_chat_sessions)]
