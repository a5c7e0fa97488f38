"""Dependencies shared by the agents routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from app.api.auth import CurrentUser as CurrentUser
from app.config import Settings, get_settings


def _redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
