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
    """The input is not JSON we accept; the message says why and is safe to send back."""


def is_storable_text(text: str) -> bool:
    """False when ``text`` holds a NUL or a lone surrogate."""
    return UNSTORABLE_TEXT.search(text) is None


def loads_checked(raw: str | bytes, *, max_depth: int, check_text: bool = True) -> Any:
    """The parsed value, or UnsafeJsonError (not JSON, too deep, or unstorable text)."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise UnsafeJsonError(f"JSON is nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError):
        raise UnsafeJsonError("not valid JSON") from None
    _walk(value, max_depth=max_depth, check_text=check_text)
    return value


def _walk(value: Any, *, max_depth: int, check_text: bool) -> None:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if check_text and not is_storable_text(item):
                raise UnsafeJsonError("text holds a NUL or an unpaired surrogate")
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth >= max_depth:
            raise UnsafeJsonError(f"JSON is nested more than {max_depth} levels deep")
        if isinstance(item, dict):
            for key, child in item.items():
                if check_text and not is_storable_text(key):
                    raise UnsafeJsonError("text holds a NUL or an unpaired surrogate")
                stack.append((child, depth + 1))
        else:
            stack.extend((child, depth + 1) for child in item)
