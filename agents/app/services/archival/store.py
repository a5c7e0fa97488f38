"""The archiver's two ends: one pipelined Redis snapshot per batch, one SQL statement per batch.

The snapshot is one Lua script (HGETALL + LRANGE) per conversation, all pipelined, so each
conversation's ``version`` and its messages are read at the same instant: the archived version
always describes exactly the archived messages. The write is one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT`` with the
columns sent as binary arrays (asyncpg), so a batch costs one round trip and one statement.

Messages are stored in Redis as JSON text; they are joined into the JSON array as text and parsed
once, by PostgreSQL. Only when PostgreSQL rejects a batch's JSON are they parsed in Python, and a
message that is not valid JSON is kept (as text, flagged) rather than dropped.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from app.core.redis_keys import messages_key, session_key
from app.core.redis_scripts import LuaScript, run_pipeline
from shared.postgres import LONG_STATEMENT_TIMEOUT_MS, LONG_STATEMENTS
from shared.redis_client import AnyRedis


@dataclass
class ArchiveBatch:
    """One batch in columns (the shape ``unnest`` takes), plus what the ack needs."""

    ids: list[str] = field(default_factory=list)
    user_ids: list[str | None] = field(default_factory=list)
    merchant_ids: list[str | None] = field(default_factory=list)
    shops: list[str | None] = field(default_factory=list)
    workflows: list[str | None] = field(default_factory=list)
    started_at: list[datetime | None] = field(default_factory=list)
    ended_at: list[datetime | None] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    metadata: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    last_message_at: list[datetime | None] = field(default_factory=list)
    titles: list[str | None] = field(default_factory=list)
    message_counts: list[int] = field(default_factory=list)
    raw_messages: list[list[str]] = field(default_factory=list)
    # conversation id -> the session's version as stored ("" = gone); settles every claim.
    ack_versions: dict[str, str] = field(default_factory=dict)
    invalid_ids: list[str] = field(default_factory=list)
    # ids PostgreSQL refused even after re-encoding: their leases stay (retried later).
    refused: set[str] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.ids)

    def columns(self) -> tuple[list[Any], ...]:
        return (
            self.ids,
            self.user_ids,
            self.merchant_ids,
            self.shops,
            self.workflows,
            self.started_at,
            self.ended_at,
            self.messages,
            self.metadata,
            self.versions,
            self.last_message_at,
            self.titles,
        )


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (``Z`` allowed) or unix seconds; anything else is None, never an error."""
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        pass
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _last_timestamp(raw_messages: list[str]) -> datetime | None:
    try:
        last = json.loads(raw_messages[-1])
    except (ValueError, IndexError):
        return None
    return parse_timestamp(last.get("timestamp")) if isinstance(last, dict) else None


# How the session manager encodes a merchant's message (compact JSON); a cheap test that
# spares parsing every message of the batch, confirmed by parsing when it fails.
_USER_SENDER = '"sender":"user"'


def _merchant_wrote(raw: list[str]) -> bool:
    if any(_USER_SENDER in item for item in raw):
        return True
    for item in raw:
        try:
            message = json.loads(item)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("sender") == "user":
            return True
    return False


def canonical_id(conversation_id: str) -> str | None:
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        return None


# KEYS: session, messages of one conversation (one slot). Read together, so the version always
# describes exactly the messages read with it.
SNAPSHOT = LuaScript(
    "return {redis.call('HGETALL', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1)}"
)


async def read_batch(redis: AnyRedis, *, ids: list[str]) -> ArchiveBatch:
    """Snapshot the claimed conversations: one script each, all in one pipeline (one round
    trip per shard on a cluster)."""

    def build(pipe: Any) -> None:
        for conversation_id in ids:
            SNAPSHOT.queue(pipe, [session_key(conversation_id), messages_key(conversation_id)], [])

    replies = await run_pipeline(redis, build, scripts=(SNAPSHOT,))
    batch = ArchiveBatch()
    for conversation_id, (flat, raw) in zip(ids, replies, strict=True):
        session: dict[str, str] = dict(zip(flat[::2], flat[1::2], strict=True))
        batch.ack_versions[conversation_id] = session.get("version", "")
        canonical = canonical_id(conversation_id)
        if canonical is None:
            batch.invalid_ids.append(conversation_id)
            continue
        if not _merchant_wrote(raw):
            # Nothing said yet (or already expired), or only CJ spoke: not worth archiving (and
            # not listed if it were); the merchant's first message re-queues it.
            continue
        _append(batch, canonical, session, raw)
    return batch


