"""A fake Shopify for tests and demos: a small real HTTP server on 127.0.0.1.

Point the auth service at it with ``SHOPIFY_ADMIN_URL_TEMPLATE=http://127.0.0.1:PORT/{shop}/admin``
(and the same client id and secret); production code is unchanged. It serves:

- ``GET /{shop}/admin/oauth/authorize``: 302 back to ``redirect_uri`` with ``code``, ``host``,
  ``shop``, ``state``, ``timestamp`` and a correct ``hmac`` (a browser can follow it). As the
  demo store (``demo=True``, ``--demo``) it first shows a page naming the shop and the requested
  scopes, clearly labelled as a demo, whose Approve button asks again with ``approve=1``.
- ``POST /{shop}/admin/oauth/access_token``: checks client id, secret and a single-use code,
  answers ``{"access_token", "scope"}``. Every request is recorded, and it can be told to answer
  5xx or to drop the connection.
- ``GET /{shop}/admin/api/{version}/shop.json``: the shop's name, email and id, for a token it
  issued (``X-Shopify-Access-Token``).
- ``GET /_fake/token-requests`` and ``POST /_fake/mode`` (``{"token_exchange": "ok"|"error"|
  "drop", "shop_json": "ok"|"error", "times": N}``) let a test that runs it as a process assert
  and steer it.

CLI: ``python -m shared.testing.fake_shopify --port N --client-id X --client-secret Y [--demo]``
(``make dev`` runs it with ``--demo`` when no Shopify credentials are configured).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import signal
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from shared.testing.demo_store_page import approval_page

logger = logging.getLogger(__name__)

_AUTHORIZE = re.compile(r"^/(?P<shop>[^/]+)/admin/oauth/authorize$")
_ACCESS_TOKEN = re.compile(r"^/(?P<shop>[^/]+)/admin/oauth/access_token$")
_SHOP_JSON = re.compile(r"^/(?P<shop>[^/]+)/admin/api/(?P<version>[^/]+)/shop\.json$")
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def sign_query(params: dict[str, str], secret: str) -> str:
    """Shopify's OAuth ``hmac``: hex HMAC-SHA256 of the params (minus hmac/signature), sorted
    by key and form-encoded as ``k=v&k=v``."""
    message = urlencode(sorted((k, v) for k, v in params.items() if k not in ("hmac", "signature")))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_webhook(body: bytes, secret: str) -> str:
    """``X-Shopify-Hmac-Sha256``: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def host_param(shop: str) -> str:
    """The ``host`` Shopify sends today: base64 of ``admin.shopify.com/store/NAME``."""
    name = shop.removesuffix(".myshopify.com")
    return base64.b64encode(f"admin.shopify.com/store/{name}".encode()).decode()


@dataclass
class TokenRequest:
    shop: str
    body: dict[str, Any]
    at: float


