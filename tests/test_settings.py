"""The shared settings base: URL rewriting, limits, secrets."""

from __future__ import annotations

import pytest

from shared.db import is_local_database
from shared.settings import DEV_TOKEN_SECRET, ServiceSettings, SettingsError


@pytest.fixture(autouse=True)
def development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "development")
    for name in (
        "IDENTITY_DATABASE_URL",
        "IDENTITY_TOKEN_SECRET",
        "TOKEN_ENCRYPTION_KEY",
        "REDIS_URL",
    ):
        monkeypatch.delenv(name, raising=False)


def test_postgres_scheme_is_rewritten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_DATABASE_URL", "postgres://u:p@db.example.com:5432/d")
    settings = ServiceSettings.load()
    assert settings.identity_database_url == "postgresql://u:p@db.example.com:5432/d"
    assert is_local_database(settings.identity_database_url) is False


def test_heroku_database_url_is_used_when_the_contract_name_is_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://h:p@heroku.example.com/x")
    assert ServiceSettings.load().identity_database_url == "postgresql://h:p@heroku.example.com/x"
    monkeypatch.setenv("IDENTITY_DATABASE_URL", "postgresql://mine@localhost/y")
    assert ServiceSettings.load().identity_database_url == "postgresql://mine@localhost/y"


def test_default_url_is_the_contracts() -> None:
    settings = ServiceSettings.load()
    assert settings.identity_database_url == (
        "postgresql://hirecj:hirecj_dev_password@localhost:5435/hirecj_identity"
    )
    assert is_local_database(settings.identity_database_url)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("IDENTITY_DB_POOL_SIZE", "0"),
        ("IDENTITY_DB_POOL_SIZE", "21"),
        ("IDENTITY_DB_POOL_SIZE", "many"),
        ("IDENTITY_DB_MAX_OVERFLOW", "-1"),
        ("IDENTITY_DB_MAX_OVERFLOW", "21"),
        ("IDENTITY_DATABASE_URL", "mysql://x/y"),
        ("REDIS_URL", "http://localhost:6379"),
        ("ENVIRONMENT", "staging"),
        ("REDIS_SESSION_TTL", "ten"),
        ("ARCHIVER_ENABLED", "perhaps"),
        ("SHOPIFY_ADMIN_URL_TEMPLATE", "https://example.com/admin"),
        ("IDENTITY_TOKEN_SECRET", "short"),
    ],
)
def test_invalid_values_fail_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        ServiceSettings.load()
    assert variable in str(caught.value)


def test_pool_limits_accept_their_edges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_DB_POOL_SIZE", "20")
    monkeypatch.setenv("IDENTITY_DB_MAX_OVERFLOW", "0")
    settings = ServiceSettings.load()
    assert (settings.identity_db_pool_size, settings.identity_db_max_overflow) == (20, 0)


@pytest.mark.parametrize("environment", ["production", "test"])
def test_placeholder_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch, environment: str
) -> None:
    monkeypatch.setenv("ENVIRONMENT", environment)
    with pytest.raises(SettingsError, match="IDENTITY_TOKEN_SECRET"):
        ServiceSettings.load()
    monkeypatch.setenv("IDENTITY_TOKEN_SECRET", "x" * 40)
    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY"):
        ServiceSettings.load()


def test_placeholder_secret_is_allowed_in_development() -> None:
    assert ServiceSettings.load().identity_token_secret.get_secret_value() == DEV_TOKEN_SECRET


def test_previous_secrets_are_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_TOKEN_PREVIOUS_SECRETS", "old-one, old-two")
    secrets = ServiceSettings.load().identity_token_previous_secrets
    assert [s.get_secret_value() for s in secrets] == ["old-one", "old-two"]
