"""Fixtures for the history API tests: the real app with its lifespan running, and a clean
database holding two users."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from history_factories import USER_A, USER_B, create_user
from sqlalchemy import Engine


@pytest.fixture
def users(clean_database: Engine) -> Engine:
    """A clean database holding two users, A and B."""
    create_user(clean_database, USER_A, email="a@example.com", name="Shop A")
    create_user(clean_database, USER_B)
    return clean_database


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on a fresh app whose lifespan (engines, Redis) is running."""
    # Imported here, not at the top: `pytest tests/history` loads this conftest before the test
    # plugin points the settings at the test database, and importing app.main builds the
    # module-level app, which reads (and caches) the settings.
    from app.main import create_app

    app = create_app()
    # The app's whole lifespan: the pool, Redis, the session manager and the responder.
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
