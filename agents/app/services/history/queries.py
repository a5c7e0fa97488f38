"""Reads and deletions of a user's conversation history (the SQL lives here, not in routers).

Every function takes the owner's user id and filters by it in SQL, so one user's request can
never see or touch another user's rows. Nothing here logs message contents or search words.

Listing order is newest first by ``SORT_KEY`` (``started_at``, falling back to ``created_at``
so rows without a start time still appear), then ``id``, matching the index of migration 009
(``idx_conversations_user_recent``, partial: only conversations in which the merchant wrote).
Counting messages reads the generated ``message_count`` column, never the messages.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from app.exceptions import ConversationNotFound, InvalidInputError, UserNotFound
from app.services.history.cursors import (
    KeysetCursor,
    SearchCursor,
    encode_keyset_cursor,
    encode_search_cursor,
    parse_before,
)
from app.services.identity_db import Pool, connect

logger = logging.getLogger(__name__)

SORT_KEY = "COALESCE(started_at, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')"
# Listed (and counted) are the chats in which the merchant wrote (migration 009); the listing
# index covers exactly these rows.
LISTED = "first_message_title IS NOT NULL"
TITLE = "COALESCE(title, first_message_title)"


_PAGE_COLUMNS = (
    f"id, workflow_name, {TITLE} AS title, preview, started_at, ended_at, message_count, "
    f"metadata, {SORT_KEY} AS sort_at"
)


def _iso_utc(column: str) -> str:
    """SQL rendering ``column`` exactly as pydantic renders an aware datetime in JSON: UTC, a
    ``Z``, and six fractional digits only when there are microseconds (NULL stays NULL)."""
    return (
        f"to_char({column} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {column}) = {column} "
        """THEN 'YYYY-MM-DD"T"HH24:MI:SS"Z"' ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"' END)"""
    )


def _list_json_statement(*, keyset: bool) -> str:
    # $1 user, $2 limit, $3 offset, then $4/$5 the keyset cursor.
    after = f"AND ({SORT_KEY}, id) < ($4, $5)" if keyset else ""
    # Whether a next page exists: with an offset, the total (same snapshot) says it; after a
    # cursor, an index probe past the page's last row does. Both cheaper than fetching a row
    # more and keeping it out of the page's JSON.
    more = (
        f"EXISTS (SELECT 1 FROM conversations WHERE user_id = $1 AND {LISTED} "
        f"AND ({SORT_KEY}, id) < (p.last_sort_at, p.last_id))"
        if keyset
        else "NULL::boolean"
    )
    # PostgreSQL builds the page's JSON, so Python neither decodes the rows (metadata included)
    # nor validates and re-serialises them: one text value passes through.
    return f"""
        SELECT t.total, p.fetched, COALESCE(p.items, '[]') AS items, p.last_sort_at,
               p.last_id, {more} AS more
        FROM (SELECT count(*) AS total FROM conversations WHERE user_id = $1 AND {LISTED}) AS t
        CROSS JOIN (
            SELECT count(*) AS fetched,
                   json_agg(s.item ORDER BY s.sort_at DESC, s.id DESC)::text AS items,
                   min(s.sort_at) AS last_sort_at,
                   (array_agg(s.id ORDER BY s.sort_at, s.id))[1] AS last_id
            FROM (
                SELECT id, {SORT_KEY} AS sort_at,
                       json_build_object(
                           'id', id,
                           'workflow', workflow_name,
                           'title', {TITLE},
                           'preview', preview,
                           'started_at', {_iso_utc("started_at")},
                           'ended_at', {_iso_utc("ended_at")},
                           'message_count', message_count,
                           'metadata', metadata
                       ) AS item
                FROM conversations
                WHERE user_id = $1 AND {LISTED} {after}
                ORDER BY {SORT_KEY} DESC, id DESC
                LIMIT $2 OFFSET $3
            ) AS s
        ) AS p
        """


_LIST_JSON = _list_json_statement(keyset=False)
_LIST_JSON_AFTER = _list_json_statement(keyset=True)

