"""Annotated dependencies of the auth routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings, get_settings
from app.services.shopify_client import ShopifyClient
from shared.redis_client import AnyRedis


def _redis(request: Request) -> AnyRedis:
    return request.app.state.redis


def _shopify(request: Request) -> ShopifyClient:
    return request.app.state.shopify


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[AnyRedis, Depends(_redis)]
ShopifyDep = Annotated[ShopifyClient, Depends(_shopify)]
