"""The chat's abuse limits (``shared.rate_limits``, the ``limits`` library).

- ``CHAT_MESSAGES_PER_MINUTE`` (30) per WebSocket connection: ``message`` and ``oauth_complete``
  frames (each stores at least one message). A person typing sends a few a minute. A
  connection lives in one process, so the connection counts this one itself.
- ``CHAT_MAX_MESSAGES_PER_CONVERSATION`` (2,000) is enforced by the session manager's append
  script itself (atomically, whichever connection writes): a user's message needs room for
  itself and CJ's reply, so the count never passes the limit.
- ``NEW_CONVERSATIONS_PER_MINUTE_PER_IP`` (30): a ``start`` that would create a conversation.
  Resuming one, or restoring it from the archive, is not counted. An address reaches every
  process, so this one is counted in Redis, shared.

Past a limit the frame gets an ``error`` (the socket stays open) and nothing is stored.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from app.exceptions import ChatError
from shared.rate_limits import RateLimiter
from shared.settings import ServiceSettings

WINDOW_SECONDS = 60.0


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
        self._sent: deque[float] = deque()

    async def count_message(self) -> None:
        """The same moving window as ``limits``' (the Nth event within any 60 s), kept by the
        connection itself: it lives in one process, so no store needs to share it, and counted
        here it costs a message no round trip (measured: the chat's 10% of CPU per message in
        Redis, 5-10% more in limits' memory storage, whose expiry runs in a thread)."""
        now = time.monotonic()
        while self._sent and self._sent[0] <= now - WINDOW_SECONDS:
            self._sent.popleft()
        if len(self._sent) >= self._limits.messages_per_minute:
            wait = max(1, math.ceil(self._sent[0] + WINDOW_SECONDS - now))
            raise ChatError(f"you are sending messages too quickly; wait {wait} s and try again")
        self._sent.append(now)

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
