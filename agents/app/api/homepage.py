"""Serve the homepage's production build from the agents app (one origin for chat, WS, history).

Hashed files under ``/assets/`` never change, so browsers may keep them for a year; every other
path falls back to ``index.html`` (the SPA's router decides), which must always be revalidated
so a deploy is picked up at once. API-looking paths never fall back: an unknown API path stays 404,
and so does a path no file can have (a NUL or an unpaired surrogate: ``/index.html%00.js``).

Every page and file carries a Content-Security-Policy that allows exactly what the built app
uses (its ``index.html`` loads one module script and one stylesheet from ``/assets/``, its icon
is a ``data:`` URI, React sets styles through the DOM, not inline attributes): scripts, styles
and fonts from this origin only, connections to this origin (its WebSocket included, named
explicitly for browsers whose ``'self'`` does not cover ``ws:``) and to the auth service (sign
out), and no framing.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.exceptions import NotFoundError
from shared.production_surface import origin_of
from shared.safe_json import is_storable_text

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_SPA_PREFIXES = ("api/", "ws/", "health", "metrics", "docs", "redoc", "openapi.json")


def content_security_policy(*, request: Request, auth_public_url: str) -> str:
    websocket_scheme = "wss" if request.url.scheme == "https" else "ws"
    host = request.headers.get("host", "")
    sockets = f" {websocket_scheme}://{host}" if host else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'{sockets} {origin_of(auth_public_url)}; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


def homepage_router(dist_dir: Path, *, auth_public_url: str) -> APIRouter:
    root = dist_dir.resolve()
    index = root / "index.html"
    router = APIRouter(include_in_schema=False)

    @router.get("/{path:path}")
    def homepage(path: str, request: Request) -> FileResponse:
        if path.startswith(NOT_SPA_PREFIXES) or not is_storable_text(path):
            raise NotFoundError("Not Found")
        policy = content_security_policy(request=request, auth_public_url=auth_public_url)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = IMMUTABLE if path.startswith("assets/") else REVALIDATE
            return FileResponse(
                candidate, headers={"Cache-Control": cache, "Content-Security-Policy": policy}
            )
        if path.startswith("assets/"):
            raise NotFoundError("Not Found")
        return FileResponse(
            index, headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": policy}
        )

    return router
