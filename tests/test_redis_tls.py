"""Heroku Redis speaks TLS with a self-signed certificate: ``rediss://`` URLs must still connect."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.redis_client import create_async_redis
from shared.testing.ports import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None or shutil.which("openssl") is None,
    reason="needs redis-server (built with TLS) and openssl",
)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory: Path = tmp_path_factory.mktemp("redis-tls")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=heroku-redis-like", "-keyout", str(directory / "key.pem"),
            "-out", str(directory / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        [
            "redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
            "--tls-cert-file", str(directory / "cert.pem"), "--tls-key-file", str(directory / "key.pem"),
            "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(directory),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


async def test_client_connects_over_tls_with_a_self_signed_certificate(tls_redis: int) -> None:
    client = create_async_redis(f"rediss://127.0.0.1:{tls_redis}/0")
    try:
        assert await client.ping() is True
        await client.set("k", "v")
        assert await client.get("k") == "v"
    finally:
        await client.aclose()


async def test_verification_can_be_demanded_and_then_refuses_a_self_signed_certificate(
    tls_redis: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_SSL_VERIFY", "true")
    client = create_async_redis(f"rediss://127.0.0.1:{tls_redis}/0")
    try:
        with pytest.raises(Exception, match="(?i)certificate|ssl"):
            await client.ping()
    finally:
        await client.aclose()
