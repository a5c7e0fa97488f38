"""``GET /api/v1/shopify/config``: whether Connect Shopify can work here, asked by the homepage
before it sends the browser to the install route, so that a missing Shopify app is explained in
the page instead of on a bare JSON error."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from app.api.deps import SettingsDep
from app.config import Settings

router = APIRouter(prefix="/api/v1/shopify", tags=["shopify"])

_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class ShopifyConfig(BaseModel):
    configured: bool = Field(description="SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET are both set")
    demo: bool = Field(
        description="outside production, the shop admin URL is on this machine: the demo store"
    )


def _configured(settings: Settings) -> bool:
    secret = settings.shopify_client_secret
    return bool(settings.shopify_client_id) and bool(secret and secret.get_secret_value())


def _demo(settings: Settings) -> bool:
    """The fake Shopify that ``make dev`` runs answers on this machine; real shops never do."""
    if settings.environment == "production":
        return False
    # The template's host may be a placeholder such as "{shop}": only a literal one counts.
    host = urlsplit(settings.shopify_admin_url_template.replace("{shop}", "shop")).hostname
    return host in _LOOPBACK


@router.get("/config", response_model=ShopifyConfig)
def shopify_config(settings: SettingsDep, response: Response) -> ShopifyConfig:
    """Whether the Shopify app's credentials are set (``configured``) and whether they belong to
    the local demo store (``demo``). Says nothing about the credentials themselves."""
    # The homepage may be served from another origin: the app's CORS middleware allows it.
    response.headers["Cache-Control"] = "no-store"
    configured = _configured(settings)
    return ShopifyConfig(configured=configured, demo=configured and _demo(settings))
