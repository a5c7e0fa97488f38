"""The token revocation copy while PostgreSQL does not answer: the last copy decides for a
while (no revocation can be written meanwhile), then the check refuses to guess."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from tests.test_archival_helpers import database_pool

from app.exceptions import StoreUnavailable
from app.services import token_revocations
from app.services.identity_db import close_pool
from app.services.token_revocations import TokenRevocations
from shared.tokens import TokenClaims


def _claims(user_id: str, issued_at: int) -> TokenClaims:
    return TokenClaims(
        user_id=user_id, shop="s.myshopify.com", issued_at=issued_at, expires_at=issued_at + 3600,
        token_id="t",
    )  # fmt: skip


async def test_the_last_copy_decides_for_a_while_then_the_check_refuses_to_guess(
    clean_database: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with clean_database.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, shop_domain, tokens_valid_after) "
                "VALUES ('usr_revoked1', 'r.myshopify.com', now())"
            )
        )
    working = await database_pool(database_url, size=1)
    revocations = TokenRevocations(pool=working, token_ttl_seconds=86400, refresh_seconds=0)
    old = _claims("usr_revoked1", 1)
    assert await revocations.is_revoked(old) is True
    assert await revocations.is_revoked(_claims("usr_other01", 1)) is False
    await close_pool(working)

    # PostgreSQL gone: the copy read a moment ago still answers, revocation included.
    revocations._pool = await database_pool("postgresql://nobody@127.0.0.1:1/none", size=1)
    assert await revocations.is_revoked(old) is True
    assert await revocations.is_revoked(_claims("usr_other01", 1)) is False
    # Past the grace period it no longer guesses.
    monkeypatch.setattr(token_revocations, "STALE_GRACE_SECONDS", -1.0)
    with pytest.raises(StoreUnavailable):
        await revocations.is_revoked(old)
    await close_pool(revocations._pool)
