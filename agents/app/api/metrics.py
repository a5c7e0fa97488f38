"""Prometheus scrape endpoint."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import RedisDep, SettingsDep
from app.core.metrics import render_metrics
from app.exceptions import NotAuthenticated, NotConfigured
from shared.production_surface import metrics_refusal

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(
    redis: RedisDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Prometheus text: archival health (archived, failures, batch latency, oldest due age).
    In production only with ``Authorization: Bearer $METRICS_TOKEN``."""
    refusal = metrics_refusal(settings=settings, authorization=authorization)
    if refusal is not None:
        status, detail = refusal
        raise NotConfigured(detail) if status == 503 else NotAuthenticated(detail)
    return Response(await render_metrics(redis=redis), media_type=CONTENT_TYPE_LATEST)
