"""CJ's replies: a pluggable :class:`Responder`, chosen by the settings.

The scripted ``shopify_onboarding`` workflow is the default; the LLM responder (OpenAI-compatible
chat completions) is used when LLM_API_KEY is set.
"""

from __future__ import annotations

from app.config import Settings
from app.services.chat.responders.base import ConversationContext, Responder, shop_name
from app.services.chat.responders.llm import LLMResponder
from app.services.chat.responders.scripted import ScriptedResponder

__all__ = [
    "ConversationContext",
    "LLMResponder",
    "Responder",
    "ScriptedResponder",
    "create_responder",
    "shop_name",
]


def create_responder(settings: Settings) -> Responder:
    if settings.llm_api_key is not None and settings.llm_api_key.get_secret_value():
        return LLMResponder(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value(),
            model=settings.llm_model,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    return ScriptedResponder()
