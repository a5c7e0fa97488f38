"""Logging for both services: JSON lines in production, readable lines locally, request ids.

Every record carries the id of the request that produced it (from ``X-Request-ID`` when a proxy
such as Heroku's router sets one, else a fresh one), so one request's lines can be found
together. A filter scrubs anything shaped like a bearer token, a JWT or a Shopify access token
from every message, as a second line of defence behind code that never logs them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

from shared.settings import ServiceSettings

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SECRET_PATTERNS = [
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"shp(?:at|ca|pa|ss)_[A-Za-z0-9]+"),  # Shopify access tokens
    re.compile(r"(?i)(token|secret|password|access_token)=([^&\s]+)"),
]
_REDACTED = "[redacted]"
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
}


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        if pattern.groups == 2:
            text = pattern.sub(lambda m: f"{m.group(1)}={_REDACTED}", text)
        else:
            text = pattern.sub(_REDACTED, text)
    return text


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        record.service = self._service
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": getattr(record, "service", "-"),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload and not key.startswith("_"):
                payload[key] = (
                    value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
                )
        if record.exc_info:
            payload["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(payload, default=str)


def configure_logging(*, service: str, settings: ServiceSettings) -> None:
    """Install one handler on the root logger (idempotent: safe to call per app instance).

    LOG_FORMAT=auto means JSON in production and readable lines elsewhere.
    """
    fmt = settings.log_format
    use_json = fmt == "json" or (fmt == "auto" and settings.environment == "production")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if use_json
        else logging.Formatter(
            "%(asctime)s %(levelname)-7s %(service)s %(name)s [%(request_id)s] %(message)s"
        )
    )
    handler.addFilter(_ContextFilter(service))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_hirecj", False):
            root.removeHandler(existing)
    handler._hirecj = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # httpx logs every request's full URL at INFO; query strings may carry search words or codes.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # uvicorn's access log prints full URLs (query strings included); our middleware logs paths.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
