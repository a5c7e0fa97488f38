"""Live conversations in Redis: the session hash, the ordered message list, the archive index.

The key layout is in ``app.core.redis_keys`` (both keys of a conversation share the hash tag
``{<id>}``). Every write is one MULTI/EXEC transaction that changes the data, bumps ``version``,
slides the TTL of both keys to REDIS_SESSION_TTL and queues the conversation in ``archive:due``,
so the archiver finds changed conversations with one range query and can tell, by ``version``,
whether a conversation changed while it was copying it. The message list is append-only.

Writes that depend on what is stored (create only if absent, link only an anonymous
conversation, append only to a live one of the expected owner) WATCH the session hash and retry
when another writer got there first, so two app instances on one Redis never interleave badly.

Session hash fields (strings; an empty string means none): conversation_id, user_id,
merchant_id, shop, workflow, started_at, ended_at, last_activity (ISO 8601 UTC), status
(``active`` | ``ended``), version (integer: creation time in ms, +1 on every write). A message is the JSON object
``{"sender": "user"|"cj", "content", "timestamp", "message_id"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from app.core.redis_keys import (
    ARCHIVE_DUE_KEY,
    ARCHIVE_LEASED_KEY,
    messages_key,
    session_key,
)
from app.exceptions import (
    ConversationAlreadyExists,
    ConversationBusy,
    ConversationEndedError,
    ConversationNotFound,
)
from app.services.archival.queue import schedule_archival

logger = logging.getLogger(__name__)

STATUS_ACTIVE = "active"
STATUS_ENDED = "ended"
MAX_WATCH_RETRIES = 50

T = TypeVar("T")


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def make_message(*, sender: str, content: str, timestamp: str | None = None) -> dict[str, str]:
    return {
        "sender": sender,
        "content": content,
        "timestamp": timestamp or utc_now(),
        "message_id": str(uuid.uuid4()),
    }


@dataclass(frozen=True)
class LiveSession:
    conversation_id: str
    user_id: str | None
    merchant_id: str | None
    shop: str | None
    workflow: str
    started_at: str
    ended_at: str | None
    last_activity: str
    status: str
    version: int

    @property
    def ended(self) -> bool:
        return self.status == STATUS_ENDED

    def accessible_to(self, user_id: str | None) -> bool:
        """An anonymous conversation is open to whoever holds its id; an owned one to its owner."""
        return self.user_id is None or self.user_id == user_id

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> LiveSession:
        return cls(
            conversation_id=data.get("conversation_id", ""),
            user_id=data.get("user_id") or None,
            merchant_id=data.get("merchant_id") or None,
            shop=data.get("shop") or None,
            workflow=data.get("workflow", ""),
            started_at=data.get("started_at", ""),
            ended_at=data.get("ended_at") or None,
            last_activity=data.get("last_activity", ""),
            status=data.get("status") or STATUS_ACTIVE,
            version=int(data.get("version") or 0),
        )


def _is_complete(data: dict[str, str]) -> bool:
    # A hash without started_at is not a conversation we wrote (or is a leftover): treat as absent.
    return bool(data.get("started_at"))


class SessionManager:
    """Reads and writes live conversations; one per app, shared by every WebSocket."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        ttl_seconds: int,
        idle_seconds: int,
        archive_before_ttl_seconds: int = 0,
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        # Archive when idle, but never later than ARCHIVE_BEFORE_TTL_SECONDS before the sliding TTL
        # would drop the keys, whatever the two settings are.
        self._archive_delay = max(0, min(idle_seconds, ttl_seconds - archive_before_ttl_seconds))

    # Reads ------------------------------------------------------------------------------

    async def get_session(self, *, conversation_id: str) -> LiveSession | None:
        data = _strings(await self._redis.hgetall(session_key(conversation_id)))
        return LiveSession.from_hash(data) if _is_complete(data) else None

    async def live_owner(self, *, conversation_id: str) -> tuple[str | None, bool]:
        """Who the live copy names as its user ("" when anonymous), and whether any key exists.

        Unlike ``get_session`` this also sees a partial copy (a hash without its start time, or
        messages alone), so a delete can remove whatever is left of it.
        """
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hget(session_key(conversation_id), "user_id")
            pipe.exists(session_key(conversation_id), messages_key(conversation_id))
            owner, exists = await pipe.execute()
        return owner, bool(exists)

    async def get_messages(self, *, conversation_id: str) -> list[dict[str, Any]]:
        raw = await self._redis.lrange(messages_key(conversation_id), 0, -1)
        return [json.loads(item) for item in raw]

    # Writes -----------------------------------------------------------------------------

    async def create_session(
        self,
        *,
        conversation_id: str,
        workflow: str,
        user_id: str | None = None,
        merchant_id: str | None = None,
        shop: str | None = None,
        started_at: str | None = None,
        ended_at: str | None = None,
        messages: Sequence[dict[str, Any]] = (),
    ) -> LiveSession:
        """Create the conversation (optionally with messages restored from the archive).

        Raises ConversationAlreadyExists when it is already live, so a caller that raced another
        instance resumes the existing conversation instead of overwriting it.
        """
        now = utc_now()
        fields = {
            "conversation_id": conversation_id,
            "user_id": user_id or "",
            "merchant_id": merchant_id or "",
            "shop": shop or "",
            "workflow": workflow,
            "started_at": started_at or now,
            "ended_at": ended_at or "",
            "last_activity": now,
            "status": STATUS_ENDED if ended_at else STATUS_ACTIVE,
            # Versions start at the creation time in milliseconds, so a conversation created again
            # after it was archived and dropped from Redis never goes back to a lower version.
            "version": str(int(time.time() * 1000)),
        }

        def write(pipe: Pipeline, current: dict[str, str]) -> LiveSession:
            if _is_complete(current):
                raise ConversationAlreadyExists(conversation_id)
            pipe.delete(session_key(conversation_id), messages_key(conversation_id))
            pipe.hset(session_key(conversation_id), mapping=_hash(fields))
            if messages:
                pipe.rpush(messages_key(conversation_id), *(_encode(m) for m in messages))
            return LiveSession.from_hash(fields)

        return await self._transact(conversation_id, write)

    async def link_user(
        self,
        *,
        conversation_id: str,
        user_id: str,
        merchant_id: str | None,
        shop: str | None,
    ) -> LiveSession:
        """Make ``user_id`` the owner of an anonymous (or already theirs) conversation.

        Another user's conversation raises ConversationNotFound and is left as it was.
        """

        def write(pipe: Pipeline, current: dict[str, str]) -> LiveSession:
            session = self._require(conversation_id, current, None, allow_anonymous_owner=True)
            if session.user_id not in (None, user_id):
                raise ConversationNotFound(conversation_id)
            update = {"user_id": user_id, "merchant_id": merchant_id or "", "shop": shop or ""}
            pipe.hset(session_key(conversation_id), mapping=_hash(update))
            return LiveSession.from_hash({**current, **update})

        return await self._transact(conversation_id, write)

    async def touch(self, *, conversation_id: str, user_id: str | None) -> LiveSession:
        """Record activity (a resume): slides the TTL like any other write."""

        def write(pipe: Pipeline, current: dict[str, str]) -> LiveSession:
            return self._require(conversation_id, current, user_id)

        return await self._transact(conversation_id, write)

    async def append_message(
        self,
        *,
        conversation_id: str,
        user_id: str | None,
        sender: str,
        content: str,
    ) -> dict[str, str]:
        """Append one message to a live conversation ``user_id`` may write; the stored message."""
        message = make_message(sender=sender, content=content)

        def write(pipe: Pipeline, current: dict[str, str]) -> dict[str, str]:
            session = self._require(conversation_id, current, user_id)
            if session.ended:
                raise ConversationEndedError(conversation_id)
            pipe.rpush(messages_key(conversation_id), _encode(message))
            return message

        return await self._transact(conversation_id, write)

    async def end_conversation(self, *, conversation_id: str, user_id: str | None) -> LiveSession:
        """Mark the conversation ended and due for archival now (idempotent)."""
        now = utc_now()

        def write(pipe: Pipeline, current: dict[str, str]) -> LiveSession:
            session = self._require(conversation_id, current, user_id)
            if session.ended:
                return session
            update = {"status": STATUS_ENDED, "ended_at": now}
            pipe.hset(session_key(conversation_id), mapping=_hash(update))
            return LiveSession.from_hash({**current, **update})

        return await self._transact(conversation_id, write, due_now=True)

    async def delete_live_conversation(
        self, *, conversation_id: str, expected_version: int | None = None
    ) -> bool:
        """Drop a conversation from Redis (both keys and its archive-index entry).

        With ``expected_version`` it deletes only if nothing was written since that version.
        True when deleted; ConversationBusy when chat writes keep winning the race.
        """
        skey = session_key(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_WATCH_RETRIES):
                try:
                    await pipe.watch(skey)
                    version = await pipe.hget(skey, "version")
                    if expected_version is not None and int(version or 0) != expected_version:
                        await pipe.reset()
                        return False
                    pipe.multi()
                    pipe.delete(skey, messages_key(conversation_id))
                    pipe.zrem(ARCHIVE_DUE_KEY, conversation_id)
                    pipe.zrem(ARCHIVE_LEASED_KEY, conversation_id)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise ConversationBusy(conversation_id)

    # Internals --------------------------------------------------------------------------

    def _require(
        self,
        conversation_id: str,
        current: dict[str, str],
        user_id: str | None,
        *,
        allow_anonymous_owner: bool = False,
    ) -> LiveSession:
        if not _is_complete(current):
            raise ConversationNotFound(conversation_id)
        session = LiveSession.from_hash(current)
        if not allow_anonymous_owner and not session.accessible_to(user_id):
            raise ConversationNotFound(conversation_id)
        return session

    async def _transact(
        self,
        conversation_id: str,
        write: Callable[[Pipeline, dict[str, str]], T],
        *,
        due_now: bool = False,
    ) -> T:
        """Run ``write`` in MULTI/EXEC on a WATCHed session hash, retrying on a conflict.

        ``write`` sees the current hash, may raise to refuse (nothing is written), and queues its
        commands; the bookkeeping every write shares is queued after them.
        """
        skey = session_key(conversation_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for attempt in range(MAX_WATCH_RETRIES):
                try:
                    await pipe.watch(skey)
                    current = _strings(await pipe.hgetall(skey))
                    pipe.multi()
                    result = write(pipe, current)
                    self._bookkeeping(pipe, conversation_id, due_now=due_now)
                    replies = await pipe.execute()
                except WatchError:
                    await _back_off(attempt)
                    continue
                return _with_version(result, replies)
        logger.warning(
            "conversation %s: gave up after %d write conflicts", conversation_id, MAX_WATCH_RETRIES
        )
        raise ConversationBusy(conversation_id)

    def _bookkeeping(self, pipe: Pipeline, conversation_id: str, *, due_now: bool) -> None:
        now = time.time()
        skey, mkey = session_key(conversation_id), messages_key(conversation_id)
        pipe.hset(skey, "last_activity", utc_now())
        pipe.hincrby(skey, "version", 1)
        pipe.expire(skey, self._ttl)
        pipe.expire(mkey, self._ttl)
        due_at = now if due_now else now + self._archive_delay
        schedule_archival(pipe, conversation_id=conversation_id, due_at=due_at)


async def _back_off(attempt: int) -> None:
    """A short random pause so writers that collided on one conversation spread out."""
    await asyncio.sleep(random.uniform(0, 0.001 * min(attempt + 1, 10)))


def _hash(fields: dict[str, str]) -> dict[FieldT, EncodableT]:
    return dict(fields.items())


def _strings(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A hash read with decode_responses=True holds str; the client's hints say str | bytes."""
    return cast(dict[str, str], raw)


def _encode(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def _with_version(result: T, replies: Iterable[Any]) -> T:
    """Put the version HINCRBY returned into a LiveSession result (other results unchanged)."""
    if not isinstance(result, LiveSession):
        return result
    # The bookkeeping queues HSET, HINCRBY, EXPIRE, EXPIRE, ZADD: HINCRBY is fourth from the end.
    version = int(list(replies)[-4])
    return cast(T, LiveSession(**{**result.__dict__, "version": version}))
