"""How a bounded archiver run went, and how it gives up."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

# PostgreSQL answering with a refusal that waiting will not change: the schema is not migrated,
# the role lacks a grant, the database or the password is wrong. Told apart from an outage so
# that a bounded run stops at once with what to fix, and the loop's log says what it is.
REFUSED_ERRORS = (
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedColumnError,
    asyncpg.UndefinedFunctionError,
    asyncpg.UndefinedObjectError,
    asyncpg.InvalidSchemaNameError,
    asyncpg.InsufficientPrivilegeError,
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidCatalogNameError,
)
REFUSED_FIX = (
    "migrate the database (cd agents && python scripts/run_migration.py) or fix the role's "
    "grants, database name or password"
)


class ArchiverUnavailable(RuntimeError):
    """A bounded run (--once/--all) gave up: a store stayed unreachable. Claims were released."""


class ArchiverRefused(ArchiverUnavailable):
    """A bounded run stopped at once: PostgreSQL refused the archive (REFUSED_ERRORS)."""


@dataclass
class ArchiveSummary:
    conversations: int = 0
    messages: int = 0
    batches: int = 0
    seconds: float = 0.0
    # --all: conversations still leased by another archiver after a whole lease period.
    left_leased: int = 0
    # --index: search vectors built after the archive, and how long that took.
    indexed: int = 0
    index_seconds: float = 0.0

    def line(self) -> str:
        rate = self.conversations / self.seconds if self.seconds > 0 else 0.0
        line = (
            f"archived {self.conversations} conversations ({self.messages} messages) "
            f"in {self.batches} batches, {self.seconds:.2f} s ({rate:.0f} conversations/s)"
        )
        if self.indexed:
            line += f"; {self.indexed} search vectors built in {self.index_seconds:.2f} s"
        if self.left_leased:
            line += f"; {self.left_leased} still leased by another archiver, not archived"
        return line
