-- Revocable bearer tokens: a token whose iat is earlier than its user's tokens_valid_after is
-- refused by agents. Auth moves it to the current time on sign-out, app/uninstalled and
-- shop/redact. NULL (every existing user) means no token has been revoked.
-- No BEGIN/COMMIT here: the migration runner wraps each file and its record in one transaction.

ALTER TABLE users ADD COLUMN IF NOT EXISTS tokens_valid_after TIMESTAMPTZ;

-- Each agents process polls for revocations newer than its last look, every few seconds; the
-- partial index keeps that a probe of the few revoked users, not a scan of every user.
CREATE INDEX IF NOT EXISTS idx_users_tokens_valid_after
    ON users (tokens_valid_after) WHERE tokens_valid_after IS NOT NULL;
