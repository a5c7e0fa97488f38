"""Environment files with one precedence for every service.

Highest first: the real environment, ``.env.tunnel``, ``.env.local``, the service's ``.env``,
then the settings' defaults. Files are read, never exported: a value in the real environment
always wins because the settings source that reads these files sits below the environment
source, so no file can overwrite it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

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


def _unquote(raw: str, path: Path, line_number: int) -> str:
    value = raw.strip()
    if not value:
        return ""
    quote = value[0]
    if quote in ("'", '"'):
        end = value.find(quote, 1)
        if end == -1:
            raise EnvFileError(path, line_number, f"unterminated {quote} quote")
        rest = value[end + 1 :].strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(path, line_number, "unexpected text after the closing quote")
        inner = value[1:end]
        if quote == '"':
            inner = inner.replace("\\n", "\n").replace('\\"', '"')
        return inner
    # An unquoted value ends at " #": a hash inside a value (a URL fragment) is kept.
    comment = re.search(r"\s#", value)
    return value[: comment.start()].rstrip() if comment else value


def parse_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (optionally ``export``-prefixed, quoted, commented). Missing file: {}."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    values: dict[str, str] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, raw = stripped.partition("=")
        key = key.strip()
        if not sep:
            raise EnvFileError(path, line_number, "expected KEY=VALUE")
        if not _KEY.match(key):
            raise EnvFileError(path, line_number, f"invalid variable name {key!r}")
        values[key] = _unquote(raw, path, line_number)
    return values


def load_env_files(files: Iterable[Path]) -> dict[str, str]:
    """Merge files given lowest precedence first: a later file wins over an earlier one."""
    merged: dict[str, str] = {}
    for path in files:
        merged.update(parse_env_file(path))
    return merged


def resolve_environment(
    service_dir: Path, root: Path | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every variable as the service sees it: files merged, then the real environment on top."""
    merged = load_env_files(env_file_chain(service_dir, root))
    merged.update(os.environ if environ is None else environ)
    return merged
