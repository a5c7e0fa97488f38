"""One handler turns the service's error family into JSON responses."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.exceptions import AgentsError, InvalidInputError


async def agents_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AgentsError)
    if isinstance(exc, InvalidInputError):
        # The shape FastAPI gives every other 422, so clients parse one format.
        body: dict[str, object] = {
            "detail": [{"loc": ["query", exc.parameter], "msg": exc.detail, "type": "value_error"}]
        }
    else:
        body = {"detail": exc.detail}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentsError, agents_error_handler)
