"""What a production service shows beyond its API: the OpenAPI pages and ``/metrics``.

The OpenAPI document lists every route and parameter, and ``/metrics`` carries business figures
(users, new users, table sizes), so in production the first is off unless ``DOCS_ENABLED=true``
and the second needs ``Authorization: Bearer $METRICS_TOKEN``. Outside production both stay open,
as a developer expects.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from shared.settings import ServiceSettings


def docs_urls(settings: ServiceSettings) -> dict[str, Any]:
    """FastAPI's ``docs_url``/``redoc_url``/``openapi_url``: the defaults, or None (404)."""
    if settings.docs_served:
        return {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def metrics_refusal(
    *, settings: ServiceSettings, authorization: str | None
) -> tuple[int, str] | None:
    """Why a scrape is refused, as (status, detail), or None when it may have the metrics."""
    if settings.environment != "production":
        return None
    expected = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    if not expected:
        return 503, "metrics are disabled: set METRICS_TOKEN to scrape them in production"
    scheme, _, credential = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return 401, "metrics need Authorization: Bearer <METRICS_TOKEN>"
    if not hmac.compare_digest(credential.strip().encode(), expected.encode()):
        return 401, "wrong metrics token"
    return None


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL (FRONTEND_URL's origin, as a browser sends it)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
