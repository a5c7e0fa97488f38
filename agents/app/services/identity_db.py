"""The identity database for the agents service: engine, ``get_db``, a health probe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from shared.db import IdentityDatabase, check_connection

_database = IdentityDatabase(get_settings)


def get_engine() -> Engine:
    return _database.engine


@contextmanager
def get_db() -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises."""
    with _database.session() as session:
        yield session


def test_connection(engine: Engine | None = None) -> bool:  # noqa: PT028 (the guide names it)
    """True when the identity database answers; False (and the reason logged) otherwise."""
    return check_connection(engine if engine is not None else get_engine())


def dispose_engine() -> None:
    _database.dispose()


# Keeps pytest from collecting the guide's name as a test when a test module imports it.
test_connection.__test__ = False  # type: ignore[attr-defined]
