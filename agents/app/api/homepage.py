"""Serve the homepage's production build from the agents app (one origin for chat, WS, history).

Hashed files under ``/assets/`` never change, so browsers may keep them for a year; every other
path falls back to ``index.html`` (the SPA's router decides), which must always be revalidated
so a deploy is picked up at once. API-looking paths never fall back: an unknown API path stays 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from app.exceptions import NotFoundError

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_SPA_PREFIXES = ("api/", "ws/", "health", "metrics", "docs", "redoc", "openapi.json")


def homepage_router(dist_dir: Path) -> APIRouter:
    root = dist_dir.resolve()
    index = root / "index.html"
    router = APIRouter(include_in_schema=False)

    @router.get("/{path:path}")
    def homepage(path: str) -> FileResponse:
        if path.startswith(NOT_SPA_PREFIXES):
            raise NotFoundError("Not Found")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = IMMUTABLE if path.startswith("assets/") else REVALIDATE
            return FileResponse(candidate, headers={"Cache-Control": cache})
        if path.startswith("assets/"):
            raise NotFoundError("Not Found")
        return FileResponse(index, headers={"Cache-Control": REVALIDATE})

    return router
