"""The archive loop as a task of the agents web process (ARCHIVER_ENABLED), for the lifespan."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from app.config import Settings
from app.services.conversation_archival import ConversationArchiver
from app.services.identity_db import Pool
from shared.redis_client import AnyRedis

logger = logging.getLogger(__name__)


@dataclass
class BackgroundArchiver:
    archiver: ConversationArchiver
    task: asyncio.Task[None]


def start_background_archiver(
    *, redis: AnyRedis, pool: Pool, settings: Settings
) -> BackgroundArchiver:
    """Start the archive loop as a task of the running event loop (the agents lifespan), on the
    app's own Redis client and PostgreSQL pool."""
    archiver = ConversationArchiver.from_settings(settings, redis=redis, pool=pool, concurrency=1)
    task = asyncio.create_task(archiver.run_forever(), name="conversation-archiver")
    logger.info("conversation archiver started")
    return BackgroundArchiver(archiver=archiver, task=task)


async def stop_background_archiver(handle: BackgroundArchiver, *, timeout: float = 10.0) -> None:
    """Cancel the loop (in-flight claims go back to the queue)."""
    handle.task.cancel()
    try:
        await asyncio.wait_for(asyncio.shield(handle.task), timeout)
    except asyncio.CancelledError:
        pass
    except TimeoutError:
        logger.error("conversation archiver did not stop within %.0f s", timeout)
    logger.info("conversation archiver stopped")
