"""How a run went and how the archiver reports an outage: once when it starts, once at the end."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from shared.errors import describe

logger = logging.getLogger(__name__)


class ArchiverUnavailable(RuntimeError):
    """A bounded run (--once/--all) gave up: a store stayed unreachable. Claims were released."""


class Outage:
    """Logs once when a dependency starts failing and once when it answers again."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.since: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "%s unavailable (%s); archiver retrying with backoff, nothing is dropped",
                self.name,
                describe(exc),
            )

    def recovered(self) -> None:
        if self.since is not None:
            logger.warning(
                "%s available again after %.1f s; archiver resumed",
                self.name,
                time.monotonic() - self.since,
            )
            self.since = None


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
