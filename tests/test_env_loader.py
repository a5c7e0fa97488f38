"""The env-file precedence: real environment > .env.tunnel > .env.local > service .env > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.env_loader import EnvFileError, env_file_chain, load_env_files, parse_env_file
from shared.settings import ServiceSettings


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    service = tmp_path / "agents"
    service.mkdir()
    return tmp_path, service


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_defaults_apply_when_no_file_sets_a_value(layout: tuple[Path, Path]) -> None:
    _, service = layout
    settings = ServiceSettings.load(service)
    assert settings.redis_session_ttl == 86400
    assert settings.archive_idle_seconds == 60


def test_service_env_file_beats_defaults(layout: tuple[Path, Path]) -> None:
    _, service = layout
    write(service / ".env", "REDIS_SESSION_TTL=1000\n")
    assert ServiceSettings.load(service).redis_session_ttl == 1000


def test_env_local_beats_service_env(layout: tuple[Path, Path]) -> None:
    root, service = layout
    write(service / ".env", "REDIS_SESSION_TTL=1000\nARCHIVE_IDLE_SECONDS=5\n")
    write(root / ".env.local", "REDIS_SESSION_TTL=2000\n")
    settings = ServiceSettings.load(service)
    assert settings.redis_session_ttl == 2000
    assert settings.archive_idle_seconds == 5


def test_env_tunnel_beats_env_local(layout: tuple[Path, Path]) -> None:
    root, service = layout
    write(service / ".env", "REDIS_SESSION_TTL=1000\n")
    write(root / ".env.local", "REDIS_SESSION_TTL=2000\n")
    write(root / ".env.tunnel", "REDIS_SESSION_TTL=3000\n")
    assert ServiceSettings.load(service).redis_session_ttl == 3000


def test_real_environment_beats_every_file(
    layout: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, service = layout
    write(service / ".env", "REDIS_SESSION_TTL=1000\n")
    write(root / ".env.local", "REDIS_SESSION_TTL=2000\n")
    write(root / ".env.tunnel", "REDIS_SESSION_TTL=3000\n")
    monkeypatch.setenv("REDIS_SESSION_TTL", "4000")
    assert ServiceSettings.load(service).redis_session_ttl == 4000
    import os

    assert os.environ["REDIS_SESSION_TTL"] == "4000"  # no file overwrote the real value


def test_the_chain_reports_the_winning_value(layout: tuple[Path, Path]) -> None:
    root, service = layout
    write(service / ".env", "A=service\nB=service\nC=service\n")
    write(root / ".env.local", "B=local\nC=local\n")
    write(root / ".env.tunnel", "C=tunnel\n")
    merged = {**load_env_files(env_file_chain(service)), "D": "real", "C": "real"}
    assert (merged["A"], merged["B"], merged["C"], merged["D"]) == (
        "service",
        "local",
        "real",
        "real",
    )


def test_missing_files_are_fine(layout: tuple[Path, Path]) -> None:
    _, service = layout
    assert parse_env_file(service / ".env") == {}
    assert load_env_files(env_file_chain(service)) == {}


def test_quotes_comments_and_export_are_understood(layout: tuple[Path, Path]) -> None:
    _, service = layout
    write(
        service / ".env",
        "# a comment\n\nexport A=1\nB='two words'  # trailing\nC=\"x#y\"\nD=http://h/p#frag\nE=v # c\nF=\n",
    )
    assert parse_env_file(service / ".env") == {
        "A": "1",
        "B": "two words",
        "C": "x#y",
        "D": "http://h/p#frag",
        "E": "v",
        "F": "",
    }


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("A=1\nNOT A LINE\n", 2, "expected KEY=VALUE"),
        ("A=1\n\n1BAD=2\n", 3, "invalid variable name"),
        ("A='unterminated\n", 1, "unterminated"),
    ],
)
def test_malformed_line_is_reported_with_file_and_line(
    layout: tuple[Path, Path], text: str, line: int, reason: str
) -> None:
    _, service = layout
    write(service / ".env", text)
    with pytest.raises(EnvFileError) as caught:
        ServiceSettings.load(service)
    assert f"{service / '.env'}:{line}:" in str(caught.value)
    assert reason in str(caught.value)
