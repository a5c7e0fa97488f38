"""ConversationArchiver: moves live conversations from Redis to PostgreSQL, losing nothing.

One batch = claim up to ``archive_batch_size`` due conversations (a lease, see
archival/queue.py), snapshot them (one script call each, pipelined), upsert them in one
statement, then ack each lease only if the session's version is unchanged. Every step may fail or the process may die at any point: a claim
that is never acked comes back when its lease ends, and the upsert only ever moves a row forward,
so repeating a batch is harmless.

While PostgreSQL is down the batch is retried with capped exponential backoff (one log line when
the outage starts, one when it ends), and the Redis TTL of the claimed and soon-due conversations
is pushed out so none expires before it is archived. Redis keys are never deleted here: the chat
may continue from them, and the session TTL removes them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any

import asyncpg

from app.config import Settings
from app.core import metrics
from app.core.outage import Outage
from app.services.archival import search_index, store
from app.services.archival.outage import (
    REFUSED_ERRORS,
    REFUSED_FIX,
    ArchiverRefused,
    ArchiverUnavailable,
    ArchiveSummary,
)
from app.services.archival.queue import (
    Claim,
    ShardCursor,
    ack_archived,
    adopt_legacy_queue,
    all_keys,
    at_risk_ids,
    claim_due,
    earliest_lease_end,
    extend_leases,
    extend_ttls,
    next_due_at,
    queue_sizes,
    release_claims,
)
from app.services.archival.reconcile import reconcile as reconcile_sweep
from app.services.identity_db import DATABASE_ERRORS, Pool
from shared.errors import describe
from shared.redis_client import REDIS_ERRORS, AnyRedis

logger = logging.getLogger(__name__)

MERCHANTS_RECHECK_SECONDS = 60.0
LINK_PENDING_EVERY_SECONDS = 60.0
INDEX_BATCHES_PER_PASS = 4

BatchCallback = Callable[[int, int, float], None]


class ConversationArchiver:
    def __init__(
        self,
        *,
        redis: AnyRedis,
        pool: Pool,
        batch_size: int = 500,
        lease_seconds: int = 300,
        session_ttl: int = 86400,
        interval_seconds: int = 1800,
        concurrency: int = 2,
        max_backoff: float = 30.0,
        connect_timeout: int = 10,
    ) -> None:
        self.redis = redis
        self.pool = pool
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.session_ttl = session_ttl
        self.interval_seconds = interval_seconds
        self.concurrency = concurrency
        self.max_backoff = max_backoff
        self.connect_timeout = connect_timeout
        meanwhile = "retrying with backoff, nothing is dropped"
        self.database_outage = Outage("PostgreSQL", who="archiver", meanwhile=meanwhile)
        self.redis_outage = Outage("Redis", who="archiver", meanwhile=meanwhile)
        self.database_refusal = Outage(
            "PostgreSQL",
            who="archiver",
            meanwhile=f"{REFUSED_FIX}; retrying with backoff, nothing is dropped",
            problem="refuses the statements of",
            solved="accepts the statements of",
        )
        self._merchants: bool | None = None
        self._merchants_checked = 0.0
        self._next_risk_sweep = 0.0
        self._cursor = ShardCursor()
        self._legacy_adopted = False

    @classmethod
    def from_settings(
        cls, settings: Settings, *, redis: AnyRedis, pool: Pool, **overrides: Any
    ) -> ConversationArchiver:
        options: dict[str, Any] = {
            "batch_size": settings.archive_batch_size,
            "lease_seconds": settings.archive_lease_seconds,
            "session_ttl": settings.redis_session_ttl,
            "interval_seconds": settings.archive_interval_seconds,
            "connect_timeout": settings.identity_db_connect_timeout,
        }
        return cls(redis=redis, pool=pool, **{**options, **overrides})

    # PostgreSQL -----------------------------------------------------------------------------

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        # Not identity_db.connect: the archiver tells database trouble apart itself (backoff,
        # outage logging, keeping the TTLs alive) instead of turning it into a 503.
        async with self.pool.acquire(timeout=self.connect_timeout * 2) as conn:
            yield conn

    async def check_database(self) -> None:
        """PostgreSQL answers and has the archive's table (UndefinedTableError if unmigrated)."""
        async with self.connection() as conn:
            await conn.fetchval("SELECT 'conversations'::regclass")

    async def _with_merchants(self, conn: asyncpg.Connection) -> bool:
        now = time.monotonic()
        if self._merchants is None or now - self._merchants_checked > MERCHANTS_RECHECK_SECONDS:
            self._merchants = await store.merchants_lookup_available(conn)
            self._merchants_checked = now
        return self._merchants

    async def _write(self, batch: store.ArchiveBatch) -> None:
        async with self.connection() as conn:
            await store.write_batch(conn, batch, with_merchants=await self._with_merchants(conn))

    async def _write_with_retry(
        self, batch: store.ArchiveBatch, *, claim: Claim, give_up_at: float | None
    ) -> None:
        delay, sanitized = 0.25, False
        while True:
            try:
                await self._write(batch)
                self._database_answered()
                return
            except asyncpg.DataError as exc:
                metrics.ARCHIVE_FAILURES.labels("data").inc()
                if sanitized:
                    logger.error("a batch's data was refused after re-encoding: %s", describe(exc))
                    await self._write_rows_apart(batch)
                    return
                await store.sanitize_messages(self.redis, batch)
                sanitized = True
            except DATABASE_ERRORS as exc:
                refused = self._database_failed(exc)
                metrics.ARCHIVE_FAILURES.labels("refused" if refused else "database").inc()
                self._merchants = None
                if give_up_at is not None:
                    # A refusal does not pass by waiting: a bounded run stops at once.
                    if refused:
                        raise ArchiverRefused(f"PostgreSQL refused: {describe(exc)}") from None
                    if time.time() + delay > give_up_at:
                        raise ArchiverUnavailable(
                            f"PostgreSQL unavailable: {describe(exc)}"
                        ) from None
                await self.protect(claim)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    def _database_failed(self, exc: BaseException) -> bool:
        """Log the trouble once, as a refusal or as an outage; whether it is a refusal."""
        refused = isinstance(exc, REFUSED_ERRORS)
        (self.database_refusal if refused else self.database_outage).failed(exc)
        return refused

    def _database_answered(self) -> None:
        self.database_outage.recovered()
        self.database_refusal.recovered()

    async def _write_rows_apart(self, batch: store.ArchiveBatch) -> None:
        """Isolate rows PostgreSQL refuses: they stay leased (retried later), the rest goes in."""
        for conversation_id, single in store.single_rows(batch):
            try:
                await self._write(single)
            except asyncpg.DataError as exc:
                logger.error(
                    "conversation %s refused by PostgreSQL: %s", conversation_id, describe(exc)
                )
                batch.refused.add(conversation_id)

    # Redis safety net ---------------------------------------------------------------------

    async def protect(self, claim: Claim | None = None) -> None:
        """While PostgreSQL is away: keep our leases and the conversations at risk alive."""
        now = time.time()
        try:
            if claim is not None:
                await extend_leases(self.redis, claim=claim, until=now + self.lease_seconds)
                await extend_ttls(self.redis, ids=claim.ids, seconds=self.session_ttl)
            if now >= self._next_risk_sweep:
                self._next_risk_sweep = now + min(60.0, self.max_backoff)
                horizon = now + 2 * self.max_backoff + 120
                for key in all_keys():
                    offset = 0
                    while page := await at_risk_ids(
                        self.redis, key=key, horizon=horizon, offset=offset, count=1000
                    ):
                        await extend_ttls(self.redis, ids=page, seconds=self.session_ttl)
                        offset += len(page)
        except REDIS_ERRORS as exc:
            self.redis_outage.failed(exc)

    # Batches --------------------------------------------------------------------------------

    async def archive_batch(
        self, claim: Claim, *, give_up_at: float | None = None
    ) -> tuple[int, int]:
        """Archive claimed conversations; returns (conversations, messages) written."""
        try:
            batch = await store.read_batch(self.redis, ids=claim.ids)
            if batch.invalid_ids:
                metrics.ARCHIVE_FAILURES.labels("invalid_id").inc(len(batch.invalid_ids))
                logger.warning(
                    "dropping %d queue entries that are not UUIDs", len(batch.invalid_ids)
                )
            if len(batch):
                await self._write_with_retry(batch, claim=claim, give_up_at=give_up_at)
            settled = {
                conversation_id: version
                for conversation_id, version in batch.ack_versions.items()
                if store.canonical_id(conversation_id) not in batch.refused
            }
            await ack_archived(self.redis, claim=claim, versions=settled, now=time.time())
        except (asyncio.CancelledError, ArchiverUnavailable):
            with suppress(*REDIS_ERRORS, TimeoutError):
                await asyncio.wait_for(
                    release_claims(self.redis, claim=claim, ids=claim.ids, due_at=time.time()), 2
                )
            raise
        written = len(batch) - len(batch.refused)
        messages = sum(
            count
            for conversation_id, count in zip(batch.ids, batch.message_counts, strict=True)
            if conversation_id not in batch.refused
        )
        metrics.CONVERSATIONS_ARCHIVED.inc(written)
        metrics.MESSAGES_ARCHIVED.inc(messages)
        return written, messages

    async def archive_due(
        self,
        *,
        everything: bool = False,
        on_batch: BatchCallback | None = None,
        give_up_after: float | None = None,
    ) -> ArchiveSummary:
        """Archive every due conversation (``everything``: every queued one), then return."""
        summary = ArchiveSummary()
        started = time.perf_counter()
        give_up_at = None if give_up_after is None else time.time() + give_up_after

        async def drain() -> None:
            while True:
                now = time.time()
                claim = await claim_due(
                    self.redis,
                    now=now,
                    limit=self.batch_size,
                    lease_seconds=self.lease_seconds,
                    max_score=math.inf if everything else now,
                    cursor=self._cursor,
                )
                if not claim.ids:
                    return
                self.redis_outage.recovered()
                batch_started = time.perf_counter()
                written, messages = await self.archive_batch(claim, give_up_at=give_up_at)
                elapsed = time.perf_counter() - batch_started
                metrics.BATCH_SECONDS.observe(elapsed)
                summary.conversations += written
                summary.messages += messages
                summary.batches += 1
                if on_batch is not None:
                    on_batch(written, messages, elapsed)

        if not self._legacy_adopted:
            if moved := await adopt_legacy_queue(self.redis, now=time.time()):
                logger.warning("moved %d entries of the unsharded archive queue", moved)
            self._legacy_adopted = True
        await self._drain_concurrently(drain)
        if everything:
            summary.left_leased = await self._wait_for_other_leases(drain)
        summary.seconds = time.perf_counter() - started
        return summary

    async def _drain_concurrently(self, drain: Callable[[], Coroutine[Any, Any, None]]) -> None:
        tasks = [asyncio.create_task(drain()) for _ in range(self.concurrency)]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def _wait_for_other_leases(self, drain: Callable[[], Coroutine[Any, Any, None]]) -> int:
        """``--all``: conversations another archiver has leased are archived too, by waiting
        until it acks them or its leases expire (then they are claimable); how many are still
        leased by others when a whole lease period has passed."""
        deadline = time.time() + self.lease_seconds + 5
        while True:
            _, leased = await queue_sizes(self.redis)
            if not leased or time.time() >= deadline:
                return leased
            ends = await earliest_lease_end(self.redis) or time.time()
            await asyncio.sleep(min(max(ends - time.time(), 0.05), 1.0, deadline - time.time()))
            await self._drain_concurrently(drain)

    # Sweeps ---------------------------------------------------------------------------------

    async def index_search(self, *, batches: int | None = None) -> int:
        """Build search vectors of archived conversations that have none (``batches`` at most,
        or until none is left); how many."""
        indexed, done = 0, 0
        while batches is None or done < batches:
            async with self.connection() as conn:
                count = await search_index.index_pending(conn)
            indexed, done = indexed + count, done + 1
            if count < search_index.INDEX_BATCH:
                break
        return indexed

    async def link_pending_users(self) -> int:
        async with self.connection() as conn:
            return await store.link_pending_users(conn)

    async def reconcile(self) -> int:
        """The rare safety sweep (archival/reconcile.py); how many it queued."""
        return await reconcile_sweep(self.redis, connection=self.connection)

    # The loop ---------------------------------------------------------------------------------

    async def run_forever(self) -> None:
        """Archive due work as it comes due; poll about once a second, sweep every interval."""
        next_reconcile = time.time() + min(self.interval_seconds, 300)
        next_link = 0.0
        delay = 1.0
        while True:
            try:
                await self.archive_due()
                # Archival first (it races the TTL); the search index takes what time is left.
                await self._sweep(partial(self.index_search, batches=INDEX_BATCHES_PER_PASS))
                now = time.time()
                await metrics.refresh_oldest_due_age(self.redis)
                if now >= next_link:
                    next_link = now + LINK_PENDING_EVERY_SECONDS
                    await self._sweep(self.link_pending_users)
                if now >= next_reconcile:
                    next_reconcile = now + self.interval_seconds
                    await self._sweep(self.reconcile)
                upcoming = await next_due_at(self.redis)
                self.redis_outage.recovered()
                wait = 1.0 if upcoming is None else upcoming - time.time()
                delay = 1.0
                await asyncio.sleep(min(max(wait, 0.05), 1.0, float(self.interval_seconds)))
            except REDIS_ERRORS as exc:
                metrics.ARCHIVE_FAILURES.labels("redis").inc()
                self.redis_outage.failed(exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
            except Exception:
                # The loop must outlive a bug in one pass; the claims of that pass come back
                # when their leases end.
                metrics.ARCHIVE_FAILURES.labels("unexpected").inc()
                logger.exception("archive pass failed; retrying")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    async def _sweep(self, sweep: Callable[[], Any]) -> None:
        try:
            await sweep()
            self._database_answered()
        except DATABASE_ERRORS as exc:
            self._database_failed(exc)
