"""Live conversations in Redis: the session hash, the ordered message list, the archive queue.

The key layout is in ``app.core.redis_keys``. Every write is one Lua script over the
conversation's two keys (``app.services.chat.session_scripts``: it checks, writes, bumps
``version`` and slides the TTL of both keys to REDIS_SESSION_TTL) followed, in the same pipeline
and so the same round trip, by the ``ZADD`` that queues the conversation in its shard of the
archive queue. The two touch different hash slots, so on a Redis Cluster they are not one
transaction; what the old single MULTI guaranteed still holds:

- a write is queued before it is acknowledged: the caller answers the client only after the
  pipeline, ZADD included, has returned;
- the archiver compares versions: it acks a lease only if the session's version is still the
  one it archived, so a write it did not see stays queued (the ZADD of that write re-queues
  it, or the ack hands the lease back). The reconciliation sweep (SCAN) catches the one case
  this cannot: a script delayed on its node past a whole archive cycle that its ZADD was not.

Writes are idempotent (a message carries its id), because a retry, or the cluster client's own
replay after a node failure, may run a script twice. The message list is append-only.

Session hash fields (strings; an empty string means none): conversation_id, user_id,
merchant_id, shop, workflow, started_at, ended_at, last_activity (ISO 8601 UTC), status
(``active`` | ``ended``), version (integer: creation time in ms, +1 on every write, one per message appended), and title
once a title was generated. A message is the JSON object
``{"sender": "user"|"cj", "content", "timestamp", "message_id"}``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.core.redis_keys import (
    conversation_due_key,
    conversation_leased_key,
    messages_key,
    session_key,
)
from app.core.redis_scripts import LuaScript, run_pipeline
from app.exceptions import (
    ConversationAlreadyExists,
    ConversationEndedError,
    ConversationFull,
    ConversationNotFound,
    NotReplicated,
)
from app.services.archival.queue import unqueue_refused_write
from app.services.chat import session_scripts as scripts
from shared.redis_client import AnyRedis, node_of

STATUS_ACTIVE = "active"
STATUS_ENDED = "ended"
# Without a per-conversation cap (CHAT_MAX_MESSAGES_PER_CONVERSATION) nothing stops a list.
UNLIMITED = 2**31


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def make_message(
    *, sender: str, content: str, timestamp: str | None = None, message_id: str | None = None
) -> dict[str, str]:
    return {
        "sender": sender,
        "content": content,
        "timestamp": timestamp or utc_now(),
        "message_id": message_id or str(uuid.uuid4()),
    }


@dataclass(frozen=True)
class Appended:
    """A message as stored; ``duplicate`` when one with its id already was (nothing written)."""

    message: dict[str, str]
    duplicate: bool
    # CJ's reply, when it was stored in the same write.
    reply: dict[str, str] | None = None


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


def encode_message(message: dict[str, Any]) -> str:
    # Compact separators: the append script finds a message id as '"message_id":"<id>"'.
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


class SessionManager:
    """Reads and writes live conversations; one per app, shared by every WebSocket."""

    def __init__(
        self,
        redis: AnyRedis,
        *,
        ttl_seconds: int,
        idle_seconds: int,
        archive_before_ttl_seconds: int = 0,
        max_messages: int = UNLIMITED,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ) -> None:
        self._redis = redis
        self._ttl = ttl_seconds
        # Archive when idle, but never later than ARCHIVE_BEFORE_TTL_SECONDS before the sliding TTL
        # would drop the keys, whatever the two settings are.
        self._archive_delay = max(0, min(idle_seconds, ttl_seconds - archive_before_ttl_seconds))
        self._max_messages = max_messages
        self._wait_replicas = wait_replicas
        self._wait_timeout_ms = wait_timeout_ms

    @property
    def max_messages(self) -> int:
        return self._max_messages

    # Reads ------------------------------------------------------------------------------

    async def get_session(self, *, conversation_id: str) -> LiveSession | None:
        data: dict[str, str] = await self._redis.hgetall(session_key(conversation_id))
        return LiveSession.from_hash(data) if _is_complete(data) else None

    async def live_owner(self, *, conversation_id: str) -> tuple[str | None, bool]:
        """Who the live copy names as its user ("" when anonymous), and whether any key exists.

        Unlike ``get_session`` this also sees a partial copy (a hash without its start time, or
        messages alone), so a delete can remove whatever is left of it.
        """
        skey, mkey = session_key(conversation_id), messages_key(conversation_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.hget(skey, "user_id")
        pipe.exists(skey, mkey)
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
        unverified: bool = False,
    ) -> LiveSession:
        """Create the conversation (optionally with messages restored from the archive).

        ``unverified``: created while PostgreSQL could not say whether the id was archived or
        deleted; the archiver settles it (archival/unverified.py).
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
        if unverified:
            fields["unverified"] = "1"
        items = [item for pair in fields.items() for item in pair]
        args = [len(items), *items, *(encode_message(m) for m in messages)]
        reply = await self._write(scripts.CREATE, conversation_id, now, args)
        if reply[0] == "exists":
            raise ConversationAlreadyExists()
        return _session(reply)

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
        args = [user_id, merchant_id or "", shop or ""]
        return _session(await self._write(scripts.LINK, conversation_id, utc_now(), args))

    async def touch(self, *, conversation_id: str, user_id: str | None) -> LiveSession:
        """Record activity (a resume): slides the TTL like any other write."""
        reply = await self._write(scripts.TOUCH, conversation_id, utc_now(), [user_id or ""])
        return _session(reply)

    async def append_message(
        self,
        *,
        conversation_id: str,
        user_id: str | None,
        sender: str,
        content: str,
        message_id: str | None = None,
        reopen: bool = False,
        replicate: bool = False,
        room: int = 1,
        reply: tuple[str, str | None] | None = None,
    ) -> Appended:
        """Append one message to a live conversation ``user_id`` may write; the stored message.

        ``reopen``: an ended conversation takes the message and is active again (its owner
        continuing it); otherwise ConversationEndedError. A message whose id is already stored
        is not stored again. ``replicate``: returns only once REDIS_WAIT_REPLICAS replicas have
        it (else NotReplicated), for what the client takes as acknowledged. ``room``: how many
        messages must fit under the cap with it (2 for a merchant's message: it and the reply),
        so the count never passes CHAT_MAX_MESSAGES_PER_CONVERSATION (else ConversationFull).
        ``reply`` (CJ's content and message id): stored right after it, in the same write.
        """
        message = make_message(sender=sender, content=content, message_id=message_id)
        stored = [message]
        if reply is not None:
            stored.append(make_message(sender="cj", content=reply[0], message_id=reply[1]))
        needle = f'"message_id":"{message["message_id"]}"'
        args = [
            user_id or "", int(reopen), self._max_messages, room - 1, needle,
            *(encode_message(m) for m in stored),
        ]  # fmt: skip
        result = await self._write(
            scripts.APPEND, conversation_id, message["timestamp"], args, replicate=replicate
        )
        if result[0] == "ended":
            raise ConversationEndedError()
        if result[0] == "full":
            raise ConversationFull()
        _check(result)
        return Appended(
            message=message,
            duplicate=result[0] == "dup",
            reply=stored[1] if len(stored) > 1 and result[0] == "ok" else None,
        )

    async def end_conversation(self, *, conversation_id: str, user_id: str | None) -> LiveSession:
        """Mark the conversation ended and due for archival now (idempotent)."""
        now = utc_now()
        reply = await self._write(
            scripts.END, conversation_id, now, [user_id or "", now], due_now=True
        )
        return _session(reply)

    async def set_title(self, *, conversation_id: str, title: str) -> None:
        """Keep a generated title with the session (the archiver copies it to PostgreSQL)."""
        _check(await self._write(scripts.SET_TITLE, conversation_id, utc_now(), [title]))

    async def delete_live_conversation(
        self, *, conversation_id: str, expected_version: int | None = None
    ) -> bool:
        """Drop a conversation from Redis (both keys and its archive-queue entries).

        With ``expected_version`` it deletes only if nothing was written since that version.
        The queue entries go only once the keys are gone: a refused delete leaves them queued.
        """
        expected = "" if expected_version is None else str(expected_version)
        keys = [session_key(conversation_id), messages_key(conversation_id)]
        replies = await run_pipeline(
            self._redis,
            lambda pipe: scripts.DELETE.queue(pipe, keys, [expected]),
            scripts=scripts.SCRIPTS,
        )
        if not replies[0]:
            return False
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(conversation_due_key(conversation_id), conversation_id)
        pipe.zrem(conversation_leased_key(conversation_id), conversation_id)
        await pipe.execute()
        return True

    # Internals --------------------------------------------------------------------------

    async def _write(
        self,
        script: LuaScript,
        conversation_id: str,
        now: str,
        args: Sequence[Any],
        *,
        due_now: bool = False,
        replicate: bool = False,
    ) -> list[Any]:
        """Run a write script and queue the conversation for archival, in one round trip."""
        skey = session_key(conversation_id)
        keys = [skey, messages_key(conversation_id)]
        due_at = time.time() + (0 if due_now else self._archive_delay)
        wait = replicate and self._wait_replicas > 0

        def build(pipe: Any) -> None:
            script.queue(pipe, keys, [now, self._ttl, *args])
            # LT: a write only brings a deadline forward, so a busy conversation is still
            # archived about ARCHIVE_IDLE_SECONDS after its first unarchived write.
            pipe.zadd(conversation_due_key(conversation_id), {conversation_id: due_at}, lt=True)
            if wait:
                # On the connection that wrote, so it waits for this write.
                pipe.execute_command(
                    "WAIT", self._wait_replicas, self._wait_timeout_ms, **node_of(self._redis, skey)
                )

        replies = await run_pipeline(self._redis, build, scripts=scripts.SCRIPTS)
        reply: list[Any] = replies[0]
        if reply[0] == "missing":
            await unqueue_refused_write(self._redis, conversation_id=conversation_id, due_at=due_at)
        if wait and int(replies[-1]) < self._wait_replicas:
            raise NotReplicated()
        return reply


def _check(reply: list[Any]) -> None:
    if reply[0] == "missing":
        raise ConversationNotFound()


def _session(reply: list[Any]) -> LiveSession:
    _check(reply)
    items = reply[2:]
    return LiveSession.from_hash(dict(zip(items[::2], items[1::2], strict=True)))
