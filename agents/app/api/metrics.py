"""Prometheus scrape endpoint."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.deps import RedisDep
from app.core.metrics import render_metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(redis: RedisDep) -> Response:
    """Prometheus text: archival health (archived, failures, batch latency, oldest due age)."""
    return Response(await render_metrics(redis=redis), media_type=CONTENT_TYPE_LATEST)
