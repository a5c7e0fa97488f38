"""The Redis key layout of live conversations (documented in docs/architecture.md).

Every key of one conversation carries the conversation id in a hash tag, ``{<id>}``, so Redis
Cluster keeps them in one slot and one Lua script may touch them together. The archive queue is
sharded into ``ARCHIVE_SHARDS`` pairs, each pair sharing the tag ``{<n>}``, so that a claim (a
script over a pair) never crosses slots and the queue spreads over the cluster's shards. No
script or transaction touches a conversation's keys and a queue pair together.

    conv:{<id>}:session   hash   conversation_id, user_id, merchant_id, shop, workflow,
                                 started_at, ended_at, last_activity, status (active|ended),
                                 version (bumped by every write), title (a generated title)
    conv:{<id>}:messages  list   one JSON object per message, in order:
                                 {"sender": "user"|"cj", "content", "timestamp", "message_id"}
    archive:{<n>}:due     zset   member = conversation id of shard n, score = unix time by which
                                 it must be archived
    archive:{<n>}:leased  zset   member = conversation id claimed by an archiver, score = when
                                 its lease ends (unique to the claim); an expired lease goes
                                 back to the due set
    oauth:state:<nonce>   string single-use OAuth state (auth service), 10 minutes

Shard n of a conversation is crc32(id) mod ARCHIVE_SHARDS. The number is fixed: changing it
would leave queued ids in shards nobody computes (the legacy single pair below is drained the
same way, by the archiver, on start).
"""

from __future__ import annotations

import zlib

ARCHIVE_SHARDS = 16
# The archive index of the releases before it was sharded; the archiver moves what is left in
# it into the shards (queue.adopt_legacy_queue), so a deploy loses no queued conversation.
LEGACY_DUE_KEY = "archive:due"
LEGACY_LEASED_KEY = "archive:leased"


def session_key(conversation_id: str) -> str:
    return f"conv:{{{conversation_id}}}:session"


def messages_key(conversation_id: str) -> str:
    return f"conv:{{{conversation_id}}}:messages"


def shard_of(conversation_id: str) -> int:
    return zlib.crc32(conversation_id.encode()) % ARCHIVE_SHARDS


def due_key(shard: int) -> str:
    return f"archive:{{{shard}}}:due"


def leased_key(shard: int) -> str:
    return f"archive:{{{shard}}}:leased"


def conversation_due_key(conversation_id: str) -> str:
    return due_key(shard_of(conversation_id))


def conversation_leased_key(conversation_id: str) -> str:
    return leased_key(shard_of(conversation_id))
