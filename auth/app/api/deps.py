"""Annotated dependencies of the auth routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings, get_settings
from app.services.shopify_client import ShopifyClient
from shared.rate_limits import RateLimiter
from shared.redis_client import AnyRedis


def _redis(request: Request) -> AnyRedis:
    return request.app.state.redis


def _shopify(request: Request) -> ShopifyClient:
    return request.app.state.shopify


def _rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


def _client_host(request: Request) -> str:
    # Already the client's address under shared.client_address's trusted-proxy rule.
    return request.client.host if request.client else "unknown"


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[AnyRedis, Depends(_redis)]
ShopifyDep = Annotated[ShopifyClient, Depends(_shopify)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
ClientHost = Annotated[str, Depends(_client_host)]