@dataclass
class _State:
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (shop, scope)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> shop
    token_requests: list[TokenRequest] = field(default_factory=list)
    shop_requests: list[str] = field(default_factory=list)
    token_mode: str = "ok"
    token_mode_times: int = 0
    shop_json_mode: str = "ok"
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeShopify:
    """The server; ``start()`` runs it in a daemon thread, ``stop()`` ends it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        host: str = "127.0.0.1",
        port: int = 0,
        demo: bool = False,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        # The demo store asks the person to approve; tests get the redirect at once.
        self.demo = demo
        self.state = _State()
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url_template(self) -> str:
        return f"{self.base_url}/{{shop}}/admin"

    def start(self) -> FakeShopify:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # What tests assert and steer.
    @property
    def token_requests(self) -> list[TokenRequest]:
        with self.state.lock:
            return list(self.state.token_requests)

    @property
    def shop_requests(self) -> list[str]:
        with self.state.lock:
            return list(self.state.shop_requests)

    def set_token_exchange(self, mode: str, times: int = 1_000_000) -> None:
        """``ok``, ``error`` (answer 502) or ``drop`` (close without answering), ``times`` times."""
        if mode not in ("ok", "error", "drop"):
            raise ValueError(f"unknown token exchange mode {mode!r}")
        with self.state.lock:
            self.state.token_mode, self.state.token_mode_times = mode, times

    def set_shop_json(self, mode: str) -> None:
        if mode not in ("ok", "error"):
            raise ValueError(f"unknown shop.json mode {mode!r}")
        with self.state.lock:
            self.state.shop_json_mode = mode

    def reset(self) -> None:
        """Forget every code, token, request and failure mode (between tests)."""
        with self.state.lock:
            self.state.codes.clear()
            self.state.tokens.clear()
            self.state.token_requests.clear()
            self.state.shop_requests.clear()
            self.state.token_mode, self.state.token_mode_times = "ok", 0
            self.state.shop_json_mode = "ok"

    def issued_tokens(self) -> list[str]:
        with self.state.lock:
            return list(self.state.tokens)

    def _next_token_mode(self) -> str:
        with self.state.lock:
            if self.state.token_mode == "ok" or self.state.token_mode_times <= 0:
                return "ok"
            self.state.token_mode_times -= 1
            return self.state.token_mode


class _Handler(BaseHTTPRequestHandler):
    fake: FakeShopify
    protocol_version = "HTTP/1.1"
    server_version = "FakeShopify/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's signature
        logger.debug("fake shopify: " + format, *args)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if match := _AUTHORIZE.match(parts.path):
            self._authorize(match["shop"], query)
        elif match := _SHOP_JSON.match(parts.path):
            self._shop_json(match["shop"])
        elif parts.path == "/_fake/token-requests":
            self._json(200, [{"shop": r.shop, "body": r.body} for r in self.fake.token_requests])
        else:
            self._json(404, {"errors": "Not Found"})

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        body = self._read_body()
        if match := _ACCESS_TOKEN.match(parts.path):
            self._access_token(match["shop"], body)
        elif parts.path == "/_fake/mode":
            self._mode(body)
        else:
            self._json(404, {"errors": "Not Found"})

    def _authorize(self, shop: str, query: dict[str, str]) -> None:
        fake = self.fake
        redirect_uri = query.get("redirect_uri", "")
        if not _SHOP.match(shop) or query.get("client_id") != fake.client_id:
            self._json(400, {"errors": "unknown shop or client_id"})
            return
        if not redirect_uri.startswith(("http://", "https://")):
            self._json(400, {"errors": "redirect_uri must be an absolute http(s) URL"})
            return
        if fake.demo and query.get("approve") != "1":
            self._html(200, approval_page(shop, query))
            return
        code = secrets.token_hex(16)
        with fake.state.lock:
            fake.state.codes[code] = (shop, query.get("scope", ""))
        params = {
            "code": code,
            "host": host_param(shop),
            "shop": shop,
            "state": query.get("state", ""),
            "timestamp": str(int(time.time())),
        }
        params["hmac"] = sign_query(params, fake.client_secret)
        separator = "&" if urlsplit(redirect_uri).query else "?"
        self.send_response(302)
        self.send_header("Location", redirect_uri + separator + urlencode(params))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _access_token(self, shop: str, raw: bytes) -> None:
        fake = self.fake
        body = _parse_body(raw, self.headers.get("Content-Type", ""))
        with fake.state.lock:
            fake.state.token_requests.append(TokenRequest(shop=shop, body=body, at=time.time()))
        mode = fake._next_token_mode()
        if mode == "drop":
            # Close without a byte of answer: the client sees a dropped connection.
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if mode == "error":
            self._json(502, {"errors": "Bad Gateway"})
            return
        if body.get("client_id") != fake.client_id or not hmac.compare_digest(
            str(body.get("client_secret", "")), fake.client_secret
        ):
            self._json(400, {"error": "invalid_client"})
            return
        with fake.state.lock:
            grant = fake.state.codes.pop(str(body.get("code", "")), None)
            if grant is None or grant[0] != shop:
                grant = None
            else:
                token = "shpat_" + secrets.token_hex(16)
                fake.state.tokens[token] = shop
        if grant is None:
            self._json(400, {"error": "invalid_request", "error_description": "bad code"})
            return
        self._json(200, {"access_token": token, "scope": grant[1]})

    def _shop_json(self, shop: str) -> None:
        fake = self.fake
        token = self.headers.get("X-Shopify-Access-Token", "")
        with fake.state.lock:
            fake.state.shop_requests.append(shop)
            valid = fake.state.tokens.get(token) == shop
            failing = fake.state.shop_json_mode == "error"
        if failing:
            self._json(503, {"errors": "Unavailable"})
        elif not valid:
            self._json(401, {"errors": "[API] Invalid API key or access token"})
        else:
            name = shop.removesuffix(".myshopify.com")
            self._json(
                200,
                {
                    "shop": {
                        "id": zlib.crc32(shop.encode()) + 10_000_000_000,
                        "name": name.replace("-", " ").title(),
                        "email": f"owner@{name}.example",
                        "myshopify_domain": shop,
                    }
                },
            )

    def _mode(self, raw: bytes) -> None:
        body = _parse_body(raw, "application/json")
        try:
            if "token_exchange" in body:
                self.fake.set_token_exchange(
                    str(body["token_exchange"]), int(body.get("times", 1_000_000))
                )
            if "shop_json" in body:
                self.fake.set_shop_json(str(body["shop_json"]))
        except ValueError as exc:
            self._json(400, {"errors": str(exc)})
            return
        self._json(200, {"ok": True})

    def _html(self, status: int, page: str) -> None:
        data = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1_000_000)) if length > 0 else b""

    def _json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            parsed = json.loads(raw or b"{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(raw.decode(errors="replace")))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fake Shopify OAuth + Admin API server.")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument(
        "--demo", action="store_true", help="the labelled demo store: ask before approving"
    )
    args = parser.parse_args(argv)
    fake = FakeShopify(
        client_id=args.client_id,
        client_secret=args.client_secret,
        host=args.host,
        port=args.port,
        demo=args.demo,
    )
    # SIGTERM ends the loop like Ctrl-C, so a test's terminate() shuts it down cleanly.
    signal.signal(signal.SIGTERM, _interrupt)
    sys.stdout.write(
        f"fake shopify{' (demo store)' if args.demo else ''} listening on {fake.base_url} "
        f"(SHOPIFY_ADMIN_URL_TEMPLATE={fake.admin_url_template})\n"
    )
    sys.stdout.flush()
    try:
        fake.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
