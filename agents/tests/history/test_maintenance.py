"""python -m app.commands.maintenance: orphans, retention, event archiving, ANALYZE."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from history_factories import USER_A, conversation_exists, create_conversation
from sqlalchemy import Engine, text

from app.commands import maintenance

NOW = datetime.now(UTC)


def _event(engine: Engine, *, age_days: int, user_id: str | None = USER_A) -> uuid.UUID:
    event_id = uuid.uuid4()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO events (id, user_id, event_type, event_data, created_at) VALUES "
                "(:id, :user_id, 'oauth_complete', CAST(:data AS jsonb), :created_at)"
            ),
            {
                "id": event_id,
                "user_id": user_id,
                "data": json.dumps({"shop": "a.myshopify.com"}),
                "created_at": NOW - timedelta(days=age_days),
            },
        )
    return event_id


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def test_every_task_runs_by_default(
    users: Engine, configured: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old_orphan = create_conversation(users, None, created_at=NOW - timedelta(days=8))
    young_orphan = create_conversation(users, None, created_at=NOW - timedelta(days=6))
    old_owned = create_conversation(
        users, USER_A, started_at=NOW - timedelta(days=400), created_at=NOW - timedelta(days=400)
    )
    old_event = _event(users, age_days=91)
    new_event = _event(users, age_days=89)

    assert maintenance.main([]) == 0

    line = capsys.readouterr().out.strip()
    assert line.startswith("maintenance: 1 orphaned conversations deleted; retention off; ")
    assert "1 events archived" in line
    assert "analyzed users, conversations, events, events_archive" in line
    assert "\n" not in line
    assert not conversation_exists(users, old_orphan)
    assert conversation_exists(users, young_orphan)
    assert conversation_exists(users, old_owned)  # retention is unset: kept forever
    assert _count(users, f"SELECT count(*) FROM events WHERE id = '{old_event}'") == 0
    assert _count(users, f"SELECT count(*) FROM events_archive WHERE id = '{old_event}'") == 1
    assert _count(users, f"SELECT count(*) FROM events WHERE id = '{new_event}'") == 1
    with users.connect() as connection:
        analyzed = connection.execute(
            text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'conversations'")
        ).scalar_one()
    assert analyzed is not None


def test_retention_deletes_only_conversations_past_the_period(
    users: Engine, configured: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.setenv("CONVERSATION_RETENTION_DAYS", "30")
    expired = [
        create_conversation(users, USER_A, started_at=NOW - timedelta(days=40 + index))
        for index in range(5)
    ]
    undated = create_conversation(
        users, USER_A, started_at=None, created_at=NOW - timedelta(days=31)
    )
    recent = create_conversation(users, USER_A, started_at=NOW - timedelta(days=29))

    assert maintenance.main(["--retention", "--batch-size", "2"]) == 0

    assert capsys.readouterr().out.startswith(
        "maintenance: 6 conversations past 30 days deleted in "
    )
    assert not any(conversation_exists(users, c) for c in [*expired, undated])
    assert conversation_exists(users, recent)


def test_event_archiving_moves_in_batches(
    users: Engine, configured: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(7):
        _event(users, age_days=120)
    assert maintenance.main(["--archive-events", "--batch-size", "3"]) == 0
    assert capsys.readouterr().out.startswith("maintenance: 7 events archived in ")
    assert _count(users, "SELECT count(*) FROM events") == 0
    assert _count(users, "SELECT count(*) FROM events_archive") == 7


def test_unreachable_database_fails_clearly(
    configured: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configured.setenv("IDENTITY_DATABASE_URL", "postgresql://hirecj:secret-pw@127.0.0.1:1/nowhere")
    configured.setenv("IDENTITY_DB_CONNECT_TIMEOUT", "2")
    assert maintenance.main(["--analyze"]) == maintenance.EXIT_DATABASE
    err = capsys.readouterr().err
    assert err.startswith("maintenance failed: identity database error at ")
    assert "secret-pw" not in err


def test_bad_flags_are_usage_errors() -> None:
    with pytest.raises(SystemExit) as exit_info:
        maintenance.parse_args(["--batch-size", "0"])
    assert exit_info.value.code == 2
