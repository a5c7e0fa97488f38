"""Apply ``NNN_name.sql`` migrations exactly once, in order, safely from several processes.

Each applied file is recorded with its SHA-256 in ``schema_migrations``; a file that changed
after it was applied is refused rather than silently skipped or re-run. A session-level
advisory lock serialises runners (two Heroku apps releasing at once): the second one waits,
then finds everything applied. Each file runs in its own transaction with its record, so a
failing migration leaves neither its changes nor a record behind.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import psycopg2.extensions

from shared.errors import first_line
from shared.postgres import plan_for_url

logger = logging.getLogger(__name__)

# Any constant works; this one spells "hirecjmg" so it is recognisable in pg_locks.
ADVISORY_LOCK_KEY = 0x6869726563_6A6D67
MIGRATION_NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    checksum CHAR(64) NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
)
"""


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Migration:
    name: str
    path: Path
    sql: str
    checksum: str

    @classmethod
    def from_path(cls, path: Path) -> Migration:
        try:
            sql = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise MigrationError(f"cannot read migration {path}: {exc.strerror}") from None
        return cls(path.name, path, sql, hashlib.sha256(sql.encode()).hexdigest())


def discover(directory: Path) -> list[Migration]:
    """Every ``NNN_name.sql`` in ``directory``, in order; other files are ignored."""
    paths = sorted(p for p in directory.iterdir() if MIGRATION_NAME.match(p.name))
    numbers = [p.name[:3] for p in paths]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    if duplicates:
        raise MigrationError(f"two migrations share the number(s) {', '.join(duplicates)}")
    return [Migration.from_path(p) for p in paths]


def _connect(url: str) -> psycopg2.extensions.connection:
    try:
        plan = plan_for_url(url, application_name="hirecj-migrations")
        return psycopg2.connect(plan.url, **plan.libpq_options())
    except psycopg2.OperationalError as exc:
        raise MigrationError(f"cannot connect to the database: {first_line(exc)}") from None


def _applied(connection: psycopg2.extensions.connection) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, checksum FROM schema_migrations")
        return {name: checksum.strip() for name, checksum in cursor.fetchall()}


def _apply_one(connection: psycopg2.extensions.connection, migration: Migration) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(migration.sql)
            cursor.execute(
                "INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                (migration.name, migration.checksum),
            )
        connection.commit()
    except psycopg2.Error as exc:
        connection.rollback()
        detail = (exc.pgerror or str(exc)).strip()
        raise MigrationError(f"{migration.name} failed and was rolled back: {detail}") from None


def apply_migrations(url: str, migrations: list[Migration]) -> list[str]:
    """Apply the pending ones among ``migrations``; return the names applied now."""
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            # A migration may take long: the role's default statement timeout (011) is for
            # requests, not for this session.
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
            cursor.execute(_CREATE_TABLE)
        connection.commit()
        applied = _applied(connection)
        for migration in migrations:
            recorded = applied.get(migration.name)
            if recorded is not None and recorded != migration.checksum:
                raise MigrationError(
                    f"{migration.name} was changed after it was applied "
                    f"(recorded checksum {recorded[:12]}…, file now {migration.checksum[:12]}…); "
                    "add a new migration instead of editing an applied one"
                )
        done = []
        for migration in migrations:
            if migration.name in applied:
                continue
            _apply_one(connection, migration)
            logger.info("applied migration %s", migration.name)
            done.append(migration.name)
        return done
    finally:
        connection.close()


def migrate_directory(url: str, directory: Path) -> list[str]:
    return apply_migrations(url, discover(directory))
