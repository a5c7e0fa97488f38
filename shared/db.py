"""The auth service's SQLAlchemy engine and sessions (agents uses asyncpg; see shared.postgres).

TLS and timeouts come from ``shared.postgres.database_plan``. A local database gets a
connection pool (a long-lived process reuses connections); a remote one, such as Heroku
Postgres, ``NullPool``, as the design guide says: many dynos each holding a pool would exhaust
the plan's connection limit, and the auth service connects rarely (installs and webhooks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from shared.errors import first_line
from shared.postgres import DatabasePlan, database_plan, is_local_database
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)


def sqlalchemy_url(url: str, driver: str = "psycopg2") -> str:
    """Name the driver: SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+{driver}{sep}{rest}"
    return url


def create_identity_engine(plan: DatabasePlan, *, max_overflow: int = 10) -> Engine:
    url = sqlalchemy_url(plan.url)
    connect_args = plan.libpq_options()
    if is_local_database(plan.url):
        return create_engine(
            url,
            pool_size=plan.pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            connect_args=connect_args,
        )
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def check_connection(engine: Engine) -> bool:
    """True when ``SELECT 1`` answers; otherwise False, with the reason logged (no password)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except (SQLAlchemyError, OSError) as exc:
        logger.error(
            "identity database unreachable at %s: %s",
            engine.url.render_as_string(hide_password=True),
            first_line(exc),
        )
        return False


class IdentityDatabase:
    """One service's engine and session factory, created on first use and disposable.

    Lazy so that importing a service module never opens a connection or reads settings early
    (tests set the environment first), and disposable so a lifespan can release the pool.
    """

    def __init__(self, settings: Callable[[], ServiceSettings], *, application_name: str) -> None:
        self._settings = settings
        self._application_name = application_name
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            settings = self._settings()
            plan = database_plan(settings, application_name=self._application_name)
            self._engine = create_identity_engine(
                plan, max_overflow=settings.identity_db_max_overflow
            )
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commit on success, roll back on any error, always close."""
        if self._factory is None:
            self._factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        session = self._factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._factory = None
