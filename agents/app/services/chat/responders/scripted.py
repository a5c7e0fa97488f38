"""The scripted ``shopify_onboarding`` workflow: CJ without a language model.

It greets (naming the last archived conversation for a returning user), explains what CJ does,
offers to connect Shopify until a shop is connected, acknowledges the OAuth return by shop name,
and answers messages by topic. Replies rotate with the number of turns so a long chat does not
hear the same sentence twice in a row.
"""

from __future__ import annotations

from app.services.chat.responders.base import ConversationContext, shop_name

INTRO = (
    "I'm CJ, a support teammate for Shopify stores: I read your customer conversations, "
    "spot what people ask about most, and help you answer them faster."
)
CONNECT_OFFER = (
    "Connect your Shopify store with the Connect Shopify button and I'll look at your "
    "products, orders and customers (read-only)."
)

_TOPICS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("connect", "shopify", "install", "oauth", "store", "shop"),
        (
            "Connecting takes a minute: press Connect Shopify, approve the read-only access "
            "Shopify shows you, and you'll come straight back here.",
            "Shopify will ask you to approve read access to products, orders and customers. "
            "Nothing is changed in your store.",
        ),
    ),
    (
        ("what", "who", "help", "do you", "how"),
        (
            "I work alongside your team: I answer customer questions about orders, shipping and "
            "products, and flag the ones that need a human.",
            "Think of me as a support agent who never sleeps: I draft replies, track common "
            "questions and tell you what your customers struggle with.",
        ),
    ),
    (
        ("price", "cost", "pay", "plan", "free"),
        (
            "You can try me for free while we get set up; nothing is charged without asking you.",
            "There's no cost to connect your store and look around.",
        ),
    ),
    (
        ("order", "refund", "shipping", "return", "customer"),
        (
            "Orders, shipping and refunds are what customers ask about most. Once your store is "
            "connected I can see which of those come up for you.",
            "I can help with order and shipping questions: I'll draft answers your team can send.",
        ),
    ),
    (
        ("thank", "thanks", "great", "cool", "ok"),
        (
            "Happy to help. What would you like to look at next?",
            "Anytime. Is there anything about your store you'd like to dig into?",
        ),
    ),
)

_CONNECTED_REPLIES = (
    "With {name} connected, I can look at your recent orders and common customer questions. "
    "What would you like to start with?",
    "Good question. I'll keep it in mind as I learn {name}'s catalog and customers.",
    "Noted. Tell me more about how {name} handles support today, and I'll suggest where I can help.",
    "Got it. Anything else about {name} I should know?",
)

_ANONYMOUS_REPLIES = (
    "Got it. " + CONNECT_OFFER,
    "Thanks for telling me. I can be much more specific once your store is connected.",
    "Understood. Tell me a bit about your store: what do you sell, and who are your customers?",
    "That helps. Whenever you're ready, Connect Shopify lets me see your real orders.",
)


class ScriptedResponder:
    """The default responder: deterministic, instant, no network."""

    # Its replies are made in-process at once: stored with the message they answer.
    instant = True

    async def greeting(
        self, *, context: ConversationContext, returning: bool, last_topic: str | None
    ) -> str:
        if returning:
            about = f" Last time we talked about “{last_topic}”." if last_topic else ""
            return (
                f"Welcome back!{about} Shall we pick up where we left off, or start something new?"
            )
        if context.shop:
            name = shop_name(context.shop)
            return f"Hi! {INTRO} I'm connected to {name}, so ask me anything about it."
        return f"Hi! {INTRO} {CONNECT_OFFER}"

    async def reply(self, *, context: ConversationContext, text: str) -> str:
        turn = context.user_turns
        lowered = text.lower()
        for keywords, replies in _TOPICS:
            if any(keyword in lowered for keyword in keywords):
                if context.shop and keywords[0] == "connect":
                    break
                return replies[turn % len(replies)]
        if context.shop:
            template = _CONNECTED_REPLIES[turn % len(_CONNECTED_REPLIES)]
            return template.format(name=shop_name(context.shop))
        return _ANONYMOUS_REPLIES[turn % len(_ANONYMOUS_REPLIES)]

    async def oauth_acknowledgement(
        self, *, context: ConversationContext, shop: str, is_new: bool
    ) -> str:
        name = shop_name(shop)
        if is_new:
            return (
                f"{name} is connected. Welcome aboard! I'll start by learning your products "
                "and the questions your customers ask most. What should I look at first?"
            )
        return f"Welcome back, {name} is connected again. Where would you like to pick up?"

    async def title(self, *, context: ConversationContext, text: str) -> str | None:
        return None

    async def aclose(self) -> None:
        return None
