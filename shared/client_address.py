"""Who is on the other end of a request: the one rule both services use for the client's address
(rate limits per address count by it) and for the scheme (HSTS is sent over https only).

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only when the TCP peer is a trusted
proxy (``FORWARDED_ALLOW_IPS``, uvicorn's variable, with uvicorn's default of the loopback
addresses). A client can put anything in those headers, and a proxy only *appends* the address it
saw, so the list is read from the right: the client is the rightmost entry that is not itself a
trusted proxy. ``*`` means every peer is the platform's router (Heroku: a dyno can only be
reached through it), so the router's own entry, the rightmost one, is the client.

This is uvicorn's ``--forwarded-allow-ips`` rule except for ``*``, where uvicorn takes the
*leftmost* entry, which the client wrote: behind Heroku's router that would let anyone choose
the address a limit counts. So ``scripts/heroku_web.sh`` turns uvicorn's proxy handling off and
this middleware applies the rule for both services.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

# A header longer than this is not a proxy chain; only its last entries can matter anyway.
_MAX_HEADER_CHARS = 2048
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The peers whose forwarding headers are believed (``FORWARDED_ALLOW_IPS``)."""

    def __init__(self, spec: str) -> None:
        items = [item.strip() for item in spec.split(",") if item.strip()]
        self.every_peer = "*" in items
        self._networks: list[_Network] = []
        self._literals: set[str] = set()
        for item in items:
            if item == "*":
                continue
            try:
                self._networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                # Not an address: a unix socket path or a test client's name, compared as text.
                self._literals.add(item)
        self.is_trusted = lru_cache(maxsize=1024)(self._is_trusted)

    def _is_trusted(self, host: str) -> bool:
        if self.every_peer:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self._literals
        return any(address in network for network in self._networks)

    def is_proxy_entry(self, host: str) -> bool:
        """Whether an X-Forwarded-For entry names one of our proxies (skipped when reading).

        With ``*`` only the peer is known to be a proxy; the entries are what it saw."""
        return not self.every_peer and self._is_trusted(host)


def _header(scope: Scope, name: bytes) -> str | None:
    values = [value for key, value in scope.get("headers") or () if key == name]
    if not values:
        return None
    return b",".join(values).decode("latin-1")[-_MAX_HEADER_CHARS:]


def _host_of(entry: str) -> str:
    """``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:80`` or ``::1`` → the address alone."""
    entry = entry.strip()
    if entry.startswith("["):
        return entry[1:].split("]", 1)[0]
    if entry.count(":") == 1:
        return entry.split(":", 1)[0]
    return entry


def client_host(scope: Scope, trusted: TrustedProxies) -> str:
    """The client's address under the rule above ("unknown" when the server gave none)."""
    peer = scope.get("client")
    peer_host = str(peer[0]) if peer else ""
    if not peer_host or not trusted.is_trusted(peer_host):
        return peer_host or "unknown"
    forwarded = _header(scope, b"x-forwarded-for")
    if not forwarded:
        return peer_host
    entries = [_host_of(entry) for entry in forwarded.split(",") if entry.strip()]
    for entry in reversed(entries):
        if not trusted.is_proxy_entry(entry):
            return entry
    # Every entry is one of our proxies: the request came from inside; the first one sent it.
    return entries[0] if entries else peer_host


def forwarded_scheme(scope: Scope, trusted: TrustedProxies) -> str | None:
    """``https``/``http`` as the trusted proxy saw it, or None to keep the server's own."""
    peer = scope.get("client")
    if not peer or not trusted.is_trusted(str(peer[0])):
        return None
    proto = _header(scope, b"x-forwarded-proto")
    if not proto:
        return None
    # The nearest proxy's value is the last one; it is the only one we can believe.
    value = proto.split(",")[-1].strip().lower()
    return value if value in ("http", "https") else None


class ClientAddressMiddleware:
    """Rewrites ``scope["client"]`` and ``scope["scheme"]`` once, for everything inside it."""

    def __init__(self, app: ASGIApp, *, forwarded_allow_ips: str) -> None:
        self.app = app
        self.trusted = TrustedProxies(forwarded_allow_ips)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = client_host(scope, self.trusted)
            peer = scope.get("client")
            scheme = forwarded_scheme(scope, self.trusted)
            scope["client"] = (host, peer[1] if peer and host == peer[0] else 0)
            if scheme is not None:
                websocket = scope["type"] == "websocket"
                scope["scheme"] = scheme.replace("http", "ws") if websocket else scheme
        await self.app(scope, receive, send)
