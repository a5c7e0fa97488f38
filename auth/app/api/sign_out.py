"""``POST /api/v1/sign-out``: end every session of the token's user, on every device."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api.deps import SettingsDep
from app.schemas import ErrorResponse
from app.services import token_revocation

router = APIRouter(prefix="/api/v1", tags=["session"])
# auto_error=False: a missing token is our own 401 with WWW-Authenticate, not FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="BearerToken", bearerFormat="JWT")


@router.post(
    "/sign-out",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        401: {"model": ErrorResponse, "description": "Missing, invalid or already revoked token"},
        503: {"model": ErrorResponse, "description": "The identity database is unavailable"},
    },
)
async def sign_out(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Response:
    """Revoke every bearer token issued to this token's user until now: the history API and
    the chat refuse them within a few seconds. Signing in again issues a new one."""
    await token_revocation.sign_out_token(
        token=credentials.credentials if credentials else None, settings=settings
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
