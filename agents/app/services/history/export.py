"""History in the formats people take away: JSON Lines for a download, Markdown for reading."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from app.schemas.history import ConversationDetail
from app.services.history.queries import iter_conversation_batches
from app.services.identity_db import Pool

EXPORT_BATCH_SIZE = 200
SENDER_NAMES = {"user": "You", "cj": "CJ"}


def export_filename(user_id: str) -> str:
    # The id comes from a verified token, but a header value must still be plain ASCII.
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", user_id)[:60]
    return f"hirecj-conversations-{safe}.jsonl"


async def export_jsonl(
    *, pool: Pool, user_id: str, batch_size: int = EXPORT_BATCH_SIZE
) -> AsyncIterator[bytes]:
    """Every conversation of the user as one JSON object a line, a batch per chunk."""
    async for batch in iter_conversation_batches(pool=pool, user_id=user_id, batch_size=batch_size):
        yield b"".join(
            ConversationDetail.model_validate(item).model_dump_json().encode() + b"\n"
            for item in batch
        )


def _when(value: datetime | str | None) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def render_markdown(conversation: dict[str, Any]) -> str:
    """A readable transcript: a heading, when and which workflow, then each message."""
    lines = [
        f"# Conversation {conversation['id']}",
        "",
        f"- Workflow: {conversation['workflow'] or 'unknown'}",
        f"- Started: {_when(conversation['started_at'])}",
        f"- Ended: {_when(conversation['ended_at'])}",
        "",
    ]
    for message in conversation["messages"] or []:
        if not isinstance(message, dict):
            continue
        sender = message.get("sender")
        name = (
            SENDER_NAMES.get(sender, str(sender or "Unknown"))
            if isinstance(sender, str)
            else "Unknown"
        )
        lines.append(f"**{name}** ({_when(message.get('timestamp'))}):")
        lines.append("")
        lines.append(str(message.get("content") or ""))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


async def start_export(
    *, pool: Pool, user_id: str, batch_size: int = EXPORT_BATCH_SIZE
) -> AsyncIterator[bytes]:
    """``export_jsonl`` with its first chunk already read, so an unreachable database is a 503
    before any header is sent rather than a download cut short."""
    chunks = export_jsonl(pool=pool, user_id=user_id, batch_size=batch_size)
    first = await anext(chunks, b"")

    async def stream() -> AsyncIterator[bytes]:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return stream()
