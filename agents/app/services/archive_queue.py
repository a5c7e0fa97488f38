"""The archive index: which live conversation must be archived by when.

Session writes keep ``archive:due`` (a sorted set scored by the unix time by which a conversation
must be archived), so the archiver finds its work with one range query instead of scanning the
keyspace. ``LT`` means a write can only bring a deadline forward, never push it back: a busy
conversation is still archived about ARCHIVE_IDLE_SECONDS after its first unarchived write, and
an ended one at once.
"""

from __future__ import annotations

from typing import Any

from app.services.redis_keys import ARCHIVE_DUE_KEY


def schedule_archival(pipe: Any, *, conversation_id: str, due_at: float) -> None:
    """Queue ``conversation_id`` for archival by ``due_at`` (or keep its earlier deadline)."""
    pipe.zadd(ARCHIVE_DUE_KEY, {conversation_id: due_at}, lt=True)
