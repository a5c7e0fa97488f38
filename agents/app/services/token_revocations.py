"""Which bearer tokens were revoked: ``users.tokens_valid_after`` (migration 010), as this process
last saw it, at most ``REFRESH_SECONDS`` old.

Auth moves a user's ``tokens_valid_after`` to the current time on sign-out, ``app/uninstalled``
and ``shop/redact``; a token issued (``iat``) before it is refused here, on every history route
and on the chat's ``start`` / ``oauth_complete``, within ``REFRESH_SECONDS`` (2 s, inside the 5 s
promised).

Why a per-process copy polled as a feed, and not a read per request: every few seconds one query
fetches the revocations newer than the previous look (an index probe of the partial index on
``tokens_valid_after``; usually no rows), and a request only looks its user up in a dict.
Measured with ``bench/revocation_check.py --users 1000 --requests 50000`` (the token check of a
history request, sequential, on this shared 2-core machine, three runs): the check alone took
1.1-4.2 us; with this feed -0.2 to +0.7 us more (noise); with a PostgreSQL read per request
+86-230 us; with a Redis GET per request (a key auth would write beside the update)
+126-195 us, each a network round trip the request waits for. A per-user cache refreshed every 2 s would pay
the PostgreSQL read again on most requests once many users are active (the history benchmark
spreads its requests over 10,000 users). The feed's cost does not grow with traffic or users:
one small query per process every 2 s.

Only revocations younger than the token lifetime (``IDENTITY_TOKEN_TTL_SECONDS``, the same on both
services) can matter: a token issued before an older one has expired anyway, so the copy holds
at most the users who signed out within a day. Each look reaches ``OVERLAP_SECONDS`` back past the
previous one, so a revocation committed a little after its timestamp (auth writes it with
``clock_timestamp()`` as the last statement before the commit) is not missed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from app.core.outage import Outage
from app.exceptions import StoreUnavailable
from app.services.identity_db import Pool, connect
from shared.tokens import TokenClaims

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 2.0
OVERLAP_SECONDS = 30.0
# While PostgreSQL does not answer, the last copy still decides, for this long after it was
# last refreshed: a revocation is written to PostgreSQL, so while it is down for auth as well
# none can be missed, and chats reopened during a database maintenance keep their owners. Past
# it (or before any copy), a revocation could have been missed: StoreUnavailable.
STALE_GRACE_SECONDS = 300.0

# One row whatever matches: the database's clock (the next look starts from it) and the changes.
_CHANGES = """
SELECT extract(epoch FROM statement_timestamp())::float8 AS checked_at,
       coalesce(array_agg(id), '{}') AS user_ids,
       coalesce(array_agg(extract(epoch FROM tokens_valid_after)::float8), '{}') AS valid_after
FROM users
WHERE tokens_valid_after > to_timestamp($1)
"""


class TokenRevocations:
    def __init__(
        self,
        *,
        pool: Pool,
        token_ttl_seconds: int,
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self._pool = pool
        self._ttl = token_ttl_seconds
        self._refresh_seconds = refresh_seconds
        self._valid_after: dict[str, float] = {}
        # Unix time (the database's clock) from which the next look reads; None before the first.
        self._since: float | None = None
        self._fresh_until = 0.0  # monotonic
        self._refreshed_at = -STALE_GRACE_SECONDS - 1.0  # monotonic; never yet
        self._loading: asyncio.Task[None] | None = None
        self._outage = Outage(
            "PostgreSQL",
            who="token revocation check",
            meanwhile=f"the last copy decides for up to {STALE_GRACE_SECONDS:.0f} s",
        )

    async def is_revoked(self, claims: TokenClaims) -> bool:
        """True when ``claims`` were issued before their user's tokens were revoked.

        Raises StoreUnavailable when PostgreSQL does not answer and the copy is older than
        STALE_GRACE_SECONDS (or there is none): a revocation must not be missed because the
        database is down."""
        if time.monotonic() >= self._fresh_until:
            try:
                await self._refresh()
            except StoreUnavailable as exc:
                if time.monotonic() - self._refreshed_at > STALE_GRACE_SECONDS:
                    raise
                self._outage.failed(exc.__cause__ or exc)
            else:
                self._outage.recovered()
        valid_after = self._valid_after.get(claims.user_id)
        return valid_after is not None and claims.issued_at < valid_after

    async def _refresh(self) -> None:
        # One look at a time: requests arriving meanwhile wait for the same one.
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
            self._loading.add_done_callback(self._loaded)
        await asyncio.shield(self._loading)

    def _loaded(self, task: asyncio.Task[None]) -> None:
        self._loading = None
        if not task.cancelled():
            task.exception()  # retrieved here too: the waiters may all have gone

    async def _load(self) -> None:
        since = (
            time.time() - self._ttl - OVERLAP_SECONDS
            if self._since is None
            else self._since - OVERLAP_SECONDS
        )
        async with connect(self._pool) as connection:
            row = await connection.fetchrow(_CHANGES, since)
        checked_at: float = row["checked_at"]
        for user_id, valid_after in zip(row["user_ids"], row["valid_after"], strict=True):
            if valid_after > self._valid_after.get(user_id, 0.0):
                self._valid_after[user_id] = valid_after
        # Older revocations no longer matter: every token issued before them has expired.
        expired = checked_at - self._ttl
        for user_id in [u for u, moment in self._valid_after.items() if moment < expired]:
            del self._valid_after[user_id]
        self._since = checked_at
        self._refreshed_at = time.monotonic()
        self._fresh_until = self._refreshed_at + self._refresh_seconds
