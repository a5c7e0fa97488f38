"""Several processes on one Redis and one PostgreSQL, as production runs: two agents web processes
(each with its in-app archiver) and an archiver worker carry a chat load whose clients move
between the processes; then ``--all``. Under HIRECJ_TEST_STACK=scaled the same runs on a Redis
Cluster and through PgBouncer in transaction mode."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest
from sqlalchemy import Engine, text
from tests.chat_factories import create_user, token_for
from tests.test_archival_helpers import AGENTS_DIR, run_worker
from websockets.asyncio.client import connect

from shared.postgres import libpq_url
from shared.testing.ports import free_port

CLIENTS = 12
TURNS = 6


def _wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise AssertionError(f"agents on {port} exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"agents on {port} did not become healthy")


@pytest.fixture
def agents_ports(clean_database: Engine, redis_client: object) -> Iterator[list[int]]:
    """Two agents processes with the archiver on, and a worker, on this run's stores."""
    env = {**os.environ, "ARCHIVER_ENABLED": "true", "ARCHIVE_IDLE_SECONDS": "1"}
    ports = [free_port(), free_port()]
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--log-level", "warning"]
    processes = [
        subprocess.Popen([*command, "--port", str(port)], cwd=AGENTS_DIR, env=env) for port in ports
    ]
    worker = run_worker(env={"ARCHIVE_IDLE_SECONDS": "1"})
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_healthy(port, process)
        yield ports
    finally:
        for process in [*processes, worker]:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
        worker.communicate(timeout=20)


async def _client(index: int, ports: list[int], shop: str) -> list[tuple[str, str]]:
    """One merchant's conversation, each turn on a process picked at random; (sent, replied)."""
    conversation_id = str(uuid.uuid4())
    token = token_for(shop)
    said: list[tuple[str, str]] = []
    for turn in range(TURNS):
        port = random.choice(ports)
        async with connect(f"ws://127.0.0.1:{port}/ws/chat/{conversation_id}") as ws:
            start = {"type": "start", "conversation_id": conversation_id, "token": token}
            await ws.send(json.dumps(start))
            assert json.loads(await ws.recv())["type"] == "conversation_started"
            if turn == 0:
                assert json.loads(await ws.recv())["type"] == "cj_message"  # the greeting
            text_sent = f"client {index} turn {turn}"
            frame = {"type": "message", "text": text_sent, "message_id": str(uuid.uuid4())}
            await ws.send(json.dumps(frame))
            reply = json.loads(await ws.recv())
            assert reply["type"] == "cj_message", reply
            said.append((text_sent, reply["content"]))
    return said


def _archived(engine: Engine) -> dict[str, list[dict[str, str]]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT user_id, messages FROM conversations")).all()
    return {row.user_id: row.messages for row in rows}


def test_two_web_processes_and_a_worker_archive_every_replied_message_once_in_order(
    agents_ports: list[int], clean_database: Engine
) -> None:
    shops = [f"multi-{index}.myshopify.com" for index in range(CLIENTS)]
    users = [create_user(clean_database, shop) for shop in shops]

    async def load() -> list[list[tuple[str, str]]]:
        return await asyncio.gather(
            *(_client(index, agents_ports, shop) for index, shop in enumerate(shops))
        )

    conversations = asyncio.run(load())
    final = run_worker("--all", "--json")
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    archived = _archived(clean_database)
    for user_id, said in zip(users, conversations, strict=True):
        messages = archived[user_id]
        expected = [item for pair in said for item in pair]
        assert [m["content"] for m in messages[1:]] == expected  # after the greeting
        ids = [m["message_id"] for m in messages]
        assert len(ids) == len(set(ids))


def test_history_answers_32_concurrent_clients_without_a_5xx(
    agents_ports: list[int], clean_database: Engine
) -> None:
    shops = [f"reader-{index}.myshopify.com" for index in range(8)]
    users = [create_user(clean_database, shop) for shop in shops]
    with clean_database.begin() as connection:
        for user_id in users:
            for n in range(6):
                connection.execute(
                    text(
                        "INSERT INTO conversations (id, user_id, workflow_name, started_at, "
                        "messages) VALUES (:id, :user, 'shopify_onboarding', now(), "
                        "CAST(:messages AS jsonb))"
                    ),
                    {
                        "id": str(uuid.uuid4()),
                        "user": user_id,
                        "messages": json.dumps(
                            [{"sender": "user", "content": f"refund order {n}", "timestamp": "t"}]
                        ),
                    },
                )

    async def reader(index: int, client: httpx.AsyncClient) -> list[int]:
        shop, user = shops[index % len(shops)], users[index % len(users)]
        headers = {"Authorization": f"Bearer {token_for(shop)}"}
        base = f"/api/v1/users/{user}"
        statuses = []
        page = await client.get(f"{base}/conversations", headers=headers)
        statuses.append(page.status_code)
        rows = page.json()["conversations"]
        for path in (
            f"{base}/conversations/{rows[0]['id']}",
            f"{base}/conversations?q=refund",
            f"{base}/profile",
            f"{base}/export",
        ):
            statuses.append((await client.get(path, headers=headers)).status_code)
        if index < len(shops):  # one delete per user, of a conversation nobody else reads
            deleted = await client.delete(f"{base}/conversations/{rows[-1]['id']}", headers=headers)
            statuses.append(deleted.status_code)
        return statuses

    async def readers() -> list[list[int]]:
        port = random.choice(agents_ports)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            return await asyncio.gather(*(reader(index, client) for index in range(32)))

    statuses = [status for result in asyncio.run(readers()) for status in result]
    assert set(statuses) <= {200, 204}, statuses
    assert statuses.count(204) == len(shops)


def test_migrations_run_twice_through_the_direct_url_and_leave_no_lock() -> None:
    script = Path(AGENTS_DIR) / "scripts" / "run_migration.py"
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, str(script)], cwd=AGENTS_DIR, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
    assert "nothing to apply" in result.stdout
    direct = os.environ.get("IDENTITY_DATABASE_DIRECT_URL") or os.environ["IDENTITY_DATABASE_URL"]
    connection = psycopg2.connect(libpq_url(direct))
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            )
            assert cursor.fetchone() == (0,)
    finally:
        connection.close()
