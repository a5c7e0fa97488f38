from collections.abc import AsyncIterator, Iterator

import pytest

from app.config import get_settings
from shared.redis_client import AnyRedis, create_async_redis
from shared.testing.stack import SCALED

pytest_plugins = ["shared.testing.plugin"]


@pytest.fixture
async def aredis(redis_url: str, redis_client: object) -> AsyncIterator[AnyRedis]:
    """An async client on this run's Redis (emptied first, by ``redis_client``)."""
    client = create_async_redis(redis_url, cluster=SCALED)
    yield client
    await client.aclose()


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings read again after the test sets variables, and forgotten after it."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()