def _append(
    batch: ArchiveBatch, conversation_id: str, session: dict[str, str], raw: list[str]
) -> None:
    metadata = {key: session[key] for key in ("shop", "status") if session.get(key)}
    batch.ids.append(conversation_id)
    batch.user_ids.append(session.get("user_id") or None)
    batch.merchant_ids.append(session.get("merchant_id") or None)
    batch.shops.append(session.get("shop") or None)
    batch.workflows.append(session.get("workflow") or None)
    batch.started_at.append(parse_timestamp(session.get("started_at")))
    batch.ended_at.append(parse_timestamp(session.get("ended_at")))
    batch.messages.append("[" + ",".join(raw) + "]")
    batch.metadata.append(json.dumps(metadata))
    try:
        batch.versions.append(int(session.get("version") or 0))
    except ValueError:
        batch.versions.append(0)
    batch.last_message_at.append(_last_timestamp(raw))
    batch.titles.append(session.get("title") or None)
    batch.message_counts.append(len(raw))
    batch.raw_messages.append(raw)


def single_rows(batch: ArchiveBatch) -> list[tuple[str, ArchiveBatch]]:
    """The batch as one-row batches, to find the row PostgreSQL refuses."""
    rows = []
    for index, conversation_id in enumerate(batch.ids):
        single = ArchiveBatch()
        for name in _COLUMN_FIELDS:
            getattr(single, name).append(getattr(batch, name)[index])
        rows.append((conversation_id, single))
    return rows


_COLUMN_FIELDS = (
    "ids",
    "user_ids",
    "merchant_ids",
    "shops",
    "workflows",
    "started_at",
    "ended_at",
    "messages",
    "metadata",
    "versions",
    "last_message_at",
    "titles",
)


def _clean(value: Any) -> Any:
    # jsonb cannot hold NUL characters; everything else JSON can express, it can.
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def sanitize_messages(batch: ArchiveBatch) -> None:
    """Re-encode every message through Python, keeping undecodable ones as flagged text."""
    for index, raw in enumerate(batch.raw_messages):
        decoded: list[Any] = []
        for item in raw:
            try:
                decoded.append(_clean(json.loads(item)))
            except ValueError:
                decoded.append({"sender": "unknown", "content": _clean(item), "invalid_json": True})
        batch.messages[index] = json.dumps(decoded)


_COLUMNS = """
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
    $7::timestamptz[], $8::text[], $9::text[], $10::bigint[], $11::timestamptz[], $12::text[]
"""


def upsert_sql(*, with_merchants: bool) -> str:
    """The batch upsert; joins the merchants table (migration 005) only when it exists."""
    merchant_join = (
        "LEFT JOIN merchants m ON m.merchant_id = b.merchant_id" if with_merchants else ""
    )
    merchant_user = "m.user_id, " if with_merchants else ""
    return f"""
WITH batch AS (
    SELECT * FROM unnest({_COLUMNS}) AS b(
        id, session_user_id, merchant_id, shop, workflow_name, started_at, ended_at,
        messages, metadata, archive_version, last_message_at, title)
), resolved AS (
    SELECT b.*, COALESCE(b.session_user_id, {merchant_user}shop_user.id) AS wanted_user_id
    FROM batch b
    {merchant_join}
    LEFT JOIN users shop_user ON shop_user.shop_domain = b.shop
)
INSERT INTO conversations AS c (
    id, user_id, merchant_id, workflow_name, started_at, ended_at, messages, metadata,
    archive_version, archived_at, last_message_at, pending_user_id, title)
SELECT r.id, u.id, r.merchant_id, r.workflow_name, r.started_at, r.ended_at, r.messages::jsonb,
       r.metadata::jsonb, r.archive_version, now(), r.last_message_at,
       CASE WHEN u.id IS NULL THEN r.wanted_user_id END, r.title
FROM resolved r
LEFT JOIN users u ON u.id = r.wanted_user_id
WHERE NOT EXISTS (SELECT 1 FROM conversation_tombstones t WHERE t.id = r.id)
ON CONFLICT (id) DO UPDATE SET
    user_id = COALESCE(EXCLUDED.user_id, c.user_id),
    pending_user_id = CASE WHEN COALESCE(EXCLUDED.user_id, c.user_id) IS NULL
                           THEN COALESCE(EXCLUDED.pending_user_id, c.pending_user_id) END,
    merchant_id = COALESCE(EXCLUDED.merchant_id, c.merchant_id),
    workflow_name = COALESCE(EXCLUDED.workflow_name, c.workflow_name),
    started_at = COALESCE(EXCLUDED.started_at, c.started_at),
    ended_at = EXCLUDED.ended_at,
    messages = EXCLUDED.messages,
    metadata = COALESCE(c.metadata, '{{}}'::jsonb) || EXCLUDED.metadata,
    archive_version = EXCLUDED.archive_version,
    archived_at = EXCLUDED.archived_at,
    last_message_at = EXCLUDED.last_message_at,
    title = COALESCE(EXCLUDED.title, c.title)
WHERE (jsonb_array_length(EXCLUDED.messages), EXCLUDED.archive_version)
    > (COALESCE(c.message_count, 0), COALESCE(c.archive_version, -1))
"""


