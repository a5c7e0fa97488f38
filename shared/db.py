"""Engines and sessions for the identity database, built the same way by every service.

Local URLs get a connection pool (a long-lived process reuses connections); remote ones, such as
Heroku Postgres, get ``NullPool`` with TLS required and a connect timeout, as the design guide
says: many dynos each holding a pool would exhaust the plan's connection limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from shared.errors import first_line
from shared.settings import ServiceSettings

logger = logging.getLogger(__name__)

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", ""})


def sqlalchemy_url(url: str, driver: str = "psycopg2") -> str:
    """Name the driver: SQLAlchemy 2.1 would otherwise pick psycopg 3, which is not installed."""
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+{driver}{sep}{rest}"
    return url


def is_local_database(url: str) -> bool:
    host = make_url(url).host or ""
    return host in LOCAL_HOSTS


def create_identity_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 10, connect_timeout: int = 10
) -> Engine:
    url = sqlalchemy_url(url)
    if is_local_database(url):
        return create_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_pre_ping=True,
            connect_args={"connect_timeout": connect_timeout},
        )
    parsed = make_url(url)
    connect_args: dict[str, object] = {"connect_timeout": connect_timeout}
    if "sslmode" not in parsed.query:
        connect_args["sslmode"] = "require"
    return create_engine(url, poolclass=NullPool, connect_args=connect_args)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Commit on success, roll back on any error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


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

    def __init__(self, settings: Callable[[], ServiceSettings]) -> None:
        self._settings = settings
        self._engine: Engine | None = None
        self._factory: sessionmaker[Session] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            settings = self._settings()
            self._engine = create_identity_engine(
                settings.identity_database_url,
                pool_size=settings.identity_db_pool_size,
                max_overflow=settings.identity_db_max_overflow,
                connect_timeout=settings.identity_db_connect_timeout,
            )
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self._factory is None:
            self._factory = make_session_factory(self.engine)
        with session_scope(self._factory) as session:
            yield session

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._factory = None
