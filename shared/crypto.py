"""Encryption at rest for Shopify access tokens (Fernet: AES-128-CBC + HMAC-SHA256).

New ciphertext is always made with ``TOKEN_ENCRYPTION_KEY``. During a key rotation the old
keys go in ``TOKEN_ENCRYPTION_PREVIOUS_KEYS`` so stored tokens still decrypt; ``reencrypt``
moves a stored token to the current key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from shared.settings import ServiceSettings


class EncryptionKeyError(ValueError):
    """A configured key is not a Fernet key (32 url-safe base64-encoded bytes)."""


class DecryptionError(Exception):
    """The ciphertext was not made by any configured key, or was altered."""


class TokenCipher:
    """Encrypts with the current key; decrypts with the current or any previous key."""

    def __init__(self, current_key: str, previous_keys: Sequence[str] = ()) -> None:
        keys = [("TOKEN_ENCRYPTION_KEY", current_key)] + [
            ("TOKEN_ENCRYPTION_PREVIOUS_KEYS", key) for key in previous_keys
        ]
        fernets = []
        for variable, key in keys:
            try:
                fernets.append(Fernet(key.encode()))
            except (ValueError, TypeError):
                raise EncryptionKeyError(
                    f"{variable} must be a Fernet key: 32 random bytes, url-safe base64 "
                    "(python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())')"
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except (InvalidToken, ValueError):
            raise DecryptionError("stored token does not decrypt with any configured key") from None

    def reencrypt(self, ciphertext: str) -> str:
        """The same plaintext under the current key (for a rotation sweep)."""
        try:
            return self._fernet.rotate(ciphertext.encode()).decode()
        except (InvalidToken, ValueError):
            raise DecryptionError("stored token does not decrypt with any configured key") from None


def token_cipher(settings: ServiceSettings) -> TokenCipher:
    return TokenCipher(
        settings.token_encryption_key.get_secret_value(),
        [key.get_secret_value() for key in settings.token_encryption_previous_keys],
    )
