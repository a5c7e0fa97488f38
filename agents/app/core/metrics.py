"""The archiver's Prometheus metrics (the guide's "Archival Health"), the database pool's, and
the /metrics body.

Metrics are module-level objects in prometheus-client's default registry: a module is imported
once per process, so any number of app instances (tests build many) share them and nothing is
registered twice. The default registry also carries the HTTP metrics of shared.http_metrics.
"""

from __future__ import annotations

import logging
import time

import asyncpg
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest

from app.services.archival.queue import oldest_due_age
from shared.redis_client import REDIS_ERRORS, AnyRedis

logger = logging.getLogger(__name__)

CONVERSATIONS_ARCHIVED = Counter(
    "hirecj_conversations_archived_total", "Conversations written to PostgreSQL by the archiver"
)
MESSAGES_ARCHIVED = Counter(
    "hirecj_archived_messages_total", "Messages contained in the archived conversations"
)
ARCHIVE_FAILURES = Counter(
    "hirecj_archive_failures_total",
    "Failed archival attempts (each is retried; nothing is dropped)",
    ["reason"],
)
BATCH_SECONDS = Histogram(
    "hirecj_archive_batch_seconds",
    "Time to archive one batch: Redis snapshot, PostgreSQL upsert and ack",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
OLDEST_DUE_AGE = Gauge(
    "hirecj_archive_oldest_due_age_seconds",
    "How long the most overdue conversation has waited past its archival deadline",
)

DB_POOL_CONNECTIONS = Gauge(
    "hirecj_db_pool_connections",
    "The web process's PostgreSQL connections: open (in use or idle) and idle",
    ["state"],
)
DB_POOL_WAITING = Gauge(
    "hirecj_db_pool_waiting",
    "Requests waiting for a PostgreSQL connection (sustained > 0: the pool is too small or "
    "PostgreSQL too slow)",
)


def watch_db_pool(pool: asyncpg.Pool) -> None:
    """Read the pool's state at scrape time (the app's pool; the last one started wins)."""
    DB_POOL_CONNECTIONS.labels("open").set_function(pool.get_size)
    DB_POOL_CONNECTIONS.labels("idle").set_function(pool.get_idle_size)


async def refresh_oldest_due_age(redis: AnyRedis) -> None:
    """Two ZRANGE 0 0 calls; when Redis is down the gauge keeps its last value."""
    try:
        OLDEST_DUE_AGE.set(await oldest_due_age(redis, now=time.time()))
    except REDIS_ERRORS as exc:
        logger.warning("archive queue age unavailable: %s", type(exc).__name__)


async def render_metrics(*, redis: AnyRedis) -> bytes:
    await refresh_oldest_due_age(redis)
    return generate_latest(REGISTRY)
