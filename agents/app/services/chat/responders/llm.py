"""CJ's replies from an OpenAI-compatible chat completions endpoint (used when LLM_API_KEY is set).

One request per user message (no streaming), bounded by LLM_TIMEOUT_SECONDS. Any provider
trouble (network error, timeout, a non-2xx status, a body that is not the expected JSON) gives a
polite fallback reply instead of an error, and is logged without the message contents. Greetings
and the OAuth acknowledgement stay scripted: they must arrive within a second and say exact things.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from app.services.chat.responders.base import ConversationContext, shop_name
from app.services.chat.responders.scripted import ScriptedResponder
from app.services.chat.titles import TITLE_MAX_CHARS, condense

logger = logging.getLogger(__name__)

HISTORY_MESSAGES = 20
MAX_REPLY_CHARS = 4000
FALLBACK_REPLY = (
    "Sorry, I'm having trouble thinking right now. Please try again in a moment; "
    "your message is saved."
)
SYSTEM_PROMPT = (
    "You are CJ, a friendly, concise customer-support teammate for Shopify merchants. "
    "You help merchants understand their customers' questions, orders and support workload. "
    "If no store is connected yet, suggest connecting it with the Connect Shopify button. "
    "Answer in a few sentences."
)


TITLE_PROMPT = (
    "Write a title of at most six words for a support chat that begins with the message below. "
    "Answer with the title only, no quotes."
)
TITLE_SOURCE_CHARS = 1000


class LLMResponder:
    # A reply takes a network call: the merchant's message is stored first, on its own.
    instant = False

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout_seconds: float,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._model = model
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            headers={"Authorization": f"Bearer {api_key}"},
        )
        self._scripted = ScriptedResponder()

    async def greeting(
        self, *, context: ConversationContext, returning: bool, last_topic: str | None
    ) -> str:
        return await self._scripted.greeting(
            context=context, returning=returning, last_topic=last_topic
        )

    async def oauth_acknowledgement(
        self, *, context: ConversationContext, shop: str, is_new: bool
    ) -> str:
        return await self._scripted.oauth_acknowledgement(context=context, shop=shop, is_new=is_new)

    async def reply(self, *, context: ConversationContext, text: str) -> str:
        payload = {"model": self._model, "messages": self._prompt(context, text)}
        try:
            response = await self._client.post(self._url, json=payload)
            response.raise_for_status()
            content = _reply_content(response.json())
        except httpx.TimeoutException:
            logger.warning("LLM provider timed out; sent the fallback reply")
            return FALLBACK_REPLY
        except httpx.HTTPStatusError as exc:
            logger.warning(
                "LLM provider answered %s; sent the fallback reply", exc.response.status_code
            )
            return FALLBACK_REPLY
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("LLM provider failed (%s); sent the fallback reply", type(exc).__name__)
            return FALLBACK_REPLY
        return content[:MAX_REPLY_CHARS]

    async def title(self, *, context: ConversationContext, text: str) -> str | None:
        payload = {
            "model": self._model,
            "messages": [
                {"role": "system", "content": TITLE_PROMPT},
                {"role": "user", "content": text[:TITLE_SOURCE_CHARS]},
            ],
        }
        try:
            response = await self._client.post(self._url, json=payload)
            response.raise_for_status()
            content = _reply_content(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            # The first message stays the title; nothing for the merchant to see.
            logger.info("LLM title not made (%s)", type(exc).__name__)
            return None
        return condense(content.strip().strip('"“”'), TITLE_MAX_CHARS)

    async def aclose(self) -> None:
        await self._client.aclose()

    def _prompt(self, context: ConversationContext, text: str) -> list[dict[str, str]]:
        system = SYSTEM_PROMPT
        if context.shop:
            system += f" The merchant's store is {shop_name(context.shop)} ({context.shop})."
        messages = [{"role": "system", "content": system}]
        for message in list(context.history)[-HISTORY_MESSAGES:]:
            role = "assistant" if message.get("sender") == "cj" else "user"
            messages.append({"role": role, "content": str(message.get("content", ""))})
        messages.append({"role": "user", "content": text})
        return messages


def _reply_content(body: Any) -> str:
    """``choices[0].message.content`` of a chat completion, or ValueError."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ValueError("not a chat completion") from None
    if not isinstance(content, str) or not content.strip():
        raise ValueError("empty completion")
    return content.strip()
