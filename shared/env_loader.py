"""Environment files with one precedence for every service.

Highest first: the real environment, ``.env.tunnel``, ``.env.local``, the service's ``.env``,
then the settings' defaults. Files are read, never exported: a value in the real environment
always wins because the settings source that reads these files sits below the environment
source, so no file can overwrite it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

from dotenv.parser import Original, parse_stream

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ValueError):
    """A line of an env file could not be understood; the message names file and line."""

    def __init__(self, path: Path, line_number: int, reason: str) -> None:
        super().__init__(f"{path}:{line_number}: {reason}")
        self.path = path
        self.line_number = line_number


def env_file_chain(service_dir: Path, root: Path | None = None) -> list[Path]:
    """The files a service reads, lowest precedence first.

    ``.env`` belongs to the service; ``.env.local`` and ``.env.tunnel`` may sit at the top of the
    repository (shared by both services) or in the service folder (the service's own wins).
    """
    root = root if root is not None else service_dir.parent
    return [
        service_dir / ".env",
        root / ".env.local",
        service_dir / ".env.local",
        root / ".env.tunnel",
        service_dir / ".env.tunnel",
    ]


def _first_line(original: Original) -> int:
    # python-dotenv counts a binding from the blank lines before it; people count its text.
    text = original.string
    blank = text[: len(text) - len(text.lstrip("\r\n"))]
    return original.line + blank.count("\n")


def _reason(text: str) -> str:
    """Why python-dotenv could not read a line (it only says that it could not)."""
    _, sep, value = text.partition("=")
    if not sep:
        return "expected KEY=VALUE"
    value = value.strip()
    if value[:1] in ("'", '"') and value.count(value[0]) < 2:
        return f"unterminated {value[0]} quote"
    return "cannot be read as KEY=VALUE (check quotes and spaces)"


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (optionally ``export``-prefixed, quoted, commented), read by
    python-dotenv without interpolation. Missing file: {}. A line it cannot read, or a name
    that is not a variable name, raises EnvFileError naming the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            line = _first_line(binding.original)
            raise EnvFileError(path, line, _reason(binding.original.string.strip()))
        if binding.key is None:
            continue  # a comment or a blank line
        if not _KEY.match(binding.key):
            line = _first_line(binding.original)
            raise EnvFileError(path, line, f"invalid variable name {binding.key!r}")
        values[binding.key] = binding.value or ""
    return values


def load_env_files(files: Iterable[Path]) -> dict[str, str]:
    """Merge files given lowest precedence first: a later file wins over an earlier one."""
    merged: dict[str, str] = {}
    for path in files:
        merged.update(parse_env_file(path))
    return merged
