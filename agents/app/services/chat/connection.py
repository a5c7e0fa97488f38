"""One WebSocket's chat: what each client frame does, independent of the transport.

The router parses frames and sends what these methods return; this class decides identity,
reads and writes the live conversation through :class:`SessionManager`, and asks the responder
for CJ's words. It keeps no state another app instance would need: everything that matters is in
Redis (and PostgreSQL once archived), so a conversation resumes on any instance.

Identity: the only user this chat trusts is the ``sub`` of a valid, unrevoked bearer token
(HS256, every claim; ``TokenRevocations``). A ``user_id`` or ``merchant_id`` sent without such a
token is ignored, so the session's ``merchant_id`` and ``shop`` also come only from a verified
token. A revoked token is treated exactly as a forged one.

Abuse limits (``abuse_limits``) are checked before anything is stored.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel

from app.exceptions import (
    ChatError,
    ConversationEndedError,
    ConversationFull,
    ConversationNotFound,
    NotReplicated,
    StoreUnavailable,
)
from app.schemas.chat import (
    CjMessage,
    ConversationEnded,
    ConversationStarted,
    MessageFrame,
    OAuthCompleteFrame,
    OAuthProcessed,
    StartFrame,
    StoredMessage,
)
from app.services.chat.abuse_limits import ConnectionLimits
from app.services.chat.archive_lookup import previous_conversation
from app.services.chat.opening import NOT_FOUND, ConversationOpener, identity_of
from app.services.chat.responders import ConversationContext, Responder
from app.services.identity_db import Pool
from app.services.session_manager import STATUS_ACTIVE, Appended, LiveSession, SessionManager
from app.services.token_revocations import TokenRevocations
from shared.ids import parse_conversation_id
from shared.redis_client import REDIS_ERRORS
from shared.tokens import InvalidTokenError, TokenClaims, verify_token

logger = logging.getLogger(__name__)

NOT_STARTED = "send a 'start' frame first"
ENDED = "this conversation has ended; start a new one"
FULL = "this conversation has reached its limit of {limit} messages; start a new one"
NOT_CONFIRMED = "your message could not be confirmed as saved; please send it again"
# Title requests in flight (kept referenced until they finish).
_titles: set[asyncio.Task[None]] = set()
# A reply's id follows from the id of the message it answers, so a retried message finds it.
REPLY_NAMESPACE = uuid.UUID("3f6c9b1e-8a1d-4f4e-9b8c-2a6d5e7f9c01")


Identity = Literal["verified", "anonymous", "rejected"]


class ChatConnection:
    def __init__(
        self,
        *,
        path_conversation_id: str,
        sessions: SessionManager,
        responder: Responder,
        pool: Pool,
        token_secrets: Sequence[str],
        revocations: TokenRevocations,
        limits: ConnectionLimits,
    ) -> None:
        try:
            self.conversation_id: str | None = parse_conversation_id(path_conversation_id)
        except ValueError:
            self.conversation_id = None
        self._sessions = sessions
        self._responder = responder
        self._pool = pool
        self._secrets = list(token_secrets)
        self._revocations = revocations
        self._limits = limits
        self._opener = ConversationOpener(sessions=sessions, pool=pool, limits=limits)
        self._session: LiveSession | None = None
        # The conversation's messages as this socket knows them, by id, and the merchant's count.
        self._by_id: dict[str, dict[str, Any]] = {}
        self._user_turns = 0
        # The user a valid token proved on this socket (start or oauth_complete), if any.
        self._verified_user: str | None = None
        self._messages: list[dict[str, Any]] = []

    @property
    def path_is_valid(self) -> bool:
        return self.conversation_id is not None

    # Frames -----------------------------------------------------------------------------

    async def start(self, frame: StartFrame) -> list[BaseModel]:
        conversation_id = self._check_start_id(frame.conversation_id)
        claims, identity = await self._verify(frame.token)
        user_id = claims.user_id if claims else None
        opened = await self._opener.open(conversation_id, frame.workflow, claims)
        session, messages = opened.session, opened.messages
        if claims is not None and session.user_id is None:
            session = await self._link(session, claims)
        self._session = session
        self._remember_all(messages)
        self._verified_user = user_id
        frames: list[BaseModel] = [
            ConversationStarted(
                conversation_id=conversation_id,
                user_id=session.user_id,
                workflow=session.workflow,
                resumed=opened.resumed,
                messages=[StoredMessage.model_validate(m) for m in messages],
                restored=opened.restored_from is not None,
                archived_at=opened.restored_from,
                identity=identity,
            )
        ]
        needs_greeting = not session.ended and not any(m.get("sender") == "cj" for m in messages)
        if needs_greeting:
            frames.append(await self._greet(user_id))
        return frames

    async def message(self, frame: MessageFrame) -> list[BaseModel]:
        session = self._writable()
        await self._limits.count_message()
        reply_id = _reply_id(frame.message_id)
        instant = None
        if self._responder.instant:
            # A reply that costs nothing to make is stored with the merchant's message, in the
            # same write: one round trip to Redis for the pair instead of two.
            text = await self._responder.reply(context=self._context(), text=frame.text)
            instant = (text, reply_id)
        appended = await self._append(
            session,
            "user",
            frame.text,
            message_id=frame.message_id,
            replicate=True,
            room=2,
            reply=instant,
        )
        if appended.reply is not None:
            self._name_if_first(appended.message)
            return [_cj_frame(appended.reply)]
        if appended.duplicate and reply_id is not None:
            # A retry of a message already stored: answer with the reply it already got, if it
            # was stored; otherwise the first attempt failed before it and a reply is due now.
            earlier = await self._stored_message(reply_id)
            if earlier is not None:
                return [_cj_frame(earlier)]
        stored = appended.message
        if not appended.duplicate:
            self._name_if_first(stored)
        position = next(i for i, m in enumerate(self._messages) if m is stored)
        context = self._context(history=self._messages[:position])
        reply = await self._responder.reply(context=context, text=stored["content"])
        return [await self._cj_says(reply, message_id=reply_id, replicate=True)]

    async def oauth_complete(self, frame: OAuthCompleteFrame) -> list[BaseModel]:
        session = self._writable()
        await self._limits.count_message()
        claims, _ = await self._verify(frame.token)
        if claims is None or not session.accessible_to(claims.user_id):
            # Not proven, or someone else's conversation: nothing changes.
            return [
                OAuthProcessed(success=False, is_new=frame.is_new, merchant_id=None, user_id=None)
            ]
        if session.ended:
            raise ChatError(ENDED)
        session = await self._link(session, claims)
        self._verified_user = claims.user_id
        acknowledgement = await self._responder.oauth_acknowledgement(
            context=self._context(), shop=claims.shop, is_new=frame.is_new
        )
        return [
            OAuthProcessed(
                success=True,
                is_new=frame.is_new,
                merchant_id=session.merchant_id,
                user_id=session.user_id,
            ),
            await self._cj_says(acknowledgement),
        ]

    async def end_conversation(self) -> list[BaseModel]:
        session = self._session
        if session is None:
            raise ChatError(NOT_STARTED)
        try:
            ended = await self._sessions.end_conversation(
                conversation_id=session.conversation_id, user_id=session.user_id
            )
        except ConversationNotFound:
            raise ChatError(NOT_FOUND) from None
        self._session = ended
        return [
            ConversationEnded(conversation_id=ended.conversation_id, ended_at=ended.ended_at or "")
        ]

    # Steps ------------------------------------------------------------------------------

    def _check_start_id(self, frame_id: str) -> str:
        if self.conversation_id is None:
            raise ChatError("the conversation id in the address must be a UUID")
        try:
            conversation_id = parse_conversation_id(frame_id)
        except ValueError:
            raise ChatError("conversation_id must be a UUID") from None
        if conversation_id != self.conversation_id:
            raise ChatError("conversation_id does not match the address")
        return conversation_id

    async def _verify(self, token: str | None) -> tuple[TokenClaims | None, Identity]:
        if not token:
            return None, "anonymous"
        try:
            claims = verify_token(token, secrets=self._secrets)
        except InvalidTokenError as exc:
            logger.info("chat token refused: %s", exc)
            return None, "rejected"
        if await self._revocations.is_revoked(claims):
            logger.info("chat token refused: token has been revoked")
            return None, "rejected"
        return claims, "verified"

    async def _link(self, session: LiveSession, claims: TokenClaims) -> LiveSession:
        try:
            linked = await self._sessions.link_user(
                conversation_id=session.conversation_id, **identity_of(claims)
            )
        except ConversationNotFound:
            raise ChatError(NOT_FOUND) from None
        self._session = linked
        return linked

    async def _greet(self, user_id: str | None) -> CjMessage:
        previous = None
        if user_id is not None and self.conversation_id is not None:
            # The last topic only colours the greeting: without PostgreSQL, greet plainly.
            with suppress(StoreUnavailable):
                previous = await previous_conversation(
                    pool=self._pool, user_id=user_id, conversation_id=self.conversation_id
                )
        text = await self._responder.greeting(
            context=self._context(),
            returning=previous is not None,
            last_topic=previous.topic if previous else None,
        )
        return await self._cj_says(text)

    async def _cj_says(
        self, text: str, *, message_id: str | None = None, replicate: bool = False
    ) -> CjMessage:
        appended = await self._append(
            self._writable(), "cj", text, message_id=message_id, replicate=replicate
        )
        return _cj_frame(appended.message)

    async def _append(
        self,
        session: LiveSession,
        sender: str,
        content: str,
        *,
        message_id: str | None,
        replicate: bool = False,
        room: int = 1,
        reply: tuple[str, str | None] | None = None,
    ) -> Appended:
        """Store one message; ``replicate``: it acknowledges what the merchant said (their
        message, or the reply to it), so REDIS_WAIT_REPLICAS must confirm it first."""
        try:
            appended = await self._sessions.append_message(
                conversation_id=session.conversation_id,
                user_id=session.user_id,
                sender=sender,
                content=content,
                message_id=message_id,
                reopen=self._may_reopen(session),
                replicate=replicate,
                room=room,
                reply=reply,
            )
        except ConversationEndedError:
            raise ChatError(ENDED) from None
        except ConversationFull:
            raise ChatError(FULL.format(limit=self._sessions.max_messages)) from None
        except ConversationNotFound:
            raise ChatError(NOT_FOUND) from None
        except NotReplicated:
            raise ChatError(NOT_CONFIRMED) from None
        if session.ended:
            # The owner continued an ended conversation: it is active again.
            self._session = replace(session, status=STATUS_ACTIVE, ended_at=None)
        known = self._by_id.get(appended.message["message_id"])
        if known is None:
            self._remember(appended.message)
            if appended.reply is not None:
                self._remember(appended.reply)
            return appended
        return Appended(message=known, duplicate=True)

    def _remember(self, message: dict[str, Any]) -> None:
        self._messages.append(message)
        self._by_id[message.get("message_id") or ""] = message
        if message.get("sender") == "user":
            self._user_turns += 1

    def _remember_all(self, messages: Sequence[dict[str, Any]]) -> None:
        self._messages, self._by_id, self._user_turns = [], {}, 0
        for message in messages:
            self._remember(message)

    async def _stored_message(self, message_id: str) -> dict[str, Any] | None:
        if (known := self._by_id.get(message_id)) is not None:
            return known
        assert self.conversation_id is not None
        stored = await self._sessions.get_messages(conversation_id=self.conversation_id)
        return next((m for m in reversed(stored) if m.get("message_id") == message_id), None)

    def _name_if_first(self, message: dict[str, Any]) -> None:
        """For the merchant's first message, ask the responder for a title in the background:
        never on the reply's path."""
        if self._user_turns != 1 or message.get("sender") != "user":
            return
        task = asyncio.create_task(self._name(message["content"]), name="conversation-title")
        _titles.add(task)
        task.add_done_callback(_titles.discard)

    async def _name(self, text: str) -> None:
        title = await self._responder.title(context=self._context(), text=text)
        if title is None or self.conversation_id is None:
            return
        try:
            await self._sessions.set_title(conversation_id=self.conversation_id, title=title)
        except (ConversationNotFound, *REDIS_ERRORS) as exc:
            logger.info("conversation title not kept (%s)", type(exc).__name__)

    def _may_reopen(self, session: LiveSession) -> bool:
        """Only the verified owner may continue an ended conversation; an anonymous one that
        has ended stays ended (as an archived anonymous one stays closed)."""
        return session.user_id is not None and session.user_id == self._verified_user

    def _writable(self) -> LiveSession:
        if self._session is None:
            raise ChatError(NOT_STARTED)
        if self._session.ended and not self._may_reopen(self._session):
            raise ChatError(ENDED)
        return self._session

    def _context(self, history: Sequence[dict[str, Any]] | None = None) -> ConversationContext:
        """What the responder may know; ``history`` defaults to every message so far (the
        connection's own list, not a copy: a responder only reads it)."""
        session = self._session
        messages = self._messages if history is None else history
        return ConversationContext(
            conversation_id=self.conversation_id or "",
            workflow=session.workflow if session else "",
            user_id=session.user_id if session else None,
            shop=session.shop if session else None,
            history=messages,
            known_user_turns=self._user_turns if history is None else None,
        )


def _reply_id(message_id: str | None) -> str | None:
    return str(uuid.uuid5(REPLY_NAMESPACE, message_id)) if message_id else None


def _cj_frame(message: dict[str, Any]) -> CjMessage:
    return CjMessage(
        content=message["content"],
        timestamp=message["timestamp"],
        message_id=message["message_id"],
    )
