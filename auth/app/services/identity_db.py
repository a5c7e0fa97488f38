"""The identity database for the auth service (same engine rules as agents, from ``shared.db``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app.config import get_settings
from shared.db import IdentityDatabase, check_connection

_database = IdentityDatabase(get_settings, application_name="hirecj-auth")


def get_engine() -> Engine:
    return _database.engine


@contextmanager
def get_db() -> Iterator[Session]:
    with _database.session() as session:
        yield session


def database_ok() -> bool:
    return check_connection(get_engine())


def dispose_engine() -> None:
    _database.dispose()
