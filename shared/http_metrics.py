"""Request counts and latencies for ``/metrics``, labelled by route template (never raw paths).

Raw paths contain user and conversation ids; labelling by them would grow the series without
bound, so the label is the matched route's template (``/api/v1/users/{user_id}/profile``).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import Scope

REQUESTS = Counter(
    "hirecj_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "hirecj_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/users/{user_id}/profile``).

    Starlette records the matched route in the scope. A router FastAPI included with a prefix
    is matched as a branch whose route knows only its own part (``/users/{user_id}/profile``),
    so the literal prefix is the part of the request path before the suffix that this route's
    own pattern matches; parameter values never take part, so none can be mistaken for it.
    """
    route = scope.get("route")
    template = getattr(route, "path", None)
    pattern = getattr(route, "path_regex", None)
    if not isinstance(template, str):
        return "unmatched"
    path = str(scope.get("path", ""))
    if pattern is None or pattern.fullmatch(path):
        return template
    for index, char in enumerate(path):
        if char == "/" and pattern.fullmatch(path[index:]):
            return path[:index] + template
    return template


_Instruments = tuple[Any, Any]
# labels() takes a lock and builds a key on every call; the children are looked up once per
# (service, method, route, status). Bounded: routes are templates and methods a fixed set.
_instruments: dict[tuple[str, str, str, int], _Instruments] = {}


def request_instruments(service: str, method: str, route: str, status: int) -> _Instruments:
    """The request counter and latency histogram children for these labels."""
    key = (service, method, route, status)
    found = _instruments.get(key)
    if found is None:
        found = (
            REQUESTS.labels(service, method, route, str(status)),
            LATENCY.labels(service, method, route),
        )
        _instruments[key] = found
    return found


def metrics_response() -> Response:
    """Prometheus text of the process's default registry."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
