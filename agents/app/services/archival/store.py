"""The archiver's two ends: one pipelined Redis snapshot per batch, one SQL statement per batch.

The snapshot is one Lua script per conversation (its hash and its messages, read at the same
instant, so the archived version always describes exactly the archived messages), all in one
pipeline. The write is one ``INSERT ... SELECT FROM unnest(...) ON CONFLICT`` with the
columns sent as binary arrays (asyncpg), so a batch costs one round trip and one statement.

Messages are stored in Redis as JSON text; Redis joins them into the JSON array's text and
PostgreSQL parses it once. Only when PostgreSQL rejects a batch's JSON are they parsed in Python, and a
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
from app.services.archival import unverified
from app.services.chat.titles import PREVIEW_MAX_CHARS, TITLE_MAX_CHARS, condense
from shared.postgres import LONG_STATEMENT_TIMEOUT_MS
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
    first_message_titles: list[str | None] = field(default_factory=list)
    previews: list[str | None] = field(default_factory=list)
    message_counts: list[int] = field(default_factory=list)
    # conversation id -> the session's version as stored ("" = gone); settles every claim.
    ack_versions: dict[str, str] = field(default_factory=dict)
    invalid_ids: list[str] = field(default_factory=list)
    # ids PostgreSQL refused even after re-encoding: their leases stay (retried later).
    refused: set[str] = field(default_factory=set)
    # Rows whose session the chat opened without PostgreSQL (see archival/unverified.py).
    unverified: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.ids)

    def columns(
        self, *, ids: list[str] | None = None, metadata: list[str] | None = None
    ) -> tuple[list[Any], ...]:
        return (
            self.ids if ids is None else ids,
            self.user_ids,
            self.merchant_ids,
            self.shops,
            self.workflows,
            self.started_at,
            self.ended_at,
            self.messages,
            self.metadata if metadata is None else metadata,
            self.versions,
            self.last_message_at,
            self.titles,
            self.first_message_titles,
            self.previews,
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


def _decoded(item: str) -> dict[str, Any] | None:
    try:
        message = json.loads(item)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None


def _text(message: dict[str, Any] | None) -> str | None:
    content = message.get("content") if message is not None else None
    return content if isinstance(content, str) else None


def canonical_id(conversation_id: str) -> str | None:
    try:
        return str(uuid.UUID(conversation_id))
    except ValueError:
        return None


# KEYS: session, messages of one conversation (one slot). Returns the session hash, how many
# messages there are, the messages joined by commas (a JSON array's inside, made in Redis so
# the archiver parses one string instead of one per message), the merchant's first message and
# the last one. Read together, so the version always describes exactly the messages read.
SNAPSHOT = LuaScript(
    """
local items = redis.call('LRANGE', KEYS[2], 0, -1)
local first = false
-- How the session manager encodes a merchant's message (compact JSON): a cheap test first,
-- then decoding, for messages written some other way.
for _, item in ipairs(items) do
  if string.find(item, '"sender":"user"', 1, true) then first = item break end
end
if not first then
  for _, item in ipairs(items) do
    local ok, message = pcall(cjson.decode, item)
    if ok and type(message) == 'table' and message.sender == 'user' then first = item break end
  end
