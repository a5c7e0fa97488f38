"""Headers every response of both services carries, so a browser never sniffs a JSON body into
a page, never frames one of our pages, and never leaks a URL in a Referer.

- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``
  (the homepage already asks for no referrer; the API has nothing to refer from).
- ``Content-Security-Policy: frame-ancestors 'none'`` when the response sets no policy of its own
  (the homepage's richer one, which also says ``frame-ancestors 'none'``, is left alone). No
  ``default-src`` here: Swagger UI at ``/docs`` loads its scripts from a CDN outside production.
- ``Strict-Transport-Security`` only on https, as the scheme is after the trusted-proxy rule
  (``shared.client_address``): Heroku's router terminates TLS and says so in X-Forwarded-Proto.

A header the response already has is never replaced.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HSTS = b"max-age=31536000"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _ALWAYS + (
            ((b"strict-transport-security", HSTS),) if scope.get("scheme") == "https" else ()
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
