"""The design guide's key metrics, computed from PostgreSQL and published as gauges.

They are refreshed on a schedule (a background task, or the command ``python -m
app.commands.usage_stats``), never per scrape: a scrape every 15 s from several Prometheus
replicas must not turn into aggregate queries over the whole identity database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field

from prometheus_client import Gauge

from app.exceptions import StoreUnavailable
from app.services.identity_db import Pool, connect

logger = logging.getLogger(__name__)

TABLES = ("users", "conversations", "events", "events_archive")

NEW_USERS = Gauge("hirecj_users_new_24h", "Users created in the last 24 hours")
TOTAL_USERS = Gauge("hirecj_users_total", "Users")
RETURNING_RATE = Gauge(
    "hirecj_returning_user_rate",
    "Share of users completing OAuth in the last 30 days who had signed in before",
)
CONVERSATIONS_PER_USER = Gauge("hirecj_conversations_per_user", "Archived conversations per user")
ARCHIVED_LAST_HOUR = Gauge(
    "hirecj_conversations_archived_1h", "Conversations archived in the last hour"
)
TABLE_BYTES = Gauge(
    "hirecj_table_bytes", "Total size of a table with its indexes and TOAST", ["table"]
)
REFRESHED_AT = Gauge(
    "hirecj_usage_stats_refreshed_timestamp", "When the usage gauges were last computed"
)


@dataclass(frozen=True)
class UsageStats:
    users_total: int
    new_users_24h: int
    returning_user_rate: float
    conversations_per_user: float
    conversations_archived_1h: int
    table_bytes: dict[str, int] = field(default_factory=dict)


_STATS_SQL = """
    WITH oauth AS (
        SELECT user_id, bool_or((event_data->>'first_time')::boolean IS FALSE) AS returned
        FROM events
        WHERE event_type = 'oauth_complete' AND created_at > NOW() - INTERVAL '30 days'
        GROUP BY user_id
    )
    SELECT
        (SELECT count(*) FROM users) AS users_total,
        (SELECT count(*) FROM users WHERE created_at > NOW() - INTERVAL '24 hours') AS new_users_24h,
        (SELECT count(*) FILTER (WHERE returned) FROM oauth) AS returning_users,
        (SELECT count(*) FROM oauth) AS oauth_users,
        (SELECT count(*) FROM conversations WHERE user_id IS NOT NULL) AS user_conversations,
        (SELECT count(*) FROM conversations
            WHERE COALESCE(archived_at, created_at) > NOW() - INTERVAL '1 hour') AS archived_1h
    """
_SIZES_SQL = (
    "SELECT relname, pg_total_relation_size(c.oid) AS size FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind = 'r' AND relname = ANY($1::text[])"
)


async def compute_usage_stats(*, pool: Pool) -> UsageStats:
    async with connect(pool) as connection:
        row = await connection.fetchrow(_STATS_SQL)
        sizes = await connection.fetch(_SIZES_SQL, list(TABLES))
    assert row is not None  # scalar subqueries always make one row
    users_total = int(row["users_total"])
    return UsageStats(
        users_total=users_total,
        new_users_24h=int(row["new_users_24h"]),
        returning_user_rate=(row["returning_users"] / row["oauth_users"])
        if row["oauth_users"]
        else 0.0,
        conversations_per_user=(row["user_conversations"] / users_total) if users_total else 0.0,
        conversations_archived_1h=int(row["archived_1h"]),
        table_bytes={size["relname"]: int(size["size"]) for size in sizes},
    )


def publish_usage_stats(stats: UsageStats, *, now: float) -> None:
    TOTAL_USERS.set(stats.users_total)
    NEW_USERS.set(stats.new_users_24h)
    RETURNING_RATE.set(stats.returning_user_rate)
    CONVERSATIONS_PER_USER.set(stats.conversations_per_user)
    ARCHIVED_LAST_HOUR.set(stats.conversations_archived_1h)
    for table, size in stats.table_bytes.items():
        TABLE_BYTES.labels(table).set(size)
    REFRESHED_AT.set(now)


def as_dict(stats: UsageStats) -> dict[str, object]:
    return asdict(stats)


async def refresh_usage_stats_forever(*, pool: Pool, interval_seconds: float) -> None:
    """Recompute the gauges every ``interval_seconds``; a failed refresh keeps the last values."""
    failing = False
    while True:
        try:
            stats = await compute_usage_stats(pool=pool)
        except StoreUnavailable as exc:
            if not failing:
                logger.warning(
                    "usage stats refresh failed; keeping the last values: %s",
                    type(exc.__cause__).__name__,
                )
            failing = True
        else:
            publish_usage_stats(stats, now=time.time())
            if failing:
                logger.info("usage stats refresh recovered")
            failing = False
        await asyncio.sleep(interval_seconds)
