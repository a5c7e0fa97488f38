from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

pytest_plugins = ["shared.testing.plugin"]


@pytest.fixture
async def aredis(redis_url: str, redis_client: object) -> AsyncIterator[aioredis.Redis]:
    """An async client on this run's Redis database (emptied first, by ``redis_client``)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()
