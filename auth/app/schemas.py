"""Response bodies of the auth service's JSON endpoints (they become the OpenAPI schema)."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorResponse(BaseModel):
    detail: str


class WebhookAck(BaseModel):
    status: str = "ok"
    topic: str
    duplicate: bool = False