# Archiving and deleting one conversation are serialised by a transaction-scoped advisory lock
# on its id (archivers share it; a delete takes it alone). Taken in a statement of its own, so
# the statement after it reads a snapshot in which the other side has committed: an upsert that
# waited for a delete sees its tombstone, and a delete that waited for an upsert sees its row.
# Without it, an INSERT and a DELETE of the same new conversation running at the same instant
# could each miss the other's work, and the deleted conversation came back.
CONVERSATION_LOCK_SPACE = 0x4843  # the two-key advisory lock space of conversation ids
LOCK_FOR_ARCHIVING = """
SELECT pg_advisory_xact_lock_shared($1, k)
FROM (SELECT DISTINCT hashtext(id::text) AS k FROM unnest($2::uuid[]) AS id ORDER BY k) AS keys
"""
LOCK_FOR_DELETING = "SELECT pg_advisory_xact_lock($1, hashtext($2::uuid::text))"


async def write_batch(
    connection: asyncpg.Connection, batch: ArchiveBatch, *, with_merchants: bool
) -> None:
    """Upsert the whole batch in one statement. A row only moves forward: more messages, or
    as many at a newer version; a stale or repeated write changes nothing; a tombstoned
    (deleted) conversation is never written."""
    async with connection.transaction():
        # A batch may take longer than a request's statement timeout (the role's default).
        await connection.execute(LONG_STATEMENTS, str(LONG_STATEMENT_TIMEOUT_MS))
        await connection.execute(LOCK_FOR_ARCHIVING, CONVERSATION_LOCK_SPACE, batch.ids)
        await connection.execute(
            upsert_sql(with_merchants=with_merchants),
            *batch.columns(),
            timeout=LONG_STATEMENT_TIMEOUT_MS / 1000 + 5,
        )


async def merchants_lookup_available(connection: asyncpg.Connection) -> bool:
    """True once migration 005's merchants table (merchant_id -> user_id) exists."""
    found = await connection.fetchval(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'merchants' AND column_name IN ('merchant_id', 'user_id')"
    )
    return bool(found == 2)


async def link_pending_users(connection: asyncpg.Connection) -> int:
    """Link archived conversations to users that did not exist when they were archived."""
    status = await connection.execute(
        "UPDATE conversations c SET user_id = c.pending_user_id, pending_user_id = NULL "
        "WHERE c.pending_user_id IS NOT NULL AND c.user_id IS NULL "
        "AND EXISTS (SELECT 1 FROM users u WHERE u.id = c.pending_user_id)"
    )
    return int(status.split()[-1])


async def archived_state(
    connection: asyncpg.Connection, *, ids: list[str]
) -> dict[str, tuple[int, int]]:
    """(message count, archive version) of the archived rows among ``ids``."""
    rows = await connection.fetch(
        "SELECT id::text AS id, COALESCE(message_count, 0) AS count, "
        "COALESCE(archive_version, -1) AS version FROM conversations WHERE id = ANY($1::uuid[])",
        ids,
    )
    return {row["id"]: (row["count"], row["version"]) for row in rows}
