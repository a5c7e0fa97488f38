"""The Redis key layout of live conversations (documented in docs/architecture.md).

Every key of one conversation carries the conversation id in a hash tag, ``{<id>}``, so Redis
Cluster keeps them in one slot and a MULTI or a Lua script may touch them together. The archive
index is one global sorted set; the writes that keep it are separate commands on purpose.

    conv:{<id>}:session   hash   conversation_id, user_id, merchant_id, shop, workflow,
                                 started_at, ended_at, last_activity, status (active|ended),
                                 version (bumped by every write)
    conv:{<id>}:messages  list   one JSON object per message, in order:
                                 {"sender": "user"|"cj", "content", "timestamp"}
    archive:due           zset   member = conversation id, score = unix time by which it must
                                 be archived (min of: TTL end - ARCHIVE_BEFORE_TTL_SECONDS,
                                 last activity + ARCHIVE_IDLE_SECONDS, ended + a moment)
    archive:leased        zset   member = conversation id claimed by an archiver, score = when
                                 its lease ends; an expired lease goes back to archive:due
    oauth:state:<nonce>   string single-use OAuth state (auth service), 10 minutes
"""

from __future__ import annotations

ARCHIVE_DUE_KEY = "archive:due"
ARCHIVE_LEASED_KEY = "archive:leased"


def session_key(conversation_id: str) -> str:
    return f"conv:{{{conversation_id}}}:session"


def messages_key(conversation_id: str) -> str:
    return f"conv:{{{conversation_id}}}:messages"
