"""Chat WebSocket benchmark: N concurrent sessions against a real agents process, beside a bare
endpoint measured in the same run.

Starts ``uvicorn app.main:app`` on a free port against a private PostgreSQL database (created and
migrated here, dropped at the end) and a claimed Redis database number (flushed at the end), the
same way the test plugin isolates test runs. Then N clients (the ``websockets`` library) each
start a conversation with a valid token and send M messages, waiting for CJ's reply to each one
(plus an optional think time, as a person would). The round trip of each message (send → reply)
is measured.

The ceiling, measured with the same clients under the same uvicorn: a bare FastAPI WebSocket
endpoint that answers the same frames and stores each message pair (the merchant's message and
the reply) with one Redis pipeline (RPUSH + EXPIRE), and nothing else: no identity, no
ownership, no version, no archive queue, no limits. ``ratio`` is agents' rate over the bare one.
The last line printed is the contract's JSON.

    .venv/bin/python bench/chat.py --sessions 200 --messages 10
    .venv/bin/python bench/chat.py --sessions 50 --messages 40 --think-ms 0
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from websockets.asyncio.client import connect

from shared.ids import user_id_for_shop
from shared.testing.plugin import (
    _claim_redis_db,
    _release_redis_db,
    create_database,
    drop_database,
)
from shared.testing.ports import free_port
from shared.tokens import issue_token

REPO_DIR = Path(__file__).resolve().parents[1]
AGENTS_DIR = REPO_DIR / "agents"
REDIS_BASE_URL = os.environ.get("HIRECJ_TEST_REDIS_URL", "redis://127.0.0.1:6380").rstrip("/")


def wait_open(port: int, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server process exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("server process did not open its port in time")


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
                frame = {
                    "type": "message",
                    "text": f"question {turn} from {index}",
                    "message_id": str(uuid.uuid4()),  # as the homepage sends it, for retries
                }
                await ws.send(json.dumps(frame))
                answer = json.loads(await ws.recv())
                latencies.append((time.perf_counter() - sent) * 1000)
                if answer.get("type") != "cj_message":
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


BARE_APP = """
import json
import os
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

app = FastAPI()
store = aioredis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)


def said(sender, content):
    stamp = datetime.now(UTC).isoformat()
    return {"sender": sender, "content": content, "timestamp": stamp,
            "message_id": str(uuid.uuid4())}


async def keep(key, *messages):
    pipe = store.pipeline(transaction=False)
    pipe.rpush(key, *(json.dumps(m) for m in messages))
    pipe.expire(key, 86400)
    await pipe.execute()


@app.websocket("/ws/chat/{conversation_id}")
async def chat(websocket: WebSocket, conversation_id: str):
    await websocket.accept()
    key = "bare:{" + conversation_id + "}:messages"
    try:
        while True:
            frame = json.loads(await websocket.receive_text())
            if frame["type"] == "start":
                greeting = said("cj", "Hi! I'm CJ.")
                await keep(key, greeting)
                await websocket.send_text(json.dumps({
                    "type": "conversation_started", "conversation_id": conversation_id,
                    "user_id": None, "workflow": "shopify_onboarding", "resumed": False,
                    "messages": [], "restored": False, "archived_at": None}))
                await websocket.send_text(json.dumps({"type": "cj_message", **greeting}))
            elif frame["type"] == "message":
                reply = said("cj", "Got it. Tell me more about your store.")
                await keep(key, said("user", frame["text"]), reply)
                await websocket.send_text(json.dumps({"type": "cj_message", **reply}))
    except WebSocketDisconnect:
        return
"""


def serve(app: str, *, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """``app`` under the same uvicorn for both, on a free port, once it answers."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=cwd,
        env=env,
    )  # fmt: skip
    wait_open(port, server)
    return server, port


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


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
    parser.add_argument("--rounds", type=int, default=3, help="bare/agents pairs, alternated")
    args = parser.parse_args()

    database = f"hirecj_bench_{uuid.uuid4().hex[:10]}"
    database_url = create_database(database)
    redis_db, claim = _claim_redis_db()
    secret = "bench-" + secrets.token_hex(32)
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "IDENTITY_DATABASE_URL": database_url,
        "REDIS_URL": f"{REDIS_BASE_URL}/{redis_db}",
        "IDENTITY_TOKEN_SECRET": secret,
        "TOKEN_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "ARCHIVER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        # The limits still run (their cost is part of the figure); they must not refuse the load.
        "CHAT_MESSAGES_PER_MINUTE": "1000000",
        "NEW_CONVERSATIONS_PER_MINUTE_PER_IP": "1000000",
    }
    env.pop("LLM_API_KEY", None)
    load = {
        "secret": secret,
        "sessions": args.sessions,
        "messages": args.messages,
        "think_ms": args.think_ms,
    }
    bare_dir = Path(tempfile.mkdtemp(prefix="hirecj-bare-chat-"))
    (bare_dir / "bare_chat.py").write_text(BARE_APP)
    rounds: list[tuple[dict[str, Any], dict[str, Any]]] = []
    try:
        bare, bare_port = serve("bare_chat:app", cwd=bare_dir, env=env)
        server, port = serve("app.main:app", cwd=AGENTS_DIR, env=env)
        try:
            # Alternated, round by round: on a shared machine the load changes from one
            # minute to the next, so each ratio compares runs made seconds apart.
            for _ in range(args.rounds):
                bare_round = asyncio.run(drive(port=bare_port, **load))
                rounds.append((bare_round, asyncio.run(drive(port=port, **load))))
        finally:
            stop(bare)
            stop(server)
    finally:
        redis.Redis.from_url(f"{REDIS_BASE_URL}/{redis_db}").flushdb()
        _release_redis_db(redis_db, claim)
        drop_database(database)
        shutil.rmtree(bare_dir, ignore_errors=True)

    for number, (bare_round, agents_round) in enumerate(rounds, start=1):
        for name, figures in (("bare", bare_round), ("agents", agents_round)):
            print(f"round {number} ", end="")
            print_figures(name, figures, args.think_ms)
    # The round with the median ratio speaks for the run (its own figures, not a mix).
    by_ratio = sorted(
        rounds, key=lambda pair: pair[1]["messages_per_s"] / pair[0]["messages_per_s"]
    )
    bare_result, result = by_ratio[len(by_ratio) // 2]
    ratios = [a["messages_per_s"] / b["messages_per_s"] for b, a in by_ratio]
    keys = ("sessions", "messages", "messages_per_s", "p50_ms", "p99_ms", "errors")
    summary = {key: result[key] for key in keys}
    summary["errors"] = sum(a["errors"] for _, a in rounds)
    summary["bare_messages_per_s"] = bare_result["messages_per_s"]
    summary["ratio"] = round(result["messages_per_s"] / bare_result["messages_per_s"], 3)
    summary["ratios"] = [round(ratio, 3) for ratio in ratios]
    print(json.dumps(summary))


def print_figures(name: str, figures: dict[str, Any], think_ms: float) -> None:
    print(
        f"{name:6s} {figures['sessions']} sessions x {figures['messages']} messages "
        f"({figures['round_trips']} round trips) in {figures['elapsed_s']} s "
        f"(think time {think_ms:g} ms): {figures['messages_per_s']} messages/s, "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, errors {figures['errors']}"
    )


if __name__ == "__main__":
    main()
