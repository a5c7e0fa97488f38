"""The design guide's database maintenance, as a command (run it weekly, e.g. Heroku Scheduler).

    cd agents && python -m app.commands.maintenance            # every task
    python -m app.commands.maintenance --orphans --analyze      # only these

Tasks:
  --orphans         delete conversations with no user (user_id NULL) created over 7 days ago
  --retention       delete conversations older than CONVERSATION_RETENTION_DAYS (unset: skipped)
  --archive-events  move events older than 90 days into events_archive
  --analyze         ANALYZE users, conversations, events and events_archive

Deletes and moves run in batches, each its own transaction, so no lock is held for long and an
interrupted run keeps what it finished. Prints a one-line summary; exits 1 with a clear message
when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass, field

from app.config import Settings, get_settings
from app.services.identity_db import DATABASE_ERRORS, Pool, close_pool, create_pool
from shared.errors import describe
from shared.logging_setup import configure_logging
from shared.postgres import LONG_STATEMENT_TIMEOUT_MS, LONG_STATEMENTS, database_location

ORPHAN_AGE_DAYS = 7
EVENT_ARCHIVE_AGE_DAYS = 90
ANALYZED_TABLES = ("users", "conversations", "events", "events_archive")
EXIT_DATABASE = 1

# $1 days, $2 batch size.
_DELETE_ORPHANS = (
    "DELETE FROM conversations WHERE id IN ("
    " SELECT id FROM conversations WHERE user_id IS NULL"
    " AND created_at < now() - make_interval(days => $1) LIMIT $2)"
)
# Age is the conversation's end, else its start, else when the row was written.
_DELETE_EXPIRED = (
    "DELETE FROM conversations WHERE id IN ("
    " SELECT id FROM conversations"
    " WHERE COALESCE(ended_at, started_at, created_at) < now() - make_interval(days => $1)"
    " LIMIT $2)"
)
_MOVE_EVENTS = """
    WITH moved AS (
        DELETE FROM events WHERE id IN (
            SELECT id FROM events WHERE created_at < now() - make_interval(days => $1)
            ORDER BY created_at LIMIT $2
        )
        RETURNING id, user_id, event_type, event_data, created_at
    )
    INSERT INTO events_archive (id, user_id, event_type, event_data, created_at)
    SELECT id, user_id, event_type, event_data, created_at FROM moved
    ON CONFLICT (id) DO NOTHING
    """


@dataclass
class MaintenanceSummary:
    orphans_deleted: int | None = None
    retention_deleted: int | None = None
    retention_days: int | None = None
    events_archived: int | None = None
    analyzed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        parts = []
        if self.orphans_deleted is not None:
            parts.append(f"{self.orphans_deleted} orphaned conversations deleted")
        if self.retention_deleted is not None:
            parts.append(
                f"{self.retention_deleted} conversations past {self.retention_days} days deleted"
            )
        elif self.retention_days is None and self.orphans_deleted is not None:
            parts.append("retention off")
        if self.events_archived is not None:
            parts.append(f"{self.events_archived} events archived")
        if self.analyzed:
            parts.append(f"analyzed {', '.join(self.analyzed)}")
        return f"maintenance: {'; '.join(parts) or 'nothing to do'} in {self.seconds:.2f}s"


async def _repeat(pool: Pool, statement: str, *, days: int, batch_size: int) -> int:
    """Run a batched statement until a batch comes back short; the total rows affected."""
    total = 0
    while True:
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute(LONG_STATEMENTS, str(LONG_STATEMENT_TIMEOUT_MS))
            status = await connection.execute(statement, days, batch_size)
        count = int(status.split()[-1])
        total += count
        if count < batch_size:
            return total


async def delete_orphaned_conversations(*, pool: Pool, batch_size: int) -> int:
    return await _repeat(pool, _DELETE_ORPHANS, days=ORPHAN_AGE_DAYS, batch_size=batch_size)


async def delete_expired_conversations(*, pool: Pool, days: int, batch_size: int) -> int:
    return await _repeat(pool, _DELETE_EXPIRED, days=days, batch_size=batch_size)


async def archive_old_events(*, pool: Pool, batch_size: int) -> int:
    return await _repeat(pool, _MOVE_EVENTS, days=EVENT_ARCHIVE_AGE_DAYS, batch_size=batch_size)


async def analyze_tables(*, pool: Pool) -> list[str]:
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(LONG_STATEMENTS, str(LONG_STATEMENT_TIMEOUT_MS))
        for table in ANALYZED_TABLES:
            await connection.execute(f"ANALYZE {table}")
    return list(ANALYZED_TABLES)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.commands.maintenance",
        description="Database maintenance; with no task flag, every task runs.",
    )
    parser.add_argument("--orphans", action="store_true", help="delete orphaned conversations")
    parser.add_argument(
        "--retention", action="store_true", help="enforce CONVERSATION_RETENTION_DAYS"
    )
    parser.add_argument(
        "--archive-events", action="store_true", help="move old events to events_archive"
    )
    parser.add_argument("--analyze", action="store_true", help="ANALYZE the identity tables")
    parser.add_argument("--batch-size", type=int, default=5000, help="rows per transaction")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if not (args.orphans or args.retention or args.archive_events or args.analyze):
        args.orphans = args.retention = args.archive_events = args.analyze = True
    return args


async def run(
    args: argparse.Namespace, *, pool: Pool, retention_days: int | None
) -> MaintenanceSummary:
    started = time.monotonic()
    summary = MaintenanceSummary(retention_days=retention_days)
    if args.orphans:
        summary.orphans_deleted = await delete_orphaned_conversations(
            pool=pool, batch_size=args.batch_size
        )
    if args.retention and retention_days is not None:
        summary.retention_deleted = await delete_expired_conversations(
            pool=pool, days=retention_days, batch_size=args.batch_size
        )
    if args.archive_events:
        summary.events_archived = await archive_old_events(pool=pool, batch_size=args.batch_size)
    if args.analyze:
        summary.analyzed = await analyze_tables(pool=pool)
    summary.seconds = time.monotonic() - started
    return summary


async def _main(args: argparse.Namespace, settings: Settings) -> MaintenanceSummary:
    pool = await create_pool(settings, application_name="hirecj-maintenance", size=1)
    try:
        return await run(args, pool=pool, retention_days=settings.conversation_retention_days)
    finally:
        await close_pool(pool)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    configure_logging(service="maintenance", settings=settings)
    try:
        summary = asyncio.run(_main(args, settings))
    except DATABASE_ERRORS as exc:
        where = database_location(settings.identity_database_url)
        print(
            f"maintenance failed: identity database error at {where}: {describe(exc)}",
            file=sys.stderr,
        )
        return EXIT_DATABASE
    print(summary.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
