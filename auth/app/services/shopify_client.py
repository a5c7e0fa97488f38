"""Calls to Shopify: the OAuth code exchange and the shop's profile (Admin REST API).

One ``httpx.AsyncClient`` (created in the lifespan) is shared. The code exchange is retried
once, and only when the connection failed (refused, reset or closed before an answer): a
timeout or an HTTP error answer is not retried, because Shopify may have used the code.
Neither the client secret nor an access token ever reaches a log line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from app.exceptions import UpstreamError

logger = logging.getLogger(__name__)

_RETRYABLE = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
MAX_ACCESS_TOKEN_CHARS = 255


@dataclass(frozen=True)
class AccessGrant:
    access_token: str
    scopes: list[str]

    def __repr__(self) -> str:  # never print the token, even in a traceback
        return f"AccessGrant(access_token=<hidden>, scopes={self.scopes!r})"


@dataclass(frozen=True)
class ShopProfile:
    shopify_id: str | None
    name: str | None
    email: str | None


class ShopifyClient:
    def __init__(self, *, http: httpx.AsyncClient, admin_url_template: str, api_version: str):
        self._http = http
        self._template = admin_url_template
        self._api_version = api_version

    def admin_url(self, shop: str) -> str:
        # ``shop`` is always a validated name.myshopify.com here, so it cannot change the host.
        return self._template.replace("{shop}", shop)

    async def exchange_code(
        self, *, shop: str, code: str, client_id: str, client_secret: str
    ) -> AccessGrant:
        url = f"{self.admin_url(shop)}/oauth/access_token"
        body = {"client_id": client_id, "client_secret": client_secret, "code": code}
        response = await self._post_with_one_retry(url, body, shop=shop)
        if response.status_code != 200:
            logger.warning("shopify token exchange for %s answered %d", shop, response.status_code)
            raise UpstreamError(
                f"Shopify refused the code exchange (HTTP {response.status_code}); "
                "start the install again"
            )
        payload = _json_object(response)
        token = payload.get("access_token") if payload else None
        scope = payload.get("scope", "") if payload else ""
        if not isinstance(token, str) or not token or len(token) > MAX_ACCESS_TOKEN_CHARS:
            raise UpstreamError("Shopify's code exchange answer has no usable access_token")
        if not isinstance(scope, str):
            scope = ""
        scopes = [item.strip() for item in scope.split(",") if item.strip()]
        return AccessGrant(access_token=token, scopes=scopes)

    async def _post_with_one_retry(
        self, url: str, body: dict[str, str], *, shop: str
    ) -> httpx.Response:
        for attempt in (1, 2):
            try:
                return await self._http.post(url, json=body, headers={"Accept": "application/json"})
            except _RETRYABLE as exc:
                logger.warning(
                    "shopify token exchange for %s: connection failed (%s), attempt %d",
                    shop,
                    type(exc).__name__,
                    attempt,
                )
                if attempt == 2:
                    raise UpstreamError(
                        "could not reach Shopify to complete the install; try again"
                    ) from None
            except httpx.TimeoutException:
                logger.warning("shopify token exchange for %s timed out", shop)
                raise UpstreamError("Shopify did not answer the code exchange in time") from None
            except httpx.HTTPError as exc:
                logger.warning("shopify token exchange for %s failed: %s", shop, type(exc).__name__)
                raise UpstreamError("the code exchange with Shopify failed") from None
        raise AssertionError("unreachable")

    async def fetch_shop_profile(self, *, shop: str, access_token: str) -> ShopProfile | None:
        """The shop's id, name and email, or None (logged) when Shopify does not give them."""
        url = f"{self.admin_url(shop)}/api/{self._api_version}/shop.json"
        try:
            response = await self._http.get(
                url, headers={"X-Shopify-Access-Token": access_token, "Accept": "application/json"}
            )
        except httpx.HTTPError as exc:
            logger.warning("shop.json for %s failed: %s", shop, type(exc).__name__)
            return None
        payload = _json_object(response) if response.status_code == 200 else None
        shop_data = payload.get("shop") if payload else None
        if not isinstance(shop_data, dict):
            logger.warning(
                "shop.json for %s answered %d without a shop", shop, response.status_code
            )
            return None
        return ShopProfile(
            shopify_id=_short_text(shop_data.get("id"), 100),
            name=_short_text(shop_data.get("name"), 255),
            email=_short_text(shop_data.get("email"), 255),
        )


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _short_text(value: object, limit: int) -> str | None:
    if value is None or isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text[:limit] or None
