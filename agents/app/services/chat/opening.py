"""Opening a chat's conversation on ``start``: resume the live copy, restore it from the archive
for its owner, or create it (counted against NEW_CONVERSATIONS_PER_MINUTE_PER_IP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.exceptions import (
    ChatError,
    ConversationAlreadyExists,
    ConversationNotFound,
    StoreUnavailable,
)
from app.services.chat.abuse_limits import ConnectionLimits
from app.services.chat.archive_lookup import DeletedConversationError, find_archived_conversation
from app.services.identity_db import Pool
from app.services.session_manager import LiveSession, SessionManager
from shared.ids import merchant_id_for_shop
from shared.tokens import TokenClaims

NOT_FOUND = "conversation not found"
DELETED = "this conversation was deleted; start a new one"
BUSY = "the conversation is busy; please try again"


@dataclass(frozen=True)
class Opened:
    """What ``start`` found: the live session and its messages; ``restored_from`` is when the
    archived copy it was restored from was written (None when Redis still had it, or new)."""

    session: LiveSession
    messages: list[dict[str, Any]]
    resumed: bool
    restored_from: str | None = None


class ConversationOpener:
    def __init__(self, *, sessions: SessionManager, pool: Pool, limits: ConnectionLimits) -> None:
        self._sessions = sessions
        self._pool = pool
        self._limits = limits

    async def open(self, conversation_id: str, workflow: str, claims: TokenClaims | None) -> Opened:
        """The live conversation (resumed, restored from the archive, or new) and its messages."""
        user_id = claims.user_id if claims else None
        session = await self._sessions.get_session(conversation_id=conversation_id)
        if session is None:
            try:
                return await self._create(conversation_id, workflow, claims)
            except ConversationAlreadyExists:
                # Another instance created it between our read and our write: resume it.
                session = await self._sessions.get_session(conversation_id=conversation_id)
                if session is None:
                    raise ChatError(BUSY) from None
        if not session.accessible_to(user_id):
            raise ChatError(NOT_FOUND)
        try:
            session = await self._sessions.touch(conversation_id=conversation_id, user_id=user_id)
        except ConversationNotFound:
            raise ChatError(NOT_FOUND) from None
        messages = await self._sessions.get_messages(conversation_id=conversation_id)
        return Opened(session, messages, resumed=True)

    async def _create(
        self, conversation_id: str, workflow: str, claims: TokenClaims | None
    ) -> Opened:
        unverified = False
        try:
            archived = await find_archived_conversation(
                pool=self._pool, conversation_id=conversation_id
            )
        except DeletedConversationError:
            # A stale tab of a deleted conversation: the archiver would skip it forever, so
            # anything said under this id would be lost; make the client start a new one.
            raise ChatError(DELETED) from None
        except StoreUnavailable:
            # PostgreSQL is away, but a chat must still start: nearly every unknown id is a new
            # conversation. One that was archived (or deleted) meanwhile cannot be told now, so
            # the session says so and the archiver keeps it apart from that row when it writes.
            archived, unverified = None, True
        if archived is None:
            await self._limits.count_new_conversation()
            session = await self._sessions.create_session(
                conversation_id=conversation_id,
                workflow=workflow,
                unverified=unverified,
                **identity_of(claims),
            )
            return Opened(session, [], resumed=False)
        # Archived and gone from Redis: only its owner may bring it back, never an anonymous
        # client (an archived anonymous conversation stays closed) and never another user.
        if claims is None or archived.user_id != claims.user_id:
            raise ChatError(NOT_FOUND)
        session = await self._sessions.create_session(
            conversation_id=conversation_id,
            workflow=archived.workflow or workflow,
            started_at=archived.started_at,
            ended_at=archived.ended_at,
            messages=archived.messages,
            **identity_of(claims),
        )
        return Opened(session, archived.messages, resumed=True, restored_from=archived.archived_at)


def identity_of(claims: TokenClaims | None) -> dict[str, Any]:
    if claims is None:
        return {"user_id": None, "merchant_id": None, "shop": None}
    return {
        "user_id": claims.user_id,
        "merchant_id": merchant_id_for_shop(claims.shop),
        "shop": claims.shop,
    }
