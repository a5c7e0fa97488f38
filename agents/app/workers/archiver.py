"""The archiver as its own process (the Procfile ``worker``).

    python -m app.workers.archiver            archive conversations as they come due, forever
    python -m app.workers.archiver --once     archive everything due now, then exit
    python -m app.workers.archiver --all      archive every queued live conversation now, due or not
    python -m app.workers.archiver --index    archive what is due, build every missing search
                                              vector, then exit (with --all: every queued one)

A bounded run exits 0 with a one-line summary, or non-zero with one clear line when PostgreSQL
(exit 3) or Redis (exit 2) cannot be reached, or PostgreSQL refuses the archive's statements
(exit 5: not migrated, a missing grant, a wrong database or password; waiting would not help);
claims are handed back, so nothing is lost. ``--all`` also waits (up to a lease period) for
conversations another archiver has leased, and exits 4 naming how many it could not take. The
forever loop never exits on an unreachable or refusing store: it waits. Live
conversations that are not queued are already archived at their current version (an archived
conversation leaves the queue only when nothing changed since); ``--reconcile`` double-checks
that with a SCAN of the keyspace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

from app.config import Settings, get_settings
from app.services.archival.outage import REFUSED_ERRORS, REFUSED_FIX, ArchiverRefused
from app.services.archival.queue import queue_sizes
from app.services.conversation_archival import (
    ArchiverUnavailable,
    ConversationArchiver,
)
from app.services.identity_db import (
    DATABASE_ERRORS,
    close_pool,
    create_pool,
)
from shared.errors import describe
from shared.logging_setup import configure_logging
from shared.postgres import database_location
from shared.redis_client import REDIS_ERRORS, redis_from_settings

EXIT_REDIS = 2
EXIT_DATABASE = 3
EXIT_LEASED = 4
EXIT_REFUSED = 5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.workers.archiver", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="archive what is due now, then exit")
    mode.add_argument("--all", action="store_true", help="archive every queued conversation now")
    parser.add_argument(
        "--reconcile", action="store_true", help="with --once/--all: also SCAN for unqueued ones"
    )
    parser.add_argument(
        "--index", action="store_true", help="also build every missing search vector, then exit"
    )
    parser.add_argument("--batch-size", type=int, help="conversations per batch")
    # 3: measured on 2 cores (20,000 x 20), 2 in flight archived 4,439 conv/s, 3 5,336, 4 4,984.
    parser.add_argument("--concurrency", type=int, default=3, help="batches in flight")
    parser.add_argument("--give-up-after", type=float, default=30.0, help="seconds of outage")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.batch_size is not None and not 1 <= args.batch_size <= 10000:
        parser.error("--batch-size must be between 1 and 10000")
    if not 1 <= args.concurrency <= 16:
        parser.error("--concurrency must be between 1 and 16")
    if args.reconcile and not (args.once or args.all):
        # The loop reconciles every ARCHIVE_INTERVAL_SECONDS; a flag that changes nothing is
        # refused rather than silently ignored.
        parser.error("--reconcile needs --once or --all (the loop reconciles on its own)")
    return args


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}{parts.path}"


def _progress(total: int, interactive: bool) -> tuple[Callable[[int, int, float], None], Any]:
    """A progress bar in a terminal, else one line per batch."""
    if interactive:
        from rich.progress import Progress

        bar = Progress()
        task = bar.add_task("archiving", total=total or None)
        bar.start()
        return (lambda done, _messages, _seconds: bar.advance(task, done)), bar
    count = {"batches": 0, "conversations": 0}

    def line(done: int, messages: int, seconds: float) -> None:
        count["batches"] += 1
        count["conversations"] += done
        print(
            f"batch {count['batches']}: {done} conversations, {messages} messages in "
            f"{seconds:.2f} s (total {count['conversations']})",
            flush=True,
        )

    return line, None


async def run(args: argparse.Namespace, settings: Settings) -> int:
    redis = redis_from_settings(settings)
    # Connections open lazily: making the pool never fails, even while PostgreSQL is down.
    pool = await create_pool(
        settings, application_name="hirecj-archiver", size=args.concurrency + 1
    )
    overrides: dict[str, Any] = {"concurrency": args.concurrency}
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    archiver = ConversationArchiver.from_settings(settings, redis=redis, pool=pool, **overrides)
    try:
        if not (args.once or args.all or args.index):
            # The loop never exits on an unreachable store: it waits, keeps the TTLs of what
            # is at risk alive as soon as Redis answers, and archives when PostgreSQL returns
            # (a dyno restarted during database maintenance is the normal case, not a corner).
            await archiver.run_forever()
            return 0
        try:
            await redis.ping()
        except REDIS_ERRORS as exc:
            print(
                f"archiver: Redis unreachable at {_where(settings.redis_url)} ({describe(exc)})",
                file=sys.stderr,
            )
            return EXIT_REDIS
        try:
            await archiver.check_database()
        except REFUSED_ERRORS as exc:
            print(
                f"archiver: PostgreSQL at {database_location(settings.identity_database_url)} "
                f"refused the archiver ({describe(exc)}): {REFUSED_FIX}",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        except DATABASE_ERRORS as exc:
            print(
                f"archiver: PostgreSQL unreachable at "
                f"{database_location(settings.identity_database_url)} "
                f"({describe(exc)})",
                file=sys.stderr,
            )
            return EXIT_DATABASE
        return await _bounded(archiver, args)
    finally:
        await close_pool(pool)
        await redis.aclose()


async def _bounded(archiver: ConversationArchiver, args: argparse.Namespace) -> int:
    interactive = args.all and sys.stdout.isatty() and not args.json
    total = (await queue_sizes(archiver.redis))[0] if interactive else 0
    on_batch, bar = _progress(total, interactive)
    try:
        if args.reconcile:
            await archiver.reconcile()
        summary = await archiver.archive_due(
            everything=args.all, on_batch=on_batch, give_up_after=args.give_up_after
        )
        linked = await archiver.link_pending_users()
        if args.index:
            started = time.perf_counter()
            summary.indexed = await archiver.index_search()
            summary.index_seconds = time.perf_counter() - started
    except ArchiverRefused as exc:
        print(
            f"archiver: {exc}: {REFUSED_FIX}; claimed conversations returned to the queue",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except ArchiverUnavailable as exc:
        print(f"archiver: {exc}; claimed conversations returned to the queue", file=sys.stderr)
        return EXIT_DATABASE
    except REDIS_ERRORS as exc:
        print(f"archiver: Redis failed during the run ({describe(exc)})", file=sys.stderr)
        return EXIT_REDIS
    except REFUSED_ERRORS as exc:
        print(f"archiver: PostgreSQL refused ({describe(exc)}): {REFUSED_FIX}", file=sys.stderr)
        return EXIT_REFUSED
    except DATABASE_ERRORS as exc:
        print(f"archiver: PostgreSQL failed during the run ({describe(exc)})", file=sys.stderr)
        return EXIT_DATABASE
    finally:
        if bar is not None:
            bar.stop()
    if args.json:
        print(json.dumps({**summary.__dict__, "linked_users": linked}))
    else:
        print(summary.line() + (f", {linked} linked to their users" if linked else ""))
    if summary.left_leased:
        print(
            f"archiver: {summary.left_leased} conversations stayed leased by another archiver "
            "for a whole lease period and were not archived by this run",
            file=sys.stderr,
        )
        return EXIT_LEASED
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    configure_logging(service="archiver", settings=settings)

    async def guarded() -> int:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Heroku stops a dyno with SIGTERM: cancel, hand claims back, exit cleanly.
            loop.add_signal_handler(signum, task.cancel)  # type: ignore[union-attr]
        try:
            return await run(args, settings)
        except asyncio.CancelledError:
            return 0

    with suppress(KeyboardInterrupt):
        return asyncio.run(guarded())
    return 130


if __name__ == "__main__":
    sys.exit(main())