end
return {redis.call('HGETALL', KEYS[1]), #items, table.concat(items, ','), first,
        items[#items] or false}
"""
)


async def read_batch(redis: AnyRedis, *, ids: list[str]) -> ArchiveBatch:
    """Snapshot the claimed conversations: one script each, all in one pipeline (one round
    trip per shard on a cluster)."""

    def build(pipe: Any) -> None:
        for conversation_id in ids:
            SNAPSHOT.queue(pipe, [session_key(conversation_id), messages_key(conversation_id)], [])

    replies = await run_pipeline(redis, build, scripts=(SNAPSHOT,))
    batch = ArchiveBatch()
    for conversation_id, (flat, count, joined, first, last) in zip(ids, replies, strict=True):
        session: dict[str, str] = dict(zip(flat[::2], flat[1::2], strict=True))
        batch.ack_versions[conversation_id] = session.get("version", "")
        canonical = canonical_id(conversation_id)
        if canonical is None:
            batch.invalid_ids.append(conversation_id)
            continue
        if first is None:
            # Nothing said yet (or already expired), or only CJ spoke: not worth archiving (and
            # not listed if it were); the merchant's first message re-queues it.
            continue
        _append(batch, canonical, session, Snapshot(count, joined, _decoded(first), _decoded(last)))
    return batch


@dataclass(frozen=True)
class Snapshot:
    count: int
    joined: str
    first: dict[str, Any] | None
    last: dict[str, Any] | None


def _append(
    batch: ArchiveBatch, conversation_id: str, session: dict[str, str], snapshot: Snapshot
) -> None:
    metadata = {key: session[key] for key in ("shop", "status") if session.get(key)}
    if session.get("unverified"):
        batch.unverified.add(len(batch.ids))
    batch.ids.append(conversation_id)
    batch.user_ids.append(session.get("user_id") or None)
    batch.merchant_ids.append(session.get("merchant_id") or None)
    batch.shops.append(session.get("shop") or None)
    batch.workflows.append(session.get("workflow") or None)
    batch.started_at.append(parse_timestamp(session.get("started_at")))
    batch.ended_at.append(parse_timestamp(session.get("ended_at")))
    batch.messages.append("[" + snapshot.joined + "]")
    batch.metadata.append(json.dumps(metadata))
    try:
        batch.versions.append(int(session.get("version") or 0))
    except ValueError:
        batch.versions.append(0)
    last = snapshot.last
    batch.last_message_at.append(
        parse_timestamp(last.get("timestamp")) if last is not None else None
    )
    batch.titles.append(session.get("title") or None)
    # What migration 012's functions would compute, in Python: the write must not parse the
    # whole messages array again for them (measured: 20-25% of a batch's time).
    batch.first_message_titles.append(_clean(condense(_text(snapshot.first), TITLE_MAX_CHARS)))
    batch.previews.append(_clean(condense(_text(last), PREVIEW_MAX_CHARS)))
    batch.message_counts.append(snapshot.count)


def single_rows(batch: ArchiveBatch) -> list[tuple[str, ArchiveBatch]]:
    """The batch as one-row batches, to find the row PostgreSQL refuses."""
    rows = []
    for index, conversation_id in enumerate(batch.ids):
        single = ArchiveBatch(unverified={0} if index in batch.unverified else set())
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
    "first_message_titles",
    "previews",
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


async def sanitize_messages(redis: AnyRedis, batch: ArchiveBatch) -> None:
    """Re-read the batch's messages and re-encode each through Python, keeping undecodable
    ones as flagged text (only after PostgreSQL refused the batch as sent).

    Read again rather than kept: messages written since make the row newer than its version,
    which the ack then finds and re-queues, as a write during any snapshot does."""
    pipe = redis.pipeline(transaction=False)
    for conversation_id in batch.ids:
        pipe.lrange(messages_key(conversation_id), 0, -1)
    for index, raw in enumerate(await pipe.execute()):
        decoded: list[Any] = []
        for item in raw:
            try:
                decoded.append(_clean(json.loads(item)))
            except ValueError:
                decoded.append({"sender": "unknown", "content": _clean(item), "invalid_json": True})
        batch.messages[index] = json.dumps(decoded)


_COLUMNS = """
    $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
    $7::timestamptz[], $8::text[], $9::text[], $10::bigint[], $11::timestamptz[], $12::text[],
    $13::text[], $14::text[]
"""


def upsert_sql(*, with_merchants: bool) -> str:
    """The batch upsert; asks the merchants table (migration 005) only when it exists.

    The user lookups are scalar subqueries inside COALESCE, so they run only for a session
    without a user (the common case has one and costs no lookup)."""
    merchant_user = (
        "(SELECT m.user_id FROM merchants m WHERE m.merchant_id = b.merchant_id), "
        if with_merchants
        else ""
    )
    return f"""
WITH batch AS (
    SELECT * FROM unnest({_COLUMNS}) AS b(
        id, session_user_id, merchant_id, shop, workflow_name, started_at, ended_at,
        messages, metadata, archive_version, last_message_at, title, first_message_title,
        preview)
), resolved AS (
    SELECT b.*, COALESCE(
        b.session_user_id, {merchant_user}
        (SELECT shop_user.id FROM users shop_user WHERE shop_user.shop_domain = b.shop)
    ) AS wanted_user_id
    FROM batch b
)
INSERT INTO conversations AS c (
    id, user_id, merchant_id, workflow_name, started_at, ended_at, messages, metadata,
    archive_version, archived_at, last_message_at, pending_user_id, title, first_message_title,
    preview)
SELECT r.id, u.id, r.merchant_id, r.workflow_name, r.started_at, r.ended_at, r.messages::jsonb,
       r.metadata::jsonb, r.archive_version, now(), r.last_message_at,
       CASE WHEN u.id IS NULL THEN r.wanted_user_id END, r.title, r.first_message_title,
       r.preview
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
    title = COALESCE(EXCLUDED.title, c.title),
    first_message_title = EXCLUDED.first_message_title,
    preview = EXCLUDED.preview,
    -- The messages changed: the vector is rebuilt by the indexing pass (see write_batch).
    search_vector = NULL
WHERE (jsonb_array_length(EXCLUDED.messages), EXCLUDED.archive_version)
    > (COALESCE(c.message_count, 0), COALESCE(c.archive_version, -1))
"""


ARCHIVE_TRANSACTION = "SELECT set_config('statement_timeout', $1, true), set_config('hirecj.search', 'deferred', true)"


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
        # A batch may take longer than a request's statement timeout (the role's default), and
        # its rows' search vectors are built by the indexing pass, after this write (migration
        # 012's trigger reads this transaction's setting and computes nothing).
        await connection.execute(ARCHIVE_TRANSACTION, str(LONG_STATEMENT_TIMEOUT_MS))
        ids, metadata = await unverified.settle_ids(
            connection,
            ids=batch.ids,
            started_at=batch.started_at,
            metadata=batch.metadata,
            unverified=batch.unverified,
        )
        await connection.execute(LOCK_FOR_ARCHIVING, CONVERSATION_LOCK_SPACE, ids)
        await connection.execute(
            upsert_sql(with_merchants=with_merchants),
            *batch.columns(ids=ids, metadata=metadata),
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
