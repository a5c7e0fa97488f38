"""The client-address rule (shared.client_address): forwarding headers only from trusted peers,
read from the right, and ``*`` meaning "the peer is the platform's router"."""

from __future__ import annotations

import pytest

from shared.client_address import TrustedProxies, client_host, forwarded_scheme
from shared.safe_json import UnsafeJsonError, is_storable_text, loads_checked


def _scope(peer: str, **headers: str) -> dict[str, object]:
    return {
        "type": "http",
        "client": (peer, 1234),
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
    }


@pytest.mark.parametrize(
    ("spec", "peer", "forwarded", "expected"),
    [
        # An untrusted peer: whatever it claims, the peer is counted.
        ("127.0.0.1", "203.0.113.5", "1.2.3.4", "203.0.113.5"),
        # A trusted proxy appends what it saw: the rightmost untrusted entry is the client.
        ("127.0.0.1", "127.0.0.1", "1.2.3.4", "1.2.3.4"),
        ("127.0.0.1", "127.0.0.1", "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        ("10.0.0.0/8,127.0.0.1", "127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.1.1", "1.2.3.4"),
        # "*" (Heroku): the router is the peer; its own entry, the rightmost, is the client. A
        # spoofed entry the client sent sits to the left and is ignored (uvicorn would take it).
        ("*", "10.9.8.7", "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        ("*", "10.9.8.7", "1.2.3.4:5678", "1.2.3.4"),
        ("*", "10.9.8.7", "[2001:db8::1]:443", "2001:db8::1"),
        # No header from a trusted peer: the peer itself.
        ("*", "10.9.8.7", None, "10.9.8.7"),
    ],
)
def test_client_host(spec: str, peer: str, forwarded: str | None, expected: str) -> None:
    headers = {"x_forwarded_for": forwarded} if forwarded else {}
    assert client_host(_scope(peer, **headers), TrustedProxies(spec)) == expected


def test_the_scheme_is_believed_only_from_a_trusted_peer() -> None:
    trusted = TrustedProxies("127.0.0.1")
    assert forwarded_scheme(_scope("127.0.0.1", x_forwarded_proto="https"), trusted) == "https"
    assert forwarded_scheme(_scope("203.0.113.5", x_forwarded_proto="https"), trusted) is None
    assert forwarded_scheme(_scope("127.0.0.1", x_forwarded_proto="gopher"), trusted) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[" * 20_000 + "]" * 20_000, "nested more than"),
        ("[[[[1]]]]", "nested more than 3"),
        ('"\\ud800"', "unpaired surrogate"),
        ('{"\\u0000": 1}', "NUL"),
        ("{nope", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_checked_json_refuses_with_a_reason(raw: str | bytes, reason: str) -> None:
    with pytest.raises(UnsafeJsonError, match=reason):
        loads_checked(raw, max_depth=3)


def test_checked_json_passes_ordinary_values() -> None:
    assert loads_checked('{"a": [1, {"b": "café 🙂"}]}', max_depth=3) == {
        "a": [1, {"b": "café 🙂"}]
    }
    assert is_storable_text("plain")
    assert not is_storable_text("a\x00b")
