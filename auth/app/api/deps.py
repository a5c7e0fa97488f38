"""Annotated dependencies of the auth routers."""

from __future__ import annotations

from typing import Annotated

import redis.asyncio as aioredis
from fastapi import Depends, Request

from app.config import Settings, get_settings
from app.services.shopify_client import ShopifyClient


def _redis(request: Request) -> aioredis.Redis:
    return request.app.state.redis


def _shopify(request: Request) -> ShopifyClient:
    return request.app.state.shopify


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[aioredis.Redis, Depends(_redis)]
ShopifyDep = Annotated[ShopifyClient, Depends(_shopify)]
