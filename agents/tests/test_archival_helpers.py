"""Helpers for the archival tests: seeding through the session manager, a cuttable TCP proxy
(``shared.testing.tcp_proxy``, re-exported here)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import Engine, text

from app.config import get_settings
from app.core.redis_keys import ARCHIVE_SHARDS, due_key
from app.services.conversation_archival import ConversationArchiver
from app.services.identity_db import Pool, create_pool
from app.services.session_manager import SessionManager
from shared.testing.tcp_proxy import TcpProxy as TcpProxy

AGENTS_DIR = Path(__file__).resolve().parents[1]


def new_id() -> str:
    return str(uuid.uuid4())


def sessions(redis: aioredis.Redis, *, ttl: int = 3600, idle: int = 60) -> SessionManager:
    return SessionManager(redis, ttl_seconds=ttl, idle_seconds=idle)


async def seed(
    manager: SessionManager,
    *,
    conversation_id: str | None = None,
    messages: int = 3,
    user_id: str | None = None,
    merchant_id: str | None = None,
    shop: str | None = None,
    end: bool = False,
) -> str:
    """A live conversation written by the session manager's own code; its id."""
    conversation_id = conversation_id or new_id()
    await manager.create_session(
        conversation_id=conversation_id,
        workflow="shopify_onboarding",
        user_id=user_id,
        merchant_id=merchant_id,
        shop=shop,
    )
    for index in range(messages):
        await manager.append_message(
            conversation_id=conversation_id,
            user_id=user_id,
            sender="user" if index % 2 == 0 else "cj",
            content=f"message {index}",
        )
    if end:
        await manager.end_conversation(conversation_id=conversation_id, user_id=user_id)
    return conversation_id


async def seed_many(manager: SessionManager, count: int, *, messages: int = 3) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 100):
        ids += await asyncio.gather(
            *(seed(manager, messages=messages) for _ in range(min(100, count - start)))
        )
    return ids


async def queued_ids(redis: aioredis.Redis) -> list[str]:
    """Every conversation waiting in any shard of the archive queue, soonest due first."""
    entries = []
    for shard in range(ARCHIVE_SHARDS):
        entries += await redis.zrange(due_key(shard), 0, -1, withscores=True)
    return [member for member, _ in sorted(entries, key=lambda entry: entry[1])]


async def database_pool(database_url: str, **options: Any) -> Pool:
    """The service's own pool (app.services.identity_db.create_pool), pointed at ``database_url``."""
    settings = get_settings().model_copy(
        update={"identity_database_url": database_url, "identity_database_direct_url": database_url}
    )
    return await create_pool(settings, **options)


async def make_archiver(
    redis: aioredis.Redis, database_url: str, **options: Any
) -> ConversationArchiver:
    """An archiver on its own pool to ``database_url``; close it with close_pool(archiver.pool)."""
    defaults: dict[str, Any] = {"batch_size": 50, "lease_seconds": 60, "max_backoff": 0.5}
    pool = await database_pool(database_url, size=3)
    return ConversationArchiver(redis=redis, pool=pool, **{**defaults, **options})


def archived(engine: Engine, conversation_id: str) -> dict[str, Any] | None:
    with engine.connect() as connection:
        row = (
            connection.execute(
                text("SELECT * FROM conversations WHERE id = CAST(:id AS uuid)"),
                {"id": conversation_id},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def contents(row: dict[str, Any]) -> list[str]:
    return [message["content"] for message in row["messages"]]


def run_worker(
    *args: str, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """``python -m app.workers.archiver ARGS`` from agents/, with this run's stores."""
    return subprocess.Popen(
        [sys.executable, "-m", "app.workers.archiver", *args],
        cwd=AGENTS_DIR,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def summary_of(output: str) -> dict[str, Any]:
    return dict(json.loads(output.strip().splitlines()[-1]))
