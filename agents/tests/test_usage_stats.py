"""The design guide's key metrics, computed from PostgreSQL rows and published as gauges."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

from prometheus_client import REGISTRY
from sqlalchemy import Engine, text
from tests.test_archival_helpers import database_pool

from app.services.identity_db import close_pool
from app.services.usage_stats import UsageStats, compute_usage_stats, publish_usage_stats

AGENTS_DIR = Path(__file__).resolve().parents[1]


def seed(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, shop_domain, created_at) VALUES "
                "('usr_00000001', 'new.myshopify.com', NOW() - INTERVAL '1 hour'), "
                "('usr_00000002', 'old.myshopify.com', NOW() - INTERVAL '10 days'), "
                "('usr_00000003', 'quiet.myshopify.com', NOW() - INTERVAL '40 days')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO events (user_id, event_type, event_data) VALUES "
                "('usr_00000001', 'oauth_complete', '{\"first_time\": true}'), "
                "('usr_00000002', 'oauth_complete', '{\"first_time\": true}'), "
                "('usr_00000002', 'oauth_complete', '{\"first_time\": false}')"
            )
        )
        for user_id, archived in (
            ("usr_00000001", "NOW()"),
            ("usr_00000001", "NOW()"),
            ("usr_00000002", "NOW() - INTERVAL '2 days'"),
        ):
            connection.execute(
                text(
                    "INSERT INTO conversations (id, user_id, messages, archived_at) "
                    f"VALUES (:id, :user_id, '[]'::jsonb, {archived})"
                ),
                {"id": str(uuid.uuid4()), "user_id": user_id},
            )


async def _compute(database_url: str) -> UsageStats:
    pool = await database_pool(database_url, size=1)
    try:
        return await compute_usage_stats(pool=pool)
    finally:
        await close_pool(pool)


async def test_key_metrics_are_computed_from_the_rows(
    clean_database: Engine, database_url: str
) -> None:
    seed(clean_database)
    stats = await _compute(database_url)
    assert stats.users_total == 3
    assert stats.new_users_24h == 1
    assert stats.returning_user_rate == 0.5  # of two users signing in this month, one came back
    assert stats.conversations_per_user == 1.0
    assert stats.conversations_archived_1h == 2
    assert set(stats.table_bytes) >= {"users", "conversations", "events", "events_archive"}
    assert all(size > 0 for size in stats.table_bytes.values())


async def test_empty_database_gives_zeros_not_errors(
    clean_database: Engine, database_url: str
) -> None:
    stats = await _compute(database_url)
    assert (stats.users_total, stats.returning_user_rate, stats.conversations_per_user) == (
        0,
        0.0,
        0.0,
    )


async def test_published_gauges_carry_the_figures(
    clean_database: Engine, database_url: str
) -> None:
    seed(clean_database)
    publish_usage_stats(await _compute(database_url), now=1234.0)
    assert REGISTRY.get_sample_value("hirecj_users_total") == 3
    assert REGISTRY.get_sample_value("hirecj_returning_user_rate") == 0.5
    assert REGISTRY.get_sample_value("hirecj_usage_stats_refreshed_timestamp") == 1234.0
    assert REGISTRY.get_sample_value("hirecj_table_bytes", {"table": "users"}) > 0


def test_command_prints_the_figures_as_json(clean_database: Engine) -> None:
    seed(clean_database)
    result = subprocess.run(
        [sys.executable, "-m", "app.commands.usage_stats"],
        cwd=AGENTS_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["users_total"] == 3
    assert figures["new_users_24h"] == 1


def test_command_fails_clearly_when_the_database_is_unreachable() -> None:
    import os

    env = {**os.environ, "IDENTITY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = subprocess.run(
        [sys.executable, "-m", "app.commands.usage_stats"],
        cwd=AGENTS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "identity database unreachable" in result.stderr
    assert "Traceback" not in result.stderr
