"""How an error is told in one line: logs and command-line messages show this, never a whole
driver message (SQLAlchemy appends the statement and its parameters; libpq adds hints)."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of the driver's own message (``exc.orig`` for SQLAlchemy), else the
    error's class name; never empty."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def describe(exc: BaseException) -> str:
    """``Type: first line``, and a connection pooler's own refusal named as what it is (not as
    "PostgreSQL unreachable")."""
    from shared.postgres import is_pooler_error  # postgres imports settings; keep errors light

    line = first_line(exc)
    if is_pooler_error(exc):
        return f"the connection pooler refused: {line}"
    return line if line == type(exc).__name__ else f"{type(exc).__name__}: {line}"
