"""``GET /metrics``: Prometheus text; in production only with ``Bearer $METRICS_TOKEN``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from app.api.deps import SettingsDep
from app.exceptions import NotAuthenticatedError, NotConfiguredError
from shared.http_metrics import metrics_response
from shared.production_surface import metrics_refusal

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> Response:
    refusal = metrics_refusal(settings=settings, authorization=authorization)
    if refusal is not None:
        status, detail = refusal
        raise NotConfiguredError(detail) if status == 503 else NotAuthenticatedError(detail)
    return metrics_response()
