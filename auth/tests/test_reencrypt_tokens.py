"""The rotation sweep: every stored access token ends up under the current encryption key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from shared.crypto import DecryptionError, TokenCipher

AUTH_DIR = Path(__file__).resolve().parents[1]


def seed(engine: Engine, tokens: dict[str, str]) -> None:
    with engine.begin() as connection:
        for index, (shop, stored) in enumerate(tokens.items()):
            user_id = f"usr_{index:08x}"
            connection.execute(
                text("INSERT INTO users (id, shop_domain) VALUES (:id, :shop)"),
                {"id": user_id, "shop": shop},
            )
            connection.execute(
                text(
                    "INSERT INTO merchants (merchant_id, shop_domain, user_id, access_token_encrypted) "
                    "VALUES (:merchant, :shop, :user_id, :token)"
                ),
                {
                    "merchant": f"merchant_{index}",
                    "shop": shop,
                    "user_id": user_id,
                    "token": stored,
                },
            )


def stored_tokens(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT shop_domain, access_token_encrypted FROM merchants"))
        return dict(rows.all())


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.workers.reencrypt_tokens", *args],
        cwd=AUTH_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sweep_moves_every_token_to_the_new_key(clean_database: Engine) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    shops = {f"shop-{n}.myshopify.com": f"shpat_secret_{n}" for n in range(7)}
    seed(clean_database, {shop: TokenCipher(old).encrypt(token) for shop, token in shops.items()})

    result = run(
        {"TOKEN_ENCRYPTION_KEY": new, "TOKEN_ENCRYPTION_PREVIOUS_KEYS": old}, "--batch-size", "3"
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"reencrypted": 7, "undecryptable": 0}
    only_new = TokenCipher(new)
    assert {
        shop: only_new.decrypt(stored) for shop, stored in stored_tokens(clean_database).items()
    } == shops
    assert "shpat_secret" not in result.stdout + result.stderr


def test_a_token_no_key_opens_is_reported_and_left_alone(clean_database: Engine) -> None:
    stray, current = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    seed(
        clean_database,
        {
            "good.myshopify.com": TokenCipher(current).encrypt("shpat_good"),
            "stray.myshopify.com": TokenCipher(stray).encrypt("shpat_stray"),
        },
    )
    before = stored_tokens(clean_database)["stray.myshopify.com"]

    result = run({"TOKEN_ENCRYPTION_KEY": current})

    assert result.returncode == 1
    assert json.loads(result.stdout) == {"reencrypted": 1, "undecryptable": 1}
    assert stored_tokens(clean_database)["stray.myshopify.com"] == before
    try:
        TokenCipher(current).decrypt(before)
    except DecryptionError:
        pass
    else:
        raise AssertionError("the stray token should not open with the current key")


def test_bad_batch_size_and_unreachable_database_fail_clearly(clean_database: Engine) -> None:
    assert run({}, "--batch-size", "0").returncode == 2
    unreachable = run({"IDENTITY_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert unreachable.returncode == 3
    assert "identity database unreachable" in unreachable.stderr
    assert "Traceback" not in unreachable.stderr
