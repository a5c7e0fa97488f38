"""Rotating IDENTITY_TOKEN_SECRET and TOKEN_ENCRYPTION_KEY through the settings, as operators do.

During a rotation the new value is current and the old one is listed as previous: everything
made with the old one keeps working, everything made from then on uses the new one, and once
the previous value is removed, only what the new one made still works.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from shared.crypto import DecryptionError, token_cipher
from shared.settings import ServiceSettings, token_secrets
from shared.tokens import InvalidTokenError, issue_token, verify_token

OLD_SECRET = "old-identity-secret-" + "o" * 32
NEW_SECRET = "new-identity-secret-" + "n" * 32
OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> ServiceSettings:
    for name in (
        "IDENTITY_TOKEN_SECRET",
        "IDENTITY_TOKEN_PREVIOUS_SECRETS",
        "TOKEN_ENCRYPTION_KEY",
        "TOKEN_ENCRYPTION_PREVIOUS_KEYS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return ServiceSettings.load()


def issue(settings: ServiceSettings) -> str:
    return issue_token(
        user_id="usr_12345678",
        shop="a.myshopify.com",
        secret=settings.identity_token_secret.get_secret_value(),
        ttl_seconds=settings.identity_token_ttl_seconds,
    )


def test_bearer_tokens_survive_a_secret_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_with(
        monkeypatch, IDENTITY_TOKEN_SECRET=OLD_SECRET, TOKEN_ENCRYPTION_KEY=OLD_KEY
    )
    old_token = issue(before)

    during = settings_with(
        monkeypatch,
        IDENTITY_TOKEN_SECRET=NEW_SECRET,
        IDENTITY_TOKEN_PREVIOUS_SECRETS=OLD_SECRET,
        TOKEN_ENCRYPTION_KEY=NEW_KEY,
    )
    assert verify_token(old_token, secrets=token_secrets(during)).user_id == "usr_12345678"
    new_token = issue(during)
    # The new token is signed with the new secret: the old secret alone cannot verify it.
    with pytest.raises(InvalidTokenError):
        verify_token(new_token, secrets=token_secrets(before))

    after = settings_with(
        monkeypatch, IDENTITY_TOKEN_SECRET=NEW_SECRET, TOKEN_ENCRYPTION_KEY=NEW_KEY
    )
    assert verify_token(new_token, secrets=token_secrets(after)).user_id == "usr_12345678"
    with pytest.raises(InvalidTokenError, match="signature"):
        verify_token(old_token, secrets=token_secrets(after))


def test_encrypted_access_tokens_survive_a_key_rotation(monkeypatch: pytest.MonkeyPatch) -> None:
    before = settings_with(
        monkeypatch, IDENTITY_TOKEN_SECRET=OLD_SECRET, TOKEN_ENCRYPTION_KEY=OLD_KEY
    )
    stored_before = token_cipher(before).encrypt("shpat_before_rotation")

    during = settings_with(
        monkeypatch,
        IDENTITY_TOKEN_SECRET=OLD_SECRET,
        TOKEN_ENCRYPTION_KEY=NEW_KEY,
        TOKEN_ENCRYPTION_PREVIOUS_KEYS=OLD_KEY,
    )
    cipher = token_cipher(during)
    assert cipher.decrypt(stored_before) == "shpat_before_rotation"
    stored_during = cipher.encrypt("shpat_during_rotation")
    with pytest.raises(DecryptionError):
        token_cipher(before).decrypt(stored_during)  # new writes use the new key
    migrated = cipher.reencrypt(stored_before)

    after = settings_with(
        monkeypatch, IDENTITY_TOKEN_SECRET=OLD_SECRET, TOKEN_ENCRYPTION_KEY=NEW_KEY
    )
    assert token_cipher(after).decrypt(stored_during) == "shpat_during_rotation"
    assert token_cipher(after).decrypt(migrated) == "shpat_before_rotation"
    with pytest.raises(DecryptionError):
        token_cipher(after).decrypt(stored_before)
