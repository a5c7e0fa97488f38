"""Request counts and latencies for ``/metrics``, labelled by route template (never raw paths).

Raw paths contain user and conversation ids; labelling by them would grow the series without
bound, so the label is the matched route's template (``/api/v1/users/{user_id}/profile``).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "hirecj_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "hirecj_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def _route_template(scope: Scope) -> str:
    """The matched path with each parameter's value put back as ``{name}``.

    Rebuilt from the request path, not read from the route object, because a router included
    with a prefix may be matched as a sub-application whose route knows only its own part.
    """
    if scope.get("route") is None:
        return "unmatched"
    path = str(scope.get("path", ""))
    for name, value in (scope.get("path_params") or {}).items():
        if value:
            path = path.replace(str(value), "{" + name + "}", 1)
    return path


class HttpMetricsMiddleware:
    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            template = _route_template(scope)
            method = scope.get("method", "-")
            REQUESTS.labels(self.service, method, template, str(status["code"])).inc()
            LATENCY.labels(self.service, method, template).observe(time.perf_counter() - started)


def metrics_response() -> Response:
    """Prometheus text of the process's default registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
