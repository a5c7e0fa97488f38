"""JSON and text from outside, checked before anything acts on them.

- Nesting: ``json.loads`` recurses once per level and raises ``RecursionError`` near 1,000 levels
  (a 20,000-deep array did); anything that walks the result later may recurse too. Both are
  stopped here: the error is caught, and the parsed value is walked without recursion and
  refused deeper than ``max_depth``.
- Text that cannot be stored: a lone surrogate (``"\\ud800"``, legal in JSON, not encodable as
  UTF-8, so Redis' encoder raised) and NUL (PostgreSQL text and jsonb refuse it). Neither comes
  from a keyboard; refusing (not replacing) keeps what is stored exactly what was sent.
"""

from __future__ import annotations

import json
import re
from typing import Any

UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")


class UnsafeJsonError(ValueError):
    """The input is not JSON we accept. The message completes a sentence about the input
    ("frame " + message) and is safe to send back; ``not_json`` tells a syntax error apart."""

    def __init__(self, message: str, *, not_json: bool = False) -> None:
        super().__init__(message)
        self.not_json = not_json


def is_storable_text(text: str) -> bool:
    """False when ``text`` holds a NUL or a lone surrogate."""
    return UNSTORABLE_TEXT.search(text) is None


def loads_checked(raw: str | bytes, *, max_depth: int, check_text: bool = True) -> Any:
    """The parsed value, or UnsafeJsonError (not JSON, too deep, or unstorable text)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise UnsafeJsonError(_too_deep(max_depth)) from None
    except (ValueError, UnicodeDecodeError):
        raise UnsafeJsonError("is not valid JSON", not_json=True) from None
    _walk(value, max_depth=max_depth, check_text=check_text)
    return value


_UNSTORABLE = "holds a NUL or an unpaired surrogate, which cannot be stored"


def _too_deep(max_depth: int) -> str:
    return f"is nested more than {max_depth} levels deep"


def _walk(value: Any, *, max_depth: int, check_text: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if check_text and not is_storable_text(item):
                raise UnsafeJsonError(_UNSTORABLE)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            raise UnsafeJsonError(_too_deep(max_depth))
        if isinstance(item, dict):
            for key, child in item.items():
                if check_text and not is_storable_text(key):
                    raise UnsafeJsonError(_UNSTORABLE)
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in item)
