"""Archival throughput against a raw PostgreSQL COPY of the same rows, on the same server.

    .venv/bin/python bench/archival.py --conversations 20000 --messages 20

1. creates a private, migrated database and claims a private Redis database (the test plugin's
   helpers), with 1,000 users so rows carry real foreign keys;
2. seeds N live conversations of M messages through the session manager's own code;
3. times ``python -m app.workers.archiver --all`` (its own measured archival time, process start
   excluded; the wall time is printed too) and records the archiver's peak RSS;
4. times ``COPY ... FROM STDIN`` of exactly the archived rows into an identical table (LIKE
   conversations INCLUDING ALL, plus the users foreign key), and into a table shaped as the
   design guide's 003 migration (its columns, its two indexes and the users foreign key): the
   floor any archive into the guide's schema could reach on this server;
5. prints the figures and, last, the contract's JSON line.

The machine is shared: figures are noisy, compare runs made close together.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2

from shared.postgres import libpq_url
from shared.testing.plugin import (
    REDIS_BASE_URL,
    _claim_redis_db,
    _release_redis_db,
    create_database,
    drop_database,
)

REPO_DIR = Path(__file__).resolve().parents[1]
AGENTS_DIR = REPO_DIR / "agents"
USERS = 1000
COLUMNS = (
    "id, user_id, merchant_id, workflow_name, started_at, ended_at, messages, metadata, "
    "archive_version, archived_at, last_message_at, pending_user_id"
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args()


async def seed(conversations: int, messages: int) -> None:
    """Runs in a child with agents/ importable: writes through SessionManager itself."""
    import redis.asyncio as aioredis

    from app.services.session_manager import SessionManager, make_message

    redis = aioredis.Redis.from_url(
        os.environ["REDIS_URL"], decode_responses=True, max_connections=256
    )
    manager = SessionManager(redis, ttl_seconds=86400, idle_seconds=60)
    text = "Tell me about my store's orders this week and what to do next. " * 2

    async def one(index: int) -> None:
        shop = f"shop{index % USERS}.myshopify.com"
        await manager.create_session(
            conversation_id=str(uuid.uuid4()),
            workflow="shopify_onboarding",
            user_id=f"usr_bench{index % USERS:04d}",
            merchant_id=f"merchant_shop{index % USERS}",
            shop=shop,
            messages=[
                make_message(sender="user" if n % 2 == 0 else "cj", content=f"{n}: {text}")
                for n in range(messages)
            ],
        )

    for start in range(0, conversations, 100):
        await asyncio.gather(*(one(i) for i in range(start, min(start + 100, conversations))))
    await redis.aclose()


def run_archiver(
    env: dict[str, str], args: argparse.Namespace
) -> tuple[dict[str, Any], float, float]:
    """The worker's JSON summary, its wall time and its peak RSS in MB."""
    command = [sys.executable, "-m", "app.workers.archiver", "--all", "--json"]
    command += ["--batch-size", str(args.batch_size), "--concurrency", str(args.concurrency)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=AGENTS_DIR, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"archiver failed with exit code {process.returncode}")
    return json.loads(output.strip().splitlines()[-1]), wall, usage.ru_maxrss / 1024


# The design guide's conversations table (migration 003 as the guide wrote it) and its indexes.
GUIDE_TABLE = """
CREATE TABLE conversations_guide (
    id UUID PRIMARY KEY,
    user_id VARCHAR(50) REFERENCES users (id),
    merchant_id VARCHAR(100),
    workflow_name VARCHAR(100),
    started_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ,
    messages JSONB NOT NULL,
    metadata JSONB DEFAULT '{}'::jsonb,
    created_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX ON conversations_guide (user_id);
CREATE INDEX ON conversations_guide (started_at);
"""
GUIDE_COLUMNS = "id, user_id, merchant_id, workflow_name, started_at, ended_at, messages, metadata"


def timed_copy(database_url: str, *, table: str, create: str, columns: str) -> tuple[int, float]:
    """COPY the archived rows into ``table`` (made by ``create``); (rows, seconds of the COPY)."""
    connection = psycopg2.connect(libpq_url(database_url))
    try:
        with connection.cursor() as cursor, tempfile.TemporaryFile() as rows:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute(create)
            cursor.copy_expert(f"COPY (SELECT {columns} FROM conversations) TO STDOUT", rows)
            connection.commit()
            rows.seek(0)
            cursor.execute("CHECKPOINT")
            started = time.perf_counter()
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", rows)
            connection.commit()
            seconds = time.perf_counter() - started
            cursor.execute(f"SELECT count(*) FROM {table}")
            return int(cursor.fetchone()[0]), seconds
    finally:
        connection.close()


