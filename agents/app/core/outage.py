"""An outage told in two log lines, whoever meets it: once when it starts, once when it ends.

A store that stops answering makes every request or batch fail until it is back; a line (and a
traceback) each would flood the log with thousands of copies of one fact.
"""

from __future__ import annotations

import logging
import time

from shared.errors import describe

logger = logging.getLogger(__name__)


class Outage:
    """Logs once when ``name`` starts failing for ``who`` and once when it answers again.

    ``problem`` and ``solved`` word the two lines ("unavailable" / "available again" for a store
    that stopped answering; a store that answers with a refusal is worded as such)."""

    def __init__(
        self,
        name: str,
        *,
        who: str,
        meanwhile: str,
        problem: str = "unavailable to",
        solved: str = "available again to",
    ) -> None:
        self.name = name
        self.who = who
        self.meanwhile = meanwhile
        self.problem = problem
        self.solved = solved
        self.since: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self.since is None:
            self.since = time.monotonic()
            logger.warning(
                "%s %s the %s (%s); %s",
                self.name,
                self.problem,
                self.who,
                describe(exc),
                self.meanwhile,
            )

    def recovered(self) -> None:
        if self.since is not None:
            logger.warning(
                "%s %s the %s after %.1f s",
                self.name,
                self.solved,
                self.who,
                time.monotonic() - self.since,
            )
            self.since = None
