"""Benchmark the history API: list, detail and profile under concurrent load, beside a bare
FastAPI endpoint measured in the same run (the framework's own ceiling on this machine).

    .venv/bin/python bench/history_api.py                       # 1,000,000 conversations
    .venv/bin/python bench/history_api.py --conversations 50000 --users 500 --duration 5

Seeds a private database (created next to IDENTITY_DATABASE_URL's, migrated, dropped at the end)
with COPY, starts the real agents app under uvicorn on a free port (ARCHIVER_ENABLED=false) and a
one-route FastAPI app, and drives each endpoint with --concurrency keep-alive connections
(``load_generator.py``). Prints requests/s, p50/p99 and the CPU each request cost the server,
PostgreSQL and the load generator, per endpoint; the last line is the contract's JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from load_generator import get_request, measure

from shared.migrations import migrate_directory
from shared.postgres import libpq_url
from shared.testing.ports import free_port
from shared.tokens import issue_token

REPO = Path(__file__).resolve().parents[1]

DEFAULT_URL = "postgresql://hirecj:hirecj_dev_password@localhost:5435/hirecj_identity"
MIGRATIONS = REPO / "agents" / "app" / "migrations"
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
WORDS = (
    "order refund shipping inventory discount customer product subscription email launch "
    "checkout theme analytics return exchange delivery supplier bundle price review"
).split()


# -- database ---------------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(libpq_url(url))
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def _admin(url: str, sql: str) -> None:
    connection = psycopg2.connect(_with_database(url, "postgres"), connect_timeout=10)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


class _Rows:
    """A file-like object yielding COPY text rows on demand, so memory stays small."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = ""

    def read(self, size: int = 65536) -> str:
        while len(self._buffer) < size:
            more = "".join(islice(self._lines, 2000))
            if not more:
                break
            self._buffer += more
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    readline = read


def _user_id(index: int) -> str:
    return f"usr_{index:08x}"


def _conversation_lines(conversations: int, users: int, seed: int) -> Iterator[str]:
    rng = random.Random(seed)
    bodies = []
    for _ in range(64):
        words = rng.sample(WORDS, 6)
        messages = [
            {
                "sender": "user",
                "content": f"Question about {words[0]} and {words[1]}",
                "timestamp": "2025-01-01T00:00:00+00:00",
            },
            {
                "sender": "cj",
                "content": f"Here is how {words[2]} {words[3]} works for {words[4]}",
                "timestamp": "2025-01-01T00:00:05+00:00",
            },
        ]
        bodies.append(json.dumps(messages))
    for index in range(conversations):
        started = EPOCH + timedelta(seconds=rng.randrange(365 * 86400))
        ended = started + timedelta(minutes=5)
        yield (
            f"{uuid.UUID(int=rng.getrandbits(128), version=4)}\t{_user_id(index % users)}\t"
            f"merchant_bench\tshopify_onboarding\t{started.isoformat()}\t{ended.isoformat()}\t"
            f"{bodies[index % len(bodies)]}\t{{}}\n"
        )


def seed(url: str, *, conversations: int, users: int) -> float:
    """COPY users and conversations, building secondary indexes after the load; seconds."""
    started = time.monotonic()
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            # The role's 10 s limit (migration 011) is for the services, not for a bulk load.
            cursor.execute("SET statement_timeout = 0")
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'conversations' "
                "AND indexname <> 'conversations_pkey'"
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            users_rows = (
                f"{_user_id(i)}\tbench-{i}.myshopify.com\tbench{i}@example.com\tShop {i}\n"
                for i in range(users)
            )
            cursor.copy_expert(
                "COPY users (id, shop_domain, email, name) FROM STDIN", _Rows(users_rows)
            )
            cursor.copy_expert(
                "COPY conversations (id, user_id, merchant_id, workflow_name, started_at, "
                "ended_at, messages, metadata) FROM STDIN",
                _Rows(_conversation_lines(conversations, users, seed=7)),
            )
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _, definition in indexes:
                cursor.execute(definition)
        connection.commit()
        connection.autocommit = True
        with connection.cursor() as cursor:
            # Index-only counts need the visibility map; a live system gets it from autovacuum.
            cursor.execute("VACUUM ANALYZE users")
            cursor.execute("VACUUM ANALYZE conversations")
    finally:
        connection.close()
    return time.monotonic() - started


