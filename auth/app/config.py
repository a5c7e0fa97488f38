"""The auth service's settings: the shared contract variables plus its own."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from shared.settings import ServiceSettings

AUTH_DIR = Path(__file__).resolve().parents[1]


class Settings(ServiceSettings):
    # Shopify's callback timestamp: older than this, or more than 5 minutes ahead, is refused.
    # 90 s is shopify-app-js's window: Shopify redirects the browser the moment it signs.
    oauth_timestamp_max_age_seconds: int = Field(default=90, ge=30)
    oauth_state_ttl_seconds: int = Field(default=600, ge=60, le=3600)
    shopify_api_version: str = "2025-07"
    shopify_http_timeout_seconds: float = Field(default=10.0, gt=0, le=60)


@lru_cache
def get_settings() -> Settings:
    return Settings.load(AUTH_DIR)
