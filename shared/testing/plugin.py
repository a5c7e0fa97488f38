"""A pytest plugin every suite loads (``pytest_plugins = ["shared.testing.plugin"]``).

At start-up, before any service module is imported, it points the process at private stores:
a fresh PostgreSQL database built by the real migrations and dropped at the end, and a Redis
database number claimed for this run alone, so runs never touch development data or each other.

With ``HIRECJ_TEST_STACK=scaled`` the same suites run on what production grows into: a Redis
Cluster of 3 masters and a PgBouncer in transaction mode in front of the test database, both
started here as processes (``REDIS_CLUSTER=true``; ``IDENTITY_DATABASE_URL`` through the pooler,
``IDENTITY_DATABASE_DIRECT_URL`` straight to PostgreSQL). Tests that need one plain Redis node
or a direct connection by their nature are marked ``single_node`` and skipped there, and the
few slow ones whose subject no store's topology changes (parsing a fuzzed frame) are marked
``stack_independent`` and run once.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
import redis
from redis.cluster import RedisCluster
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from shared.db import sqlalchemy_url
from shared.migrations import migrate_directory
from shared.postgres import libpq_url
from shared.testing.pgbouncer import PgBouncerProcess
from shared.testing.redis_cluster import RedisClusterProcess
from shared.testing.stack import SCALED

REPO_DIR = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = REPO_DIR / "agents" / "app" / "migrations"
ADMIN_URL = os.environ.get(
    "HIRECJ_TEST_ADMIN_URL", "postgresql://hirecj:hirecj_dev_password@127.0.0.1:5435/postgres"
)
# The project's Redis (scripts/dev_services.sh starts it with AOF, as production should run).
REDIS_BASE_URL = os.environ.get("HIRECJ_TEST_REDIS_URL", "redis://127.0.0.1:6380").rstrip("/")
CLAIM_PREFIX = "hirecj:test-claim:"

CLAIM_SECONDS = 4 * 3600


class _Stores:
    database_name: str = ""
    database_url: str = ""
    redis_db: int = -1
    claim_token: str = ""
    redis_url: str = ""
    cluster: RedisClusterProcess | None = None
    bouncer: PgBouncerProcess | None = None


STORES = _Stores()


def _admin_execute(sql: str) -> None:
    connection = psycopg2.connect(libpq_url(ADMIN_URL), connect_timeout=10)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def create_database(name: str, *, migrate: bool = True) -> str:
    """Create database ``name`` on the test cluster (migrated unless told not to); its URL."""
    _admin_execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    if migrate:
        migrate_directory(url, MIGRATIONS_DIR)
    return url


def drop_database(name: str) -> None:
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _claim_redis_db() -> tuple[int, str]:
    admin = redis.Redis.from_url(f"{REDIS_BASE_URL}/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        for number in range(15, 0, -1):
            if admin.set(f"{CLAIM_PREFIX}{number}", token, nx=True, ex=CLAIM_SECONDS):
                return number, token
    finally:
        admin.close()
    raise pytest.UsageError("every Redis database 1-15 is claimed by another test run")


def _release_redis_db(number: int, token: str) -> None:
    admin = redis.Redis.from_url(f"{REDIS_BASE_URL}/0")
    try:
        if admin.get(f"{CLAIM_PREFIX}{number}") == token.encode():
            admin.delete(f"{CLAIM_PREFIX}{number}")
    finally:
        admin.close()


def _start_scaled_stack(database_name: str) -> dict[str, str]:
    admin = urlsplit(ADMIN_URL)
    STORES.cluster = RedisClusterProcess(masters=3, appendonly=True).start()
    STORES.bouncer = PgBouncerProcess(
        server_host=admin.hostname or "127.0.0.1",
        server_port=admin.port or 5432,
        user=admin.username or "hirecj",
        password=admin.password or "",
    ).start()
    STORES.redis_url = STORES.cluster.url
    return {
        "REDIS_URL": STORES.cluster.url,
        "REDIS_CLUSTER": "true",
        "IDENTITY_DATABASE_URL": STORES.bouncer.url_for(database_name),
        "IDENTITY_DATABASE_DIRECT_URL": STORES.database_url,
    }


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "single_node: needs one plain Redis node or a direct PostgreSQL connection"
    )
    config.addinivalue_line(
        "markers",
        "stack_independent: what it tests does not depend on the stores' topology (the scaled "
        "run skips it to stay within CI's time)",
    )
    if STORES.database_name:
        return
    STORES.database_name = f"hirecj_test_{uuid.uuid4().hex[:10]}"
    try:
        STORES.database_url = create_database(STORES.database_name)
    except psycopg2.OperationalError as exc:
        raise pytest.UsageError(
            f"test PostgreSQL at {ADMIN_URL.split('@')[-1]} is unreachable ({exc}); "
            "run scripts/dev_services.sh (make test does)"
        ) from None
    if SCALED:
        stores = _start_scaled_stack(STORES.database_name)
    else:
        STORES.redis_db, STORES.claim_token = _claim_redis_db()
        STORES.redis_url = f"{REDIS_BASE_URL}/{STORES.redis_db}"
        redis.Redis.from_url(STORES.redis_url).flushdb()
        stores = {"IDENTITY_DATABASE_URL": STORES.database_url, "REDIS_URL": STORES.redis_url}
    for name in ("IDENTITY_DATABASE_DIRECT_URL", "REDIS_CLUSTER"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            **stores,
            "ENVIRONMENT": "test",
            "IDENTITY_TOKEN_SECRET": "test-" + secrets.token_hex(32),
            "TOKEN_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ARCHIVER_ENABLED": "false",
            "LOG_FORMAT": "text",
        }
    )
    for name in ("DATABASE_URL", "LLM_API_KEY", "SHOPIFY_CLIENT_ID", "SHOPIFY_CLIENT_SECRET"):
        os.environ.pop(name, None)
    # A conftest that imported a service before this hook ran may have cached settings read
    # from the developer's environment; forget them so every later read sees the private stores.
    config_module = sys.modules.get("app.config")
    cached = getattr(config_module, "get_settings", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not SCALED:
        return
    single = pytest.mark.skip(reason="needs one plain Redis node or a direct PostgreSQL connection")
    independent = pytest.mark.skip(reason="does not depend on the stores' topology; run once")
    for item in items:
        if item.get_closest_marker("single_node"):
            item.add_marker(single)
        elif item.get_closest_marker("stack_independent"):
            item.add_marker(independent)


def pytest_unconfigure() -> None:
    for process in (STORES.cluster, STORES.bouncer):
        if process is not None:
            process.stop()
    if STORES.redis_db >= 0:
        redis.Redis.from_url(f"{REDIS_BASE_URL}/{STORES.redis_db}").flushdb()
        _release_redis_db(STORES.redis_db, STORES.claim_token)
    if STORES.database_name:
        drop_database(STORES.database_name)


@pytest.fixture(scope="session")
def database_url() -> str:
    return STORES.database_url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return STORES.redis_url


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sqlalchemy_url(database_url))
    yield engine
    engine.dispose()


def _app_tables(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'schema_migrations' ORDER BY tablename"
            )
        )
        return [row[0] for row in rows]


@pytest.fixture
def clean_database(db_engine: Engine) -> Engine:
    """Empty every application table before the test (migrations stay applied)."""
    tables = _app_tables(db_engine)
    if not tables:
        return db_engine
    statement = text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    for attempt in range(5):
        try:
            with db_engine.begin() as connection:
                connection.execute(statement)
            return db_engine
        except OperationalError:
            # A statement a previous test left running (a background task winding down) can
            # deadlock with TRUNCATE's exclusive locks; PostgreSQL aborts one side, so retry.
            if attempt == 4:
                raise
            time.sleep(0.2 * (attempt + 1))
    return db_engine


class WholeClusterClient(RedisCluster):
    """A cluster client whose ``dbsize``/``keys`` count every primary, as assertions written
    for one node mean (redis-py's cluster client asks one node unless told otherwise)."""

    def dbsize(self, **kwargs: Any) -> Any:
        return super().dbsize(target_nodes=RedisCluster.PRIMARIES)

    def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
        return super().keys(pattern, target_nodes=RedisCluster.PRIMARIES)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A synchronous client on this run's Redis (database or cluster), emptied before the test."""
    client: redis.Redis = (
        WholeClusterClient.from_url(redis_url, decode_responses=True)  # type: ignore[assignment]
        if SCALED
        else redis.Redis.from_url(redis_url, decode_responses=True)
    )
    client.flushdb()
    yield client
    client.close()
