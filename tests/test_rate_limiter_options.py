"""The rate limiter on a Redis Cluster: limits makes its own cluster client, which must reach the
cluster as ours does (password, TLS and its certificate rule, timeouts). Built, not connected:
the scaled stack's suites hit a real cluster through it."""

from __future__ import annotations

import ssl

import pytest
from redis.asyncio.connection import SSLConnection

from shared.rate_limits import RateLimiter
from shared.redis_client import create_async_redis


def _limits_client_options(url: str) -> dict[str, object]:
    limiter = RateLimiter(create_async_redis(url, cluster=True))
    return dict(limiter._storage.bridge.storage.connection_kwargs)  # type: ignore[attr-defined]


def test_a_tls_cluster_with_a_password_is_reached_with_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_SSL_VERIFY", raising=False)
    options = _limits_client_options("rediss://default:s3cret@10.0.0.1:7000/0")
    assert (options["username"], options["password"]) == ("default", "s3cret")
    assert options["connection_class"] is SSLConnection
    assert options["ssl_cert_reqs"] == ssl.CERT_NONE  # Heroku's self-signed certificate
    assert options["socket_connect_timeout"] == 5


def test_a_plain_cluster_gets_no_tls_and_no_password() -> None:
    options = _limits_client_options("redis://10.0.0.1:7000/0")
    assert options.get("password") is None
    assert not issubclass(options["connection_class"], SSLConnection)  # type: ignore[arg-type]