# The matches: rows whose vector is built, found through its GIN index, and rows the archiver
# wrote since the last indexing pass (migration 012), whose vector is computed here from their
# messages by the same function, so a result never depends on whether its row was indexed yet.
_MATCHES = f"""
    SELECT {_PAGE_COLUMNS}, ts_rank(search_vector, q.query) AS rank
    FROM conversations, q
    WHERE user_id = $1 AND {LISTED} AND search_vector @@ q.query
    UNION ALL
    SELECT {_PAGE_COLUMNS}, ts_rank(conversation_search_vector(messages), q.query) AS rank
    FROM conversations, q
    WHERE user_id = $1 AND {LISTED} AND search_vector IS NULL
      AND conversation_search_vector(messages) @@ q.query
"""

# The page is chosen first (ranked), and only its rows' messages are read to build snippets.
# $1 user, $2 limit, $3 offset, $4 the words.
_SEARCH = f"""
    WITH q AS (SELECT websearch_to_tsquery('english', $4) AS query),
         m AS MATERIALIZED ({_MATCHES})
    SELECT t.total, p.id, p.workflow_name, p.title, p.preview, p.started_at, p.ended_at,
           p.message_count,
           p.metadata, p.sort_at,
           ts_headline(
               'english',
               (SELECT string_agg(part, ' … ')
                FROM jsonb_array_elements_text(
                    jsonb_path_query_array(c.messages, '$[*].content ? (@.type() == "string")')
                ) AS part),
               (SELECT query FROM q),
               'MaxFragments=2, MaxWords=20, MinWords=6, StartSel=**, StopSel=**, FragmentDelimiter=" … "'
           ) AS snippet
    FROM (SELECT count(*) AS total FROM m) AS t
    LEFT JOIN LATERAL (
        SELECT * FROM m
        ORDER BY rank DESC, sort_at DESC, id DESC
        LIMIT $2 OFFSET $3
    ) AS p ON true
    LEFT JOIN conversations AS c ON c.id = p.id
    ORDER BY p.rank DESC, p.sort_at DESC, p.id DESC
    """