def check_archive(database_url: str) -> tuple[int, int]:
    connection = psycopg2.connect(libpq_url(database_url))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), COALESCE(sum(message_count), 0) FROM conversations")
            count, messages = cursor.fetchone()
            cursor.execute("CHECKPOINT")
            return int(count), int(messages)
    finally:
        connection.close()


def main() -> None:
    args = parse_args()
    if args.seed_only:
        asyncio.run(seed(args.conversations, args.messages))
        return
    name = f"hirecj_bench_{uuid.uuid4().hex[:10]}"
    redis_db, claim = _claim_redis_db()
    database_url = ""
    try:
        database_url = create_database(name)
        with psycopg2.connect(libpq_url(database_url)) as connection, connection.cursor() as cur:
            cur.execute(
                "INSERT INTO users (id, shop_domain) SELECT 'usr_bench' || lpad(n::text, 4, '0'), "
                "'shop' || n || '.myshopify.com' FROM generate_series(0, %s - 1) AS n",
                (USERS,),
            )
        env = {
            **os.environ,
            "IDENTITY_DATABASE_URL": database_url,
            "REDIS_URL": f"{REDIS_BASE_URL}/{redis_db}",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
        }
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--seed-only",
                "--conversations",
                str(args.conversations),
                "--messages",
                str(args.messages),
            ],
            env={**env, "PYTHONPATH": str(AGENTS_DIR)},
            check=True,
        )
        print(
            f"seeded {args.conversations} x {args.messages} through SessionManager "
            f"in {time.perf_counter() - started:.1f} s"
        )

        summary, wall, peak_mb = run_archiver(env, args)
        archived, messages = check_archive(database_url)
        if (archived, messages) != (args.conversations, args.conversations * args.messages):
            raise SystemExit(f"archive incomplete: {archived} rows, {messages} messages")
        archive_rate = summary["conversations"] / summary["seconds"]
        copied, copy_seconds = timed_copy(
            database_url,
            table="conversations_copy",
            create=(
                "CREATE TABLE conversations_copy (LIKE conversations INCLUDING ALL);"
                "ALTER TABLE conversations_copy ADD FOREIGN KEY (user_id) REFERENCES users (id)"
            ),
            columns=COLUMNS,
        )
        copy_rate = copied / copy_seconds
        guide_copied, guide_seconds = timed_copy(
            database_url, table="conversations_guide", create=GUIDE_TABLE, columns=GUIDE_COLUMNS
        )
        guide_rate = guide_copied / guide_seconds
        print(
            f"archiver --all: {summary['conversations']} conversations in "
            f"{summary['seconds']:.2f} s ({archive_rate:.0f}/s; wall with process start "
            f"{wall:.2f} s), batch {args.batch_size} x {args.concurrency} in flight"
        )
        print(f"archiver peak RSS: {peak_mb:.0f} MB")
        print(
            f"raw COPY of the same rows into today's table: {copied} in {copy_seconds:.2f} s "
            f"({copy_rate:.0f}/s)"
        )
        print(
            f"raw COPY of the same rows into the guide's 003 table: {guide_copied} in "
            f"{guide_seconds:.2f} s ({guide_rate:.0f}/s)"
        )
        print(
            json.dumps(
                {
                    "conversations": args.conversations,
                    "messages": args.messages,
                    "archive_conv_per_s": round(archive_rate, 1),
                    "copy_conv_per_s": round(copy_rate, 1),
                    "ratio": round(archive_rate / copy_rate, 3),
                    "copy_guide_conv_per_s": round(guide_rate, 1),
                    "ratio_guide": round(archive_rate / guide_rate, 3),
                }
            )
        )
    finally:
        if database_url:
            drop_database(name)
        import redis

        redis.Redis.from_url(f"{REDIS_BASE_URL}/{redis_db}").flushdb()
        _release_redis_db(redis_db, claim)


if __name__ == "__main__":
    main()
