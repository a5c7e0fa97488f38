"""The auth service's error family, mapped to HTTP in one place (``exception_handlers.py``).

Every failure a client can cause is one of these, with a reason a person can act on. The
handler turns it into ``{"detail": reason}`` with the class's status code.
"""

from __future__ import annotations


class AuthServiceError(Exception):
    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequestError(AuthServiceError):
    """A parameter is missing, malformed, stale or forged (400)."""

    status_code = 400


class InvalidSignatureError(AuthServiceError):
    """A webhook's HMAC is missing or wrong (401)."""

    status_code = 401


class NotAuthenticatedError(AuthServiceError):
    """A bearer token is missing, does not verify, or was revoked (401, with the challenge)."""

    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class PayloadTooLargeError(AuthServiceError):
    status_code = 413


class RateLimitedError(AuthServiceError):
    """Too many requests from one address (429); ``Retry-After`` says when to try again."""

    status_code = 429

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after_seconds)}


class UpstreamError(AuthServiceError):
    """Shopify did not complete a request we depend on (502)."""

    status_code = 502


class NotConfiguredError(AuthServiceError):
    """A setting the request needs is unset (503); the detail names the variable."""

    status_code = 503


class StoreUnavailableError(AuthServiceError):
    """Redis or PostgreSQL did not answer (503); nothing was changed."""

    status_code = 503