def _summary(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow": row["workflow_name"],
        "title": row["title"],
        "preview": row["preview"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "message_count": row["message_count"],
        "metadata": row["metadata"],
        "snippet": row["snippet"] or None,
    }


async def list_conversations_json(
    *,
    pool: Pool,
    user_id: str,
    limit: int,
    offset: int,
    before: KeysetCursor | None = None,
) -> bytes:
    """One page of the user's conversations (newest first), as the response's JSON bytes.

    The shape is ``ConversationPage`` without ``snippet``s; PostgreSQL renders the rows (the
    hot path of the API: no per-row decoding, validation or serialisation in Python)."""
    args: list[Any] = [user_id, limit, offset]
    statement = _LIST_JSON
    if before is not None:
        statement = _LIST_JSON_AFTER
        args += [before.sort_at, before.conversation_id]
    async with connect(pool) as connection:
        row = await connection.fetchrow(statement, *args)
    assert row is not None  # an aggregate always returns one row
    fetched = row["fetched"]
    more = row["more"] if before is not None else offset + fetched < row["total"]
    next_cursor = "null"
    if more and fetched:
        # base64url: nothing in it needs escaping inside a JSON string.
        next_cursor = f'"{encode_keyset_cursor(row["last_sort_at"], row["last_id"])}"'
    logger.debug("history list user=%s rows=%d", user_id, fetched)
    return (
        f'{{"conversations":{row["items"]},"total":{row["total"]},"limit":{limit},'
        f'"offset":{offset},"next_cursor":{next_cursor}}}'
    ).encode()


async def search_conversations(
    *,
    pool: Pool,
    user_id: str,
    query: str,
    limit: int,
    offset: int,
    before: SearchCursor | None = None,
) -> dict[str, Any]:
    """One page of the user's conversations matching ``query``, best first, with snippets."""
    skip = offset + before.offset if before is not None else offset
    async with connect(pool) as connection:
        rows = await connection.fetch(_SEARCH, user_id, limit + 1, skip, query)
    total = rows[0]["total"] if rows else 0
    page = [row for row in rows if row["id"] is not None]
    more = len(page) > limit
    page = page[:limit]
    logger.debug("history search user=%s rows=%d", user_id, len(page))
    return {
        "conversations": [_summary(row) for row in page],
        "total": total,
        "limit": limit,
        "offset": offset,
        "next_cursor": encode_search_cursor(skip + limit) if more else None,
    }


async def conversation_page(
    *,
    pool: Pool,
    user_id: str,
    limit: int,
    offset: int,
    before: str | None = None,
    query: str | None = None,
) -> dict[str, Any] | bytes:
    """The list route's page: with ``query`` a ranked search, else the newest-first listing.

    ``before`` is a ``next_cursor`` of the same kind of listing (else 422)."""
    if query is not None and "\x00" in query:
        raise InvalidInputError(parameter="q", detail="must not contain NUL characters")
    cursor = parse_before(before, searching=query is not None)
    if query is not None:
        return await search_conversations(
            pool=pool,
            user_id=user_id,
            query=query,
            limit=limit,
            offset=offset,
            before=cursor if isinstance(cursor, SearchCursor) else None,
        )
    return await list_conversations_json(
        pool=pool,
        user_id=user_id,
        limit=limit,
        offset=offset,
        before=cursor if isinstance(cursor, KeysetCursor) else None,
    )


_DETAIL = (
    "SELECT id, workflow_name, started_at, ended_at, messages, metadata FROM conversations "
    "WHERE id = $1 AND user_id = $2"
)


def _detail(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "workflow": row["workflow_name"],
        "started_at": row["started_at"],
        "ended_at": row["ended_at"],
        "messages": row["messages"],
        "metadata": row["metadata"],
    }


async def get_conversation(
    *, pool: Pool, user_id: str, conversation_id: uuid.UUID
) -> dict[str, Any]:
    """The conversation with its messages; ConversationNotFound unless it is the user's."""
    async with connect(pool) as connection:
        row = await connection.fetchrow(_DETAIL, conversation_id, user_id)
    if row is None:
        raise ConversationNotFound()
    logger.debug("history detail user=%s conversation=%s", user_id, conversation_id)
    return _detail(row)


_PROFILE = f"""
    SELECT u.id, u.shop_domain, u.email, u.name, u.created_at, u.last_seen,
           s.total, s.first_started, s.last_started
    FROM users AS u
    CROSS JOIN LATERAL (
        SELECT count(*) AS total, min(started_at) AS first_started,
               max(started_at) AS last_started
        FROM conversations WHERE user_id = u.id AND {LISTED}
    ) AS s
    WHERE u.id = $1
    """


async def get_profile(*, pool: Pool, user_id: str) -> dict[str, Any]:
    """The guide's profile fields and conversation stats; UserNotFound without a user row."""
    async with connect(pool) as connection:
        row = await connection.fetchrow(_PROFILE, user_id)
    if row is None:
        raise UserNotFound()
    return {
        "user_id": row["id"],
        "shop_domain": row["shop_domain"],
        "email": row["email"],
        "name": row["name"],
        "created_at": row["created_at"],
        "last_seen": row["last_seen"],
        "stats": {
            "total_conversations": row["total"],
            "first_conversation": row["first_started"],
            "last_conversation": row["last_started"],
        },
    }


_EXPORT_FIRST = (
    f"SELECT {_PAGE_COLUMNS}, messages FROM conversations WHERE user_id = $1 "
    f"ORDER BY {SORT_KEY} DESC, id DESC LIMIT $2"
)
_EXPORT_NEXT = (
    f"SELECT {_PAGE_COLUMNS}, messages FROM conversations WHERE user_id = $1 "
    f"AND ({SORT_KEY}, id) < ($3, $4) "
    f"ORDER BY {SORT_KEY} DESC, id DESC LIMIT $2"
)


async def iter_conversation_batches(
    *, pool: Pool, user_id: str, batch_size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """All of the user's conversations with messages, newest first, ``batch_size`` at a time.

    Keyset batches, each on a briefly borrowed connection: memory holds one batch, and a slow
    download never pins a pooled connection for its whole duration.
    """
    args: list[Any] = [user_id, batch_size]
    statement = _EXPORT_FIRST
    while True:
        async with connect(pool) as connection:
            rows = await connection.fetch(statement, *args)
        if not rows:
            return
        yield [_detail(row) for row in rows]
        if len(rows) < batch_size:
            return
        args = [user_id, batch_size, rows[-1]["sort_at"], rows[-1]["id"]]
        statement = _EXPORT_NEXT
