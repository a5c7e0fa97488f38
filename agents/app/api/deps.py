"""Dependencies shared by the agents routers, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from app.api.auth import CurrentUser as CurrentUser
from app.config import Settings, get_settings
from app.services.session_manager import SessionManager


def _redis(request: Request) -> aioredis.Redis:
    client: aioredis.Redis = request.app.state.redis
    return client


def _chat_sessions(request: Request) -> SessionManager:
    sessions: SessionManager = request.app.state.chat_sessions
    return sessions


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
ChatSessionsDep = Annotated[SessionManager, Depends(_chat_sessions)]
