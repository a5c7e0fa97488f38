"""The chat's abuse limits, counted in Redis (``shared.rate_limits``) so every process shares them.

- ``CHAT_MESSAGES_PER_MINUTE`` (30) per WebSocket connection: ``message`` and ``oauth_complete``
  frames (each stores at least one message). A person typing sends a few a minute.
- ``CHAT_MAX_MESSAGES_PER_CONVERSATION`` (2,000) is enforced by the session manager's append
  script itself (atomically, whichever connection writes): a user's message needs room for
  itself and CJ's reply, so the count never passes the limit.
- ``NEW_CONVERSATIONS_PER_MINUTE_PER_IP`` (30): a ``start`` that would create a conversation.
  Resuming one, or restoring it from the archive, is not counted.

Past a limit the frame gets an ``error`` (the socket stays open) and nothing is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.exceptions import ChatError
from shared.rate_limits import RateLimiter
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class ChatLimits:
    messages_per_minute: int
    max_messages_per_conversation: int
    new_conversations_per_minute_per_ip: int

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ChatLimits:
        return cls(
            messages_per_minute=settings.chat_messages_per_minute,
            max_messages_per_conversation=settings.chat_max_messages_per_conversation,
            new_conversations_per_minute_per_ip=settings.new_conversations_per_minute_per_ip,
        )


class ConnectionLimits:
    """The limits as one WebSocket connection (from ``client_host``) meets them."""

    def __init__(
        self,
        *,
        limiter: RateLimiter,
        limits: ChatLimits,
        client_host: str,
    ) -> None:
        self._limiter = limiter
        self._limits = limits
        self._client_host = client_host
        self._connection_id = uuid.uuid4().hex

    async def count_message(self) -> None:
        decision = await self._limiter.hit(
            name="chat-messages",
            subject=self._connection_id,
            per_minute=self._limits.messages_per_minute,
        )
        if not decision.allowed:
            raise ChatError(
                f"you are sending messages too quickly; wait {decision.retry_after_seconds} s "
                "and try again"
            )

    async def count_new_conversation(self) -> None:
        decision = await self._limiter.hit(
            name="new-conversations",
            subject=self._client_host,
            per_minute=self._limits.new_conversations_per_minute_per_ip,
        )
        if not decision.allowed:
            raise ChatError(
                "too many new conversations from this address; try again in "
                f"{decision.retry_after_seconds} s"
            )
