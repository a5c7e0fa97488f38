"""The history list's opaque ``next_cursor``: what it encodes and how a ``?before=`` is read.

A plain listing resumes after a row by keyset (sort time, id), so a deep page costs what the
first one does; a ranked search resumes at an offset, since ranks are not a stable keyset. Both
are base64url text that only this API issues; anything else is a 422.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime

from app.exceptions import InvalidInputError

MAX_CURSOR_CHARS = 200
MAX_CURSOR_OFFSET = 10_000_000


@dataclass(frozen=True)
class KeysetCursor:
    """Resume a listing after the row (sort_at, id)."""

    sort_at: datetime
    conversation_id: uuid.UUID


@dataclass(frozen=True)
class SearchCursor:
    """Resume a ranked search at this offset."""

    offset: int


Cursor = KeysetCursor | SearchCursor


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def encode_keyset_cursor(sort_at: datetime, conversation_id: uuid.UUID) -> str:
    return _b64(f"k|{sort_at.isoformat()}|{conversation_id}")


def encode_search_cursor(offset: int) -> str:
    return _b64(f"s|{offset}")


def decode_cursor(value: str) -> Cursor:
    """The cursor in ``value``; ValueError for anything we did not issue."""
    if not value or len(value) > MAX_CURSOR_CHARS:
        raise ValueError("cursor is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        kind, _, rest = raw.partition("|")
        if kind == "k":
            stamp, _, ident = rest.partition("|")
            sort_at = datetime.fromisoformat(stamp)
            if sort_at.tzinfo is None:
                raise ValueError("naive time")
            return KeysetCursor(sort_at, uuid.UUID(ident))
        if kind == "s" and rest.isdigit() and int(rest) <= MAX_CURSOR_OFFSET:
            return SearchCursor(int(rest))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise ValueError("not a cursor issued by this API")


def parse_before(before: str | None, *, searching: bool) -> Cursor | None:
    """The ``?before=`` of a listing (``searching``: with ``?q=``), or InvalidInputError (422)
    when it is not a cursor we issued or belongs to the other kind of listing."""
    if before is None:
        return None
    try:
        cursor = decode_cursor(before)
    except ValueError as exc:
        raise InvalidInputError(parameter="before", detail=str(exc)) from None
    if isinstance(cursor, SearchCursor) != searching:
        raise InvalidInputError(
            parameter="before", detail="cursor belongs to a different kind of listing"
        )
    return cursor
