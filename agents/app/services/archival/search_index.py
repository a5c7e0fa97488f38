"""The search index, built beside the archive rather than in its write (migration 012).

The archiver writes a conversation with ``search_vector`` NULL; this pass fills the vectors of
such rows, a batch at a time, whenever the archive queue leaves the worker idle. Search stays
exact meanwhile: it reads the vector of a row not indexed yet from its messages, with the same
function (``conversation_search_vector``). Several archivers share the work: each batch takes
its rows ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import asyncpg

from shared.postgres import LONG_STATEMENT_TIMEOUT_MS, LONG_STATEMENTS

INDEX_BATCH = 500

# $1 how many. A row archived again meanwhile is waited for (its lock) and then indexed from
# its new messages: the SET is evaluated on the row as it is when updated.
_INDEX_PENDING = """
UPDATE conversations AS c
SET search_vector = conversation_search_vector(c.messages)
FROM (
    SELECT id FROM conversations WHERE search_vector IS NULL
    LIMIT $1 FOR UPDATE SKIP LOCKED
) AS pending
WHERE c.id = pending.id
"""


async def index_pending(connection: asyncpg.Connection, *, limit: int = INDEX_BATCH) -> int:
    """Build the vectors of up to ``limit`` conversations that have none; how many."""
    async with connection.transaction():
        await connection.execute(LONG_STATEMENTS, str(LONG_STATEMENT_TIMEOUT_MS))
        status = await connection.execute(_INDEX_PENDING, limit)
    return int(status.split()[-1])
