"""The identity schema and the migration runner, against a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared.db import sqlalchemy_url
from shared.migrations import Migration, MigrationError, apply_migrations, discover
from shared.testing.plugin import MIGRATIONS_DIR, REPO_DIR, create_database, drop_database

RUNNER = REPO_DIR / "agents" / "scripts" / "run_migration.py"
GUIDE_INDEXES = {
    "idx_users_shop_domain",
    "idx_users_created_at",
    "idx_conversations_user_id",
    "idx_conversations_started_at",
    "idx_events_user_id",
    "idx_events_type",
    "idx_events_created_at",
}


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"hirecj_mig_{uuid.uuid4().hex[:10]}"
    url = create_database(name, migrate=False)
    yield url
    drop_database(name)


def scalar(url: str, sql: str, **params: object) -> object:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def run_runner(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(RUNNER), *args],
        cwd=RUNNER.parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_guide_tables_columns_and_seven_indexes_exist(database_url: str) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.connect() as connection:
        columns = {
            (row.table_name, row.column_name)
            for row in connection.execute(
                text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = 'public'"
                )
            )
        }
        indexes = {row[0] for row in connection.execute(text("SELECT indexname FROM pg_indexes"))}
    engine.dispose()
    expected = {
        "users": [
            "id",
            "shop_domain",
            "shopify_id",
            "email",
            "name",
            "created_at",
            "last_seen",
            "metadata",
        ],
        "conversations": [
            "id",
            "user_id",
            "merchant_id",
            "workflow_name",
            "started_at",
            "ended_at",
            "messages",
            "metadata",
            "created_at",
            "message_count",
        ],
        "events": ["id", "user_id", "event_type", "event_data", "created_at"],
    }
    for table, names in expected.items():
        for name in names:
            assert (table, name) in columns, f"{table}.{name} missing"
    assert indexes >= GUIDE_INDEXES | {"idx_conversations_user_started"}


def test_guide_test_queries_work(database_url: str, clean_database: object) -> None:
    engine = create_engine(sqlalchemy_url(database_url))
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, shop_domain, email, name) "
                "VALUES ('usr_test1234', 'test.myshopify.com', 'test@example.com', 'Test User')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO conversations (id, user_id, workflow_name, started_at, messages) "
                "VALUES (gen_random_uuid(), 'usr_test1234', 'shopify_onboarding', NOW(), "
                '\'[{"sender": "user", "content": "Hello"}, '
                '{"sender": "cj", "content": "Hi there!"}]\'::jsonb)'
            )
        )
        connection.execute(
            text(
                "INSERT INTO events (user_id, event_type, event_data) "
                "VALUES ('usr_test1234', 'oauth_complete', '{\"shop\": \"test.myshopify.com\"}'::jsonb)"
            )
        )
    with engine.connect() as connection:
        user = connection.execute(text("SELECT * FROM users WHERE id = 'usr_test1234'")).one()
        conversation = connection.execute(
            text("SELECT * FROM conversations WHERE user_id = 'usr_test1234'")
        ).one()
        event = connection.execute(
            text("SELECT * FROM events WHERE user_id = 'usr_test1234'")
        ).one()
    engine.dispose()
    assert user.shop_domain == "test.myshopify.com"
    assert user.created_at is not None
    assert user.last_seen is not None
    assert conversation.message_count == 2  # generated from the guide's columns alone
    assert conversation.messages[1]["content"] == "Hi there!"
    assert event.event_type == "oauth_complete"
    assert event.event_data == {"shop": "test.myshopify.com"}


def test_second_run_applies_nothing(empty_database: str) -> None:
    applied = apply_migrations(empty_database, discover(MIGRATIONS_DIR))
    assert applied == [m.name for m in discover(MIGRATIONS_DIR)]
    assert apply_migrations(empty_database, discover(MIGRATIONS_DIR)) == []
    assert scalar(empty_database, "SELECT count(*) FROM schema_migrations") == len(applied)


def test_cli_applies_all_pending_then_nothing(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IDENTITY_DATABASE_URL", empty_database)
    monkeypatch.delenv("IDENTITY_DATABASE_DIRECT_URL", raising=False)
    first = run_runner()
    assert first.returncode == 0, first.stderr
    assert "applied" in first.stdout
    second = run_runner()
    assert second.returncode == 0, second.stderr
    assert "nothing to apply" in second.stdout


def test_cli_runs_one_file_with_a_url(empty_database: str) -> None:
    result = run_runner(str(MIGRATIONS_DIR / "003_user_identity.sql"), empty_database)
    assert result.returncode == 0, result.stderr
    assert scalar(empty_database, "SELECT count(*) FROM schema_migrations") == 1
    assert scalar(empty_database, "SELECT to_regclass('public.users') IS NOT NULL") is True


def test_changed_applied_migration_is_refused(empty_database: str, tmp_path: Path) -> None:
    original = tmp_path / "001_first.sql"
    original.write_text("CREATE TABLE first_table (id INT);\n")
    assert apply_migrations(empty_database, discover(tmp_path)) == ["001_first.sql"]
    original.write_text("CREATE TABLE first_table (id INT, extra TEXT);\n")
    (tmp_path / "002_second.sql").write_text("CREATE TABLE second_table (id INT);\n")
    with pytest.raises(MigrationError, match="001_first.sql was changed after it was applied"):
        apply_migrations(empty_database, discover(tmp_path))
    # nothing else was applied either
    assert scalar(empty_database, "SELECT to_regclass('public.second_table') IS NULL") is True


def test_cli_reports_a_changed_migration_clearly(empty_database: str, tmp_path: Path) -> None:
    path = tmp_path / "001_first.sql"
    path.write_text("CREATE TABLE t1 (id INT);\n")
    assert run_runner(str(path), empty_database).returncode == 0
    path.write_text("CREATE TABLE t1 (id BIGINT);\n")
    result = run_runner(str(path), empty_database)
    assert result.returncode == 1
    assert "changed after it was applied" in result.stderr
    assert "Traceback" not in result.stderr


def test_failing_migration_rolls_back_completely(empty_database: str, tmp_path: Path) -> None:
    (tmp_path / "001_ok.sql").write_text("CREATE TABLE ok_table (id INT);\n")
    (tmp_path / "002_bad.sql").write_text(
        "CREATE TABLE half_table (id INT);\nINSERT INTO missing_table VALUES (1);\n"
    )
    with pytest.raises(MigrationError, match="002_bad.sql failed and was rolled back"):
        apply_migrations(empty_database, discover(tmp_path))
    assert scalar(empty_database, "SELECT to_regclass('public.half_table') IS NULL") is True
    assert scalar(empty_database, "SELECT count(*) FROM schema_migrations") == 1


def test_duplicate_numbers_are_refused(tmp_path: Path) -> None:
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="share the number"):
        discover(tmp_path)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(MigrationError, match="cannot connect"):
        apply_migrations("postgresql://nobody@127.0.0.1:1/none", [])


def test_concurrent_runners_apply_each_migration_once(empty_database: str, tmp_path: Path) -> None:
    # A slow migration widens the window in which both runners would apply it without the lock;
    # a second application would fail (the table exists) or duplicate the inserted row.
    for migration in discover(MIGRATIONS_DIR):
        (tmp_path / migration.name).write_text(migration.sql)
    (tmp_path / "900_slow.sql").write_text(
        "CREATE TABLE once_marker (id INT);\nSELECT pg_sleep(1);\nINSERT INTO once_marker VALUES (1);\n"
    )
    runners = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_RUNNER, empty_database, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [runner.communicate(timeout=120) for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0, 0], outputs
    applied_counts = sorted(int(out.strip().splitlines()[-1]) for out, _ in outputs)
    total = len(discover(tmp_path))
    assert applied_counts == [0, 0, total]
    assert scalar(empty_database, "SELECT count(*) FROM once_marker") == 1
    assert scalar(empty_database, "SELECT count(*) FROM schema_migrations") == total


CONCURRENT_RUNNER = """
import sys
from pathlib import Path
from shared.db import sqlalchemy_url
from shared.migrations import apply_migrations, discover
print(len(apply_migrations(sys.argv[1], discover(Path(sys.argv[2])))))
"""


def test_migration_from_path_reports_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="cannot read migration"):
        Migration.from_path(tmp_path / "404_missing.sql")
