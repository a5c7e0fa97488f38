"""Lua scripts run by EVALSHA inside pipelines, on a single Redis or a cluster alike.

redis-py's ``Script`` objects reload themselves after a ``NOSCRIPT`` (a restarted Redis forgets
scripts) but cannot be queued in a cluster pipeline, and our writes pipeline a script with the
archive-queue command that follows it. So scripts are queued as plain ``EVALSHA`` commands and
``run_pipeline`` loads them everywhere and replays the pipeline once when Redis says it does not
know one. Every script queued this way is idempotent (a write carries its message id), since a
replay, or the cluster client's own retry after a node failure, may run it twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import NoScriptError

from shared.redis_client import AnyRedis


class LuaScript:
    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any]) -> None:
        pipe.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)

    async def load(self, redis: AnyRedis) -> None:
        # The cluster client sends SCRIPT LOAD to every primary by itself.
        await redis.script_load(self.source)


async def run_pipeline(
    redis: AnyRedis, build: Callable[[Any], None], *, scripts: Sequence[LuaScript]
) -> list[Any]:
    """Queue commands with ``build(pipe)`` and run them in one round trip (one per shard on a
    cluster); when a script is unknown to Redis, load ``scripts`` and replay once."""
    for attempt in range(2):
        pipe = redis.pipeline(transaction=False)
        build(pipe)
        try:
            replies: list[Any] = await pipe.execute()
            return replies
        except NoScriptError:
            if attempt:
                raise
            for script in scripts:
                await script.load(redis)
    raise AssertionError("unreachable")