def sample_targets(url: str, users: int, count: int) -> list[tuple[str, str]]:
    """(user_id, conversation_id) pairs for the detail route, spread over users."""
    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            picks = [_user_id(random.randrange(users)) for _ in range(count)]
            cursor.execute(
                "SELECT DISTINCT ON (user_id) user_id, id::text FROM conversations "
                "WHERE user_id = ANY(%s) ORDER BY user_id, id",
                (picks,),
            )
            return list(cursor.fetchall())
    finally:
        connection.close()


# -- servers ----------------------------------------------------------------------------------


BARE_APP = textwrap.dedent(
    """
    from fastapi import FastAPI

    app = FastAPI()


    @app.get("/bare")
    async def bare() -> dict[str, str]:
        return {"status": "ok"}
    """
)


def uvicorn_command(app: str, *, port: int, workers: int) -> list[str]:
    """The same server settings for both apps, so the bare app stays a fair ceiling."""
    return [
        sys.executable, "-m", "uvicorn", app, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools",
    ]  # fmt: skip


def start_server(
    command: list[str], *, port: int, env: dict[str, str], cwd: Path
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=cwd, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server {command[2]} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server on port {port} did not start within 30 s")


# -- main -------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="uvicorn workers for both apps (same for each)"
    )
    args = parser.parse_args()
    if args.users < 1 or args.conversations < args.users:
        parser.error("need --users >= 1 and --conversations >= --users")
    return args


def main() -> int:
    args = parse_args()
    base_url = os.environ.get("IDENTITY_DATABASE_URL", DEFAULT_URL)
    name = f"hirecj_bench_history_{uuid.uuid4().hex[:8]}"
    _admin(base_url, f'CREATE DATABASE "{name}"')
    url = _with_database(base_url, name)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        migrate_directory(url, MIGRATIONS)
        seconds = seed(url, conversations=args.conversations, users=args.users)
        print(
            f"seeded {args.conversations} conversations for {args.users} users in {seconds:.1f} s"
        )
        secret = secrets.token_urlsafe(48)
        env = {
            **os.environ,
            "IDENTITY_DATABASE_URL": url,
            "IDENTITY_TOKEN_SECRET": secret,
            "ARCHIVER_ENABLED": "false",
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
        }
        agents_port, bare_port = free_port(), free_port()
        bare_dir = Path(tempfile.mkdtemp(prefix="hirecj-bare-"))
        (bare_dir / "bare_app.py").write_text(BARE_APP)
        agents = start_server(
            uvicorn_command("app.main:app", port=agents_port, workers=args.workers),
            port=agents_port,
            env=env,
            cwd=REPO / "agents",
        )
        servers.append(agents)
        bare_server = start_server(
            uvicorn_command("bare_app:app", port=bare_port, workers=args.workers),
            port=bare_port,
            env=env,
            cwd=bare_dir,
        )
        servers.append(bare_server)
        targets = sample_targets(url, args.users, 2000)
        tokens = {
            user: issue_token(
                user_id=user, shop="bench.myshopify.com", secret=secret, ttl_seconds=3600
            )
            for user, _ in targets
        }
        base = "/api/v1/users"
        load = {"concurrency": args.concurrency, "duration": args.duration, "warmup": args.warmup}
        bare = measure(
            "bare", bare_port, [get_request("/bare")], **load, server_pid=bare_server.pid
        )

        def measure_agents(name: str, paths: list[tuple[str, str]]) -> dict[str, float]:
            """Drive the agents app with (user, path) pairs, each with the user's token."""
            requests = [get_request(path, tokens[user]) for user, path in paths]
            return measure(name, agents_port, requests, **load, server_pid=agents.pid)

        base = "/api/v1/users"
        listing = measure_agents(
            "list", [(user, f"{base}/{user}/conversations?limit=20") for user, _ in targets]
        )
        detail = measure_agents(
            "detail", [(user, f"{base}/{user}/conversations/{cid}") for user, cid in targets]
        )
        profile = measure_agents(
            "profile", [(user, f"{base}/{user}/profile") for user, _ in targets]
        )
        summary = {
            "conversations": args.conversations,
            "list_rps": round(listing["rps"], 1),
            "list_p50_ms": round(listing["p50_ms"], 2),
            "list_p99_ms": round(listing["p99_ms"], 2),
            "detail_rps": round(detail["rps"], 1),
            "profile_rps": round(profile["rps"], 1),
            "bare_rps": round(bare["rps"], 1),
            "list_vs_bare": round(listing["rps"] / bare["rps"], 3) if bare["rps"] else 0.0,
        }
        print(json.dumps(summary))
        return 0
    finally:
        for server in servers:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep_database:
            _admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
