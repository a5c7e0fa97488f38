"""One handler turns the service's error family into JSON responses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.exceptions import AuthServiceError

logger = logging.getLogger(__name__)


async def auth_service_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AuthServiceError)
    # Path only: a callback's query carries the code and HMAC, which stay out of logs.
    logger.info("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, exc.detail)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AuthServiceError, auth_service_error_handler)
