"""Each Procfile process runs for real under honcho, in a Heroku-like environment.

Heroku gives a dyno ``PORT`` and add-on URLs (``DATABASE_URL`` with the old ``postgres://``
scheme, ``REDIS_URL``) and runs ``release`` before the new ``web`` and ``worker`` start. Here
that is played with honcho against a private database and this run's Redis database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from shared.db import sqlalchemy_url
from shared.testing.plugin import REPO_DIR, create_database, drop_database
from shared.testing.ports import free_port

pytestmark = pytest.mark.slow
HONCHO = Path(sys.executable).with_name("honcho")

SEED_CONVERSATION = """
import asyncio, sys
from app.config import get_settings
from app.services.session_manager import SessionManager
from shared.redis_client import redis_from_settings

async def main(conversation_id):
    settings = get_settings()
    redis = redis_from_settings(settings)
    manager = SessionManager(redis, ttl_seconds=settings.redis_session_ttl,
                             idle_seconds=settings.archive_idle_seconds)
    await manager.create_session(conversation_id=conversation_id, workflow="shopify_onboarding")
    for n in range(3):
        await manager.append_message(conversation_id=conversation_id, user_id=None,
                                     sender="user", content=f"question {n}")
        await manager.append_message(conversation_id=conversation_id, user_id=None,
                                     sender="cj", content=f"answer {n}")
    await manager.end_conversation(conversation_id=conversation_id, user_id=None)
    await redis.aclose()

asyncio.run(main(sys.argv[1]))
"""


@pytest.fixture
def heroku_env(redis_url: str) -> Iterator[dict[str, str]]:
    name = f"hirecj_heroku_{uuid.uuid4().hex[:8]}"
    url = create_database(name, migrate=False)
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "IDENTITY_DATABASE_URL",
            "IDENTITY_DATABASE_DIRECT_URL",
            "ARCHIVER_ENABLED",
            "LOG_FORMAT",
            "PORT",
            "SERVICE",
        }
    }
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            "DATABASE_URL": url.replace("postgresql://", "postgres://", 1),
            "REDIS_URL": redis_url,
            "ENVIRONMENT": "production",
            "ARCHIVE_IDLE_SECONDS": "1",
        }
    )
    yield env
    drop_database(name)


def honcho(process: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(HONCHO), "-f", "Procfile", "start", process],
        cwd=REPO_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
    return output


def query(env: dict[str, str], sql: str) -> object:
    engine = create_engine(sqlalchemy_url(env["DATABASE_URL"]))
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def release(env: dict[str, str]) -> tuple[int, str]:
    process = honcho("release", env)
    output, _ = process.communicate(timeout=120)
    return process.returncode, output


def test_release_applies_migrations_and_two_releases_at_once_apply_each_once(
    heroku_env: dict[str, str],
) -> None:
    first, second = honcho("release", heroku_env), honcho("release", heroku_env)
    outputs = [process.communicate(timeout=120)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    migrations = sorted(
        p.name for p in (REPO_DIR / "agents/app/migrations").glob("[0-9][0-9][0-9]_*.sql")
    )
    assert query(heroku_env, "SELECT count(*) FROM schema_migrations") == len(migrations)
    assert query(heroku_env, "SELECT count(DISTINCT name) FROM schema_migrations") == len(
        migrations
    )
    assert sum("nothing to apply" in output for output in outputs) == 1


@pytest.mark.parametrize("service", ["auth", "agents"])
def test_web_answers_health_on_port(heroku_env: dict[str, str], service: str) -> None:
    assert release(heroku_env)[0] == 0
    port = free_port()
    env = {**heroku_env, "SERVICE": service, "PORT": str(port), "ARCHIVER_ENABLED": "false"}
    process = honcho("web", env)
    body: dict[str, object] = {}
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            body = response.json()
            if response.status_code == 200:
                break
            time.sleep(0.2)
    finally:
        output = stop(process)
    assert body.get("status") == "ok", output
    assert body.get("service") == service


def test_web_refuses_an_unknown_service(heroku_env: dict[str, str]) -> None:
    process = honcho("web", {**heroku_env, "SERVICE": "billing", "PORT": str(free_port())})
    output, _ = process.communicate(timeout=30)
    assert process.returncode != 0
    assert "SERVICE must be 'auth' or 'agents'" in output


def test_worker_archives_a_conversation(heroku_env: dict[str, str]) -> None:
    assert release(heroku_env)[0] == 0
    conversation_id = str(uuid.uuid4())
    seeded = subprocess.run(
        [sys.executable, "-c", SEED_CONVERSATION, conversation_id],
        cwd=REPO_DIR / "agents",
        env=heroku_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert seeded.returncode == 0, seeded.stderr
    process = honcho("worker", heroku_env)
    count: object = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            count = query(
                heroku_env,
                f"SELECT message_count FROM conversations WHERE id = '{conversation_id}'",
            )
            if count == 6:
                break
            time.sleep(0.3)
    finally:
        output = stop(process)
    assert count == 6, output
