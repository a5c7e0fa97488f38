-- What the archiver needs beyond the guide's schema. Every column is nullable, so rows written
-- with only the guide's columns stay valid (and are simply replaced by the next archival).
--   archive_version  the Redis session's version that was archived; with the message count it
--                    orders writes, so a late stale write never replaces a newer one
--   archived_at      when the row was last written by the archiver
--   last_message_at  timestamp of the last archived message
--   pending_user_id  the session's user when that user did not exist yet (the FK would reject
--                    it); the archiver links it as soon as the user row appears
ALTER TABLE conversations
    ADD COLUMN IF NOT EXISTS archive_version BIGINT,
    ADD COLUMN IF NOT EXISTS archived_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS last_message_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS pending_user_id VARCHAR(50);

CREATE INDEX IF NOT EXISTS idx_conversations_pending_user
    ON conversations (pending_user_id) WHERE pending_user_id IS NOT NULL;
