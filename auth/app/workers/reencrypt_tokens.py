"""Re-encrypt every stored Shopify access token under the current TOKEN_ENCRYPTION_KEY.

    cd auth && python -m app.workers.reencrypt_tokens [--batch-size N]

The last step of a key rotation (docs/operations.md): run it while the old key is still listed
in TOKEN_ENCRYPTION_PREVIOUS_KEYS; once it reports no failures the old key can be dropped.
Rows are rewritten in small transactions (locked while rewritten) so installs keep working.
Exit 0 with a summary; 1 when some token decrypts with no configured key (left untouched);
3 when the database cannot be reached.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.config import get_settings
from app.services.identity_db import dispose_engine, get_db
from shared.crypto import DecryptionError, EncryptionKeyError, TokenCipher, token_cipher
from shared.settings import SettingsError

logger = logging.getLogger(__name__)

_BATCH = text(
    "SELECT merchant_id, access_token_encrypted FROM merchants "
    "WHERE access_token_encrypted IS NOT NULL AND merchant_id > :after "
    "ORDER BY merchant_id LIMIT :limit FOR UPDATE"
)
_WRITE = text(
    "UPDATE merchants SET access_token_encrypted = :token, updated_at = NOW() "
    "WHERE merchant_id = :merchant_id"
)


@dataclass
class RotationSummary:
    reencrypted: int = 0
    undecryptable: int = 0


def reencrypt_all(*, cipher: TokenCipher, batch_size: int) -> RotationSummary:
    summary = RotationSummary()
    after = ""
    while True:
        with get_db() as db:
            rows = db.execute(_BATCH, {"after": after, "limit": batch_size}).all()
            for merchant_id, stored in rows:
                try:
                    fresh = cipher.reencrypt(stored)
                except DecryptionError:
                    summary.undecryptable += 1
                    logger.error(
                        "merchant %s: stored token decrypts with no configured key", merchant_id
                    )
                    continue
                db.execute(_WRITE, {"token": fresh, "merchant_id": merchant_id})
                summary.reencrypted += 1
        if len(rows) < batch_size:
            return summary
        after = rows[-1][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.workers.reencrypt_tokens", description=__doc__
    )
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= 10000:
        parser.error("--batch-size must be between 1 and 10000")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        summary = reencrypt_all(cipher=token_cipher(get_settings()), batch_size=args.batch_size)
    except (SettingsError, EncryptionKeyError) as exc:
        print(f"re-encryption failed: {exc}", file=sys.stderr)
        return 2
    except SQLAlchemyError as exc:
        print(
            f"re-encryption failed: identity database unreachable ({type(exc).__name__})",
            file=sys.stderr,
        )
        return 3
    finally:
        dispose_engine()
    print(json.dumps(asdict(summary)))
    return 1 if summary.undecryptable else 0


if __name__ == "__main__":
    sys.exit(main())
