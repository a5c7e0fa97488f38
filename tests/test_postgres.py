"""How every caller reaches PostgreSQL (shared.postgres): TLS, pooler mode, timeouts, sizes;
and the auth service's SQLAlchemy engine built from the same plan."""

from __future__ import annotations

import pytest

from shared.db import create_identity_engine
from shared.postgres import database_plan, is_pooler_error, plan_for_url
from shared.settings import ServiceSettings


def _settings(**values: object) -> ServiceSettings:
    return ServiceSettings.load(**values)


@pytest.mark.parametrize(
    ("url", "tls"),
    [
        ("postgresql://u@localhost:5435/d", False),
        ("postgresql://u@127.0.0.1/d", False),
        ("postgres://u:p@db.example.com:5432/d", True),
        ("postgresql://u:p@db.example.com/d?sslmode=disable", False),
        ("postgresql://u:p@db.example.com/d?sslmode=verify-full", False),
    ],
)
def test_a_remote_database_requires_tls_unless_its_url_says_otherwise(url: str, tls: bool) -> None:
    plan = plan_for_url(url, application_name="t")
    assert plan.require_tls is tls
    assert ("ssl" in plan.asyncpg_pool_options()) is tls
    assert (plan.libpq_options().get("sslmode") == "require") is tls


def test_one_url_means_no_pooler_and_prepared_statements_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IDENTITY_DATABASE_DIRECT_URL", raising=False)
    settings = _settings(identity_database_url="postgresql://u@localhost:5435/d")
    assert settings.identity_database_direct_url == settings.identity_database_url
    assert settings.through_pooler is False
    options = database_plan(settings, application_name="t").asyncpg_pool_options()
    assert "statement_cache_size" not in options
    assert set(options["server_settings"]) == {"application_name"}


def test_two_urls_mean_the_first_goes_through_a_pooler() -> None:
    settings = _settings(
        identity_database_url="postgres://u:p@pooler.example.com:6000/d",
        identity_database_direct_url="postgres://u:p@db.example.com:5432/d",
    )
    assert settings.identity_database_direct_url == "postgresql://u:p@db.example.com:5432/d"
    pooled = database_plan(settings, application_name="t")
    direct = database_plan(settings, application_name="t", direct=True)
    assert (pooled.through_pooler, direct.through_pooler) == (True, False)
    assert pooled.asyncpg_pool_options()["statement_cache_size"] == 0
    # PgBouncer refuses every startup parameter but a few: only application_name is sent.
    assert set(pooled.asyncpg_pool_options()["server_settings"]) == {"application_name"}
    assert direct.url.startswith("postgresql://u:p@db.example.com")


def test_pool_size_and_timeouts_come_from_the_settings() -> None:
    settings = _settings(identity_db_pool_size="7", identity_db_connect_timeout="3")
    options = database_plan(settings, application_name="t").asyncpg_pool_options()
    assert (options["min_size"], options["max_size"], options["timeout"]) == (0, 7, 3)
    assert database_plan(settings, application_name="t", pool_size=2).pool_size == 2


def test_the_pooler_is_named_only_for_its_own_refusals() -> None:
    class Refusal(Exception):
        sqlstate = "08P01"

    assert is_pooler_error(Refusal("no more connections allowed (max_client_conn)"))
    assert not is_pooler_error(Refusal("some other protocol violation"))
    assert not is_pooler_error(ConnectionRefusedError("refused"))


def test_local_urls_get_a_pool_and_remote_ones_null_pool_with_tls() -> None:
    local = create_identity_engine(
        plan_for_url("postgresql://u@localhost:5435/d", application_name="t", pool_size=3),
        max_overflow=4,
    )
    remote = create_identity_engine(
        plan_for_url("postgresql://u:p@db.example.com:5432/d", application_name="t")
    )
    try:
        assert type(local.pool).__name__ == "QueuePool"
        assert local.pool.size() == 3  # type: ignore[attr-defined]
        assert type(remote.pool).__name__ == "NullPool"
        args = remote.dialect.create_connect_args(remote.url)[1]
        assert args.get("host") == "db.example.com"
    finally:
        local.dispose()
        remote.dispose()
