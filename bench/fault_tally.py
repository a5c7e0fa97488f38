"""The fault suite's accounting: what the clients saw against what PostgreSQL holds at the end.

    sent        distinct messages the clients sent (each has its own message_id)
    replied     of those, how many got their ``cj_message``: acknowledged to the user
    stored      of those sent, how many are in their conversation's archived messages
    lost        replied and not stored
    duplicated  message ids that occur more than once in one archived conversation
    errors      ``error`` frames the clients received

A Redis without AOF forgets everything on a restart: there a lost message is acceptable only
if its user was told, i.e. the client found it missing from a copy marked ``restored``
(``lost_reported``), or the server answered ``resumed: false``, a new conversation, for one
the client had messages in (``lost_reported_as_new``: never archived before Redis lost it);
``lost_unreported`` must be 0. With ``appendfsync everysec`` Redis may
itself drop the last one to two seconds of acknowledged writes on a SIGKILL; losses acknowledged
in that window before the kill are counted as ``lost_everysec_window``, not hidden.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fault_load import ChatLoad

# Redis' everysec fsync runs once a second and postpones a write for up to 2 s more while an
# fsync is pending; a reply reaches the client a moment after its write.
EVERYSEC_BEFORE_S = 2.5
EVERYSEC_AFTER_S = 0.5


@dataclass(frozen=True)
class Rules:
    """How a scenario's losses are judged."""

    volatile_redis: bool = False  # Redis without AOF: reported losses are allowed
    redis_killed_at: float | None = None  # with AOF: the everysec window before this time


def tally(
    load: ChatLoad, archived: dict[str, list[dict[str, Any]]], rules: Rules
) -> dict[str, Any]:
    sent = replied = stored = 0
    lost: list[tuple[str, float]] = []  # (message id, replied at)
    reported: set[str] = set()
    as_new: set[str] = set()
    unreported_seen = 0
    for client in load.clients:
        held = {m.get("message_id") for m in archived.get(client.conversation_id, [])}
        reported |= client.reported_lost
        as_new |= client.lost_as_new
        unreported_seen += len(client.unreported_missing)
        for message in client.sent:
            sent += 1
            replied += message.replied_at is not None
            if message.message_id in held:
                stored += 1
            elif message.replied_at is not None:
                lost.append((message.message_id, message.replied_at))
    duplicated = sum(
        1
        for messages in archived.values()
        for message_id, count in Counter(m.get("message_id") for m in messages).items()
        if message_id and count > 1
    )
    result: dict[str, Any] = {
        "sent": sent,
        "replied": replied,
        "stored": stored,
        "lost": len(lost),
        "duplicated": duplicated,
        "errors": load.counters.errors,
        "error_texts": dict(load.counters.error_texts.most_common(4)),
        "unreplied": sent - replied,
        "dropped_sockets": load.counters.dropped,
        "connects": load.counters.connects,
        "conversations": len(load.clients),
        "conversations_archived": sum(1 for c in load.clients if c.conversation_id in archived),
    }
    unjudged = len(lost)
    if rules.volatile_redis:
        result["lost_reported"] = sum(1 for message_id, _ in lost if message_id in reported)
        result["lost_reported_as_new"] = sum(1 for message_id, _ in lost if message_id in as_new)
        result["lost_unreported"] = (
            len(lost) - result["lost_reported"] - result["lost_reported_as_new"]
        )
        result["restored_notices"] = load.counters.restored_frames
        unjudged = result["lost_unreported"]
    if rules.redis_killed_at is not None:
        start = rules.redis_killed_at - EVERYSEC_BEFORE_S
        end = rules.redis_killed_at + EVERYSEC_AFTER_S
        result["lost_everysec_window"] = sum(1 for _, at in lost if start <= at <= end)
        unjudged = len(lost) - result["lost_everysec_window"]
    if unreported_seen:
        # A resumed copy (not marked restored) lacking acknowledged messages, seen live.
        result["missing_on_resume"] = unreported_seen
    result["failures"] = []
    if unjudged:
        result["failures"].append(f"{unjudged} acknowledged messages lost")
    if duplicated:
        result["failures"].append(f"{duplicated} messages stored more than once")
    return result


def whole_conversations(load: ChatLoad, archived: dict[str, list[dict[str, Any]]]) -> int:
    """Conversations whose archived copy holds every message its client was shown."""
    return sum(
        1
        for client in load.clients
        if client.seen_ids - {""}
        <= {m.get("message_id") for m in archived.get(client.conversation_id, [])}
    )
