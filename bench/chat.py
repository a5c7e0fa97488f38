"""Chat WebSocket benchmark: N concurrent sessions against a real agents process.

Starts ``uvicorn app.main:app`` on a free port against a private PostgreSQL database (created and
migrated here, dropped at the end) and a claimed Redis database number (flushed at the end), the
same way the test plugin isolates test runs. Then N clients (the ``websockets`` library) each
start a conversation with a valid token and send M messages, waiting for CJ's reply to each one
(plus an optional think time, as a person would). The round trip of each message (send → reply)
is measured. The last line printed is the contract's JSON.

    .venv/bin/python bench/chat.py --sessions 200 --messages 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import redis
from websockets.asyncio.client import connect

from shared.ids import user_id_for_shop
from shared.testing.plugin import (
    _claim_redis_db,
    _release_redis_db,
    create_database,
    drop_database,
)
from shared.tokens import issue_token

REPO_DIR = Path(__file__).resolve().parents[1]
AGENTS_DIR = REPO_DIR / "agents"
REDIS_BASE_URL = os.environ.get("HIRECJ_TEST_REDIS_URL", "redis://127.0.0.1:6380").rstrip("/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"agents process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("agents process did not become healthy in time")


async def run_session(
    *, port: int, secret: str, index: int, messages: int, think_ms: float, latencies: list[float]
) -> int:
    """One client's conversation; the number of errors it met."""
    conversation_id = str(uuid.uuid4())
    shop = f"bench-{index}.myshopify.com"
    token = issue_token(user_id=user_id_for_shop(shop), shop=shop, secret=secret, ttl_seconds=3600)
    errors = 0
    try:
        async with connect(f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}") as ws:
            start = {
                "type": "start",
                "workflow": "shopify_onboarding",
                "conversation_id": conversation_id,
                "merchant_id": None,
                "user_id": user_id_for_shop(shop),
                "token": token,
            }
            await ws.send(json.dumps(start))
            for expected in ("conversation_started", "cj_message"):
                if json.loads(await ws.recv())["type"] != expected:
                    errors += 1
            for turn in range(messages):
                if think_ms:
                    await asyncio.sleep(random.uniform(0.5, 1.5) * think_ms / 1000)
                sent = time.perf_counter()
                await ws.send(
                    json.dumps({"type": "message", "text": f"question {turn} from {index}"})
                )
                frame = json.loads(await ws.recv())
                latencies.append((time.perf_counter() - sent) * 1000)
                if frame.get("type") != "cj_message":
                    errors += 1
    except Exception as exc:  # a refused connection, a closed socket, a bad frame: count it
        print(f"session {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
        errors += 1
    return errors


async def drive(*, port: int, secret: str, sessions: int, messages: int, think_ms: float) -> dict:
    latencies: list[float] = []
    started = time.perf_counter()
    errors = await asyncio.gather(
        *(
            run_session(
                port=port,
                secret=secret,
                index=index,
                messages=messages,
                think_ms=think_ms,
                latencies=latencies,
            )
            for index in range(sessions)
        )
    )
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return {
        "sessions": sessions,
        "messages": messages,
        "round_trips": len(latencies),
        "messages_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "errors": sum(errors),
        "elapsed_s": round(elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--messages", type=int, default=10, help="messages per session")
    parser.add_argument(
        "--think-ms",
        type=float,
        default=500,
        help="mean pause before each message (0 = send the next as soon as the reply arrives)",
    )
    args = parser.parse_args()

    database = f"hirecj_bench_{uuid.uuid4().hex[:10]}"
    database_url = create_database(database)
    redis_db, claim = _claim_redis_db()
    secret = "bench-" + secrets.token_hex(32)
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "IDENTITY_DATABASE_URL": database_url,
        "REDIS_URL": f"{REDIS_BASE_URL}/{redis_db}",
        "IDENTITY_TOKEN_SECRET": secret,
        "TOKEN_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ARCHIVER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("LLM_API_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=AGENTS_DIR,
        env=env,
    )  # fmt: skip
    try:
        wait_healthy(port, server)
        result = asyncio.run(
            drive(
                port=port,
                secret=secret,
                sessions=args.sessions,
                messages=args.messages,
                think_ms=args.think_ms,
            )
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        redis.Redis.from_url(f"{REDIS_BASE_URL}/{redis_db}").flushdb()
        _release_redis_db(redis_db, claim)
        drop_database(database)

    print(
        f"{result['sessions']} sessions x {result['messages']} messages "
        f"({result['round_trips']} round trips) in {result['elapsed_s']} s "
        f"(think time {args.think_ms:g} ms): {result['messages_per_s']} messages/s, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, errors {result['errors']}"
    )
    keys = ("sessions", "messages", "messages_per_s", "p50_ms", "p99_ms", "errors")
    print(json.dumps({key: result[key] for key in keys}))


if __name__ == "__main__":
    main()
