"""How an error is told in one line: logs and command-line messages show this, never a whole
driver message (SQLAlchemy appends the statement and its parameters; libpq adds hints)."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of the driver's own message (``exc.orig`` for SQLAlchemy), else the
    error's class name; never empty."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
