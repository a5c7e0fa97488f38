"""The agents service's identity database helpers, against a real PostgreSQL."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine, text

from app.services import identity_db
from shared.db import create_identity_engine


def test_connection_is_true_for_the_test_database() -> None:
    assert identity_db.test_connection() is True


def test_connection_is_false_and_logged_for_an_unreachable_database(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = create_identity_engine(
        "postgresql://hirecj:secret-password@127.0.0.1:1/nowhere", connect_timeout=2
    )
    with caplog.at_level(logging.ERROR):
        assert identity_db.test_connection(engine) is False
    engine.dispose()
    assert "identity database unreachable" in caplog.text
    assert "secret-password" not in caplog.text


def test_get_db_commits_on_success(clean_database: Engine) -> None:
    with identity_db.get_db() as db:
        db.execute(
            text("INSERT INTO users (id, shop_domain) VALUES ('usr_00000001', 'a.myshopify.com')")
        )
    with clean_database.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 1


def _insert_then_fail() -> None:
    with identity_db.get_db() as db:
        db.execute(
            text("INSERT INTO users (id, shop_domain) VALUES ('usr_00000002', 'b.myshopify.com')")
        )
        raise RuntimeError("boom")


def test_get_db_rolls_back_on_error(clean_database: Engine) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _insert_then_fail()
    with clean_database.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM users")).scalar() == 0


def test_local_urls_get_a_pool_and_remote_ones_null_pool_with_tls() -> None:
    local = create_identity_engine("postgresql://u@localhost:5435/d", pool_size=3, max_overflow=4)
    remote = create_identity_engine("postgresql://u:p@db.example.com:5432/d", connect_timeout=7)
    try:
        assert type(local.pool).__name__ == "QueuePool"
        assert local.pool.size() == 3  # type: ignore[attr-defined]
        assert type(remote.pool).__name__ == "NullPool"
        args = remote.dialect.create_connect_args(remote.url)[1]
        assert remote.pool._creator is not None  # type: ignore[attr-defined]
        assert args.get("host") == "db.example.com"
    finally:
        local.dispose()
        remote.dispose()
