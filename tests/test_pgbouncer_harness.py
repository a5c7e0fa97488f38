"""The PgBouncer harness pools the test database in transaction mode with a standard
configuration; the suite's pooler tests build on it."""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import psycopg2
import pytest

from shared.testing.pgbouncer import PgBouncerProcess


@pytest.fixture(scope="module")
def bouncer() -> Iterator[PgBouncerProcess]:
    with PgBouncerProcess() as started:
        yield started


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


async def test_select_through_pgbouncer(bouncer: PgBouncerProcess, database_url: str) -> None:
    name = _database_name(database_url)
    connection = await asyncpg.connect(bouncer.url_for(name), statement_cache_size=0)
    try:
        row = await connection.fetchrow("SELECT current_database() AS db, $1::int + 1 AS n", 41)
        assert row is not None
        assert (row["db"], row["n"]) == (name, 42)
    finally:
        await connection.close()


def test_pool_mode_is_transaction(bouncer: PgBouncerProcess) -> None:
    admin = psycopg2.connect(bouncer.url_for("pgbouncer"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SHOW CONFIG")
            config = {row[0]: row[1] for row in cursor.fetchall()}
    finally:
        admin.close()
    assert config["pool_mode"] == "transaction"
    assert config["ignore_startup_parameters"] == "extra_float_digits"


async def test_wrong_password_is_refused(bouncer: PgBouncerProcess) -> None:
    with pytest.raises(asyncpg.PostgresError):
        await asyncpg.connect(bouncer.url_for("postgres", password="wrong"))


def test_stop_removes_everything() -> None:
    started = PgBouncerProcess().start()
    directory, pid = started.directory, started.pid
    assert directory is not None
    assert directory.exists()
    assert pid is not None
    started.stop()
    assert not directory.exists()
    assert started.pid is None
