"""Conversation titles: the merchant's first message condensed, or a short generated one.

``condense`` is the Python twin of migration 009's ``condense_text`` (which makes every
archived row's ``first_message_title`` and ``preview``); a generated title goes through it too,
so whatever a language model answers, a title stays one line of at most 60 characters.
"""

from __future__ import annotations

import re

TITLE_MAX_CHARS = 60
PREVIEW_MAX_CHARS = 120
_SPACE = re.compile(r"\s+")
_PARTIAL_WORD = re.compile(r"\s+\S*$")


def condense(value: str | None, max_chars: int = TITLE_MAX_CHARS) -> str | None:
    """Whitespace collapsed; when longer than ``max_chars``, cut at the last word boundary
    that leaves room for "…" (one unbroken word is cut inside). None for blank text."""
    if value is None:
        return None
    flat = _SPACE.sub(" ", value).strip()
    if not flat:
        return None
    if len(flat) <= max_chars:
        return flat
    head = flat[: max_chars - 1]
    if flat[max_chars - 1] == " ":
        return head.rstrip() + "…"
    return (_PARTIAL_WORD.sub("", head) or head) + "…"
