"""What CJ's reply generators share: the Responder protocol and the context it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.constants import SHOP_SUFFIX


@dataclass(frozen=True)
class ConversationContext:
    """What a responder may know about the conversation it answers in."""

    conversation_id: str
    workflow: str
    user_id: str | None = None
    shop: str | None = None
    # Stored messages before the one being answered, oldest first.
    history: Sequence[dict[str, Any]] = field(default_factory=tuple)
    # How many of them the merchant wrote, when the caller keeps count (the chat does, so a
    # long conversation is not counted again for every reply); else counted from history.
    known_user_turns: int | None = None

    @property
    def user_turns(self) -> int:
        if self.known_user_turns is not None:
            return self.known_user_turns
        return sum(1 for message in self.history if message.get("sender") == "user")


class Responder(Protocol):
    """Writes CJ's side of a conversation. Implementations never raise for provider trouble:
    they answer with a polite fallback instead, so the user always gets a reply."""

    # True when a reply is made at once in-process, so it is stored with the message it answers
    # (one write); False when it waits on a network call (the message is stored first).
    instant: bool

    async def greeting(
        self, *, context: ConversationContext, returning: bool, last_topic: str | None
    ) -> str: ...

    async def reply(self, *, context: ConversationContext, text: str) -> str: ...

    async def oauth_acknowledgement(
        self, *, context: ConversationContext, shop: str, is_new: bool
    ) -> str: ...

    async def title(self, *, context: ConversationContext, text: str) -> str | None:
        """A short title for a conversation that begins with ``text``, or None (the merchant's
        first message, condensed, is the title then). Called off the reply's path."""
        ...

    async def aclose(self) -> None: ...


def shop_name(shop: str) -> str:
    """``cool-store.myshopify.com`` → ``cool-store``: how a merchant names their own store."""
    return shop.removesuffix(SHOP_SUFFIX) or shop
