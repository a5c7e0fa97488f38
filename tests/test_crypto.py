"""shared.crypto: Fernet encryption of access tokens, with key rotation."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.crypto import DecryptionError, EncryptionKeyError, TokenCipher, token_cipher
from shared.settings import ServiceSettings


def test_round_trip_and_no_plaintext_in_the_ciphertext() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())

    stored = cipher.encrypt("shpat_0123456789abcdef")

    assert "shpat_" not in stored
    assert cipher.decrypt(stored) == "shpat_0123456789abcdef"
    assert cipher.encrypt("same") != cipher.encrypt("same")  # random IV each time


def test_previous_keys_still_decrypt_during_a_rotation() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    stored_with_old = TokenCipher(old).encrypt("shpat_old")

    rotating = TokenCipher(new, [old])

    assert rotating.decrypt(stored_with_old) == "shpat_old"
    moved = rotating.reencrypt(stored_with_old)
    assert TokenCipher(new).decrypt(moved) == "shpat_old"
    with pytest.raises(DecryptionError):
        TokenCipher(new).decrypt(stored_with_old)


def test_altered_ciphertext_is_refused() -> None:
    cipher = TokenCipher(Fernet.generate_key().decode())
    stored = cipher.encrypt("shpat_x")

    with pytest.raises(DecryptionError):
        cipher.decrypt(stored[:-4] + "AAAA")
    with pytest.raises(DecryptionError):
        cipher.decrypt("not a token")


@pytest.mark.parametrize(
    ("current", "previous", "variable"),
    [
        ("too-short", [], "TOKEN_ENCRYPTION_KEY"),
        (Fernet.generate_key().decode(), ["nope"], "TOKEN_ENCRYPTION_PREVIOUS_KEYS"),
    ],
)
def test_a_key_that_is_not_a_fernet_key_is_named(
    current: str, previous: list[str], variable: str
) -> None:
    with pytest.raises(EncryptionKeyError, match=variable):
        TokenCipher(current, previous)


def test_token_cipher_reads_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", new)
    monkeypatch.setenv("TOKEN_ENCRYPTION_PREVIOUS_KEYS", old)

    cipher = token_cipher(ServiceSettings.load())

    assert cipher.decrypt(TokenCipher(old).encrypt("a")) == "a"
    assert TokenCipher(new).decrypt(cipher.encrypt("b")) == "b"


def test_the_development_default_key_is_a_valid_fernet_key() -> None:
    from shared.settings import DEV_ENCRYPTION_KEY

    TokenCipher(DEV_ENCRYPTION_KEY)
