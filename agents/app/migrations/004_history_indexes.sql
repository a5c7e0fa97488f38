-- What the history API needs beyond the guide's schema.
-- message_count is computed by PostgreSQL when a row is written, so listing a user's
-- conversations never reads (or detoasts) the messages array. Rows written with only the
-- guide's columns stay valid: a generated column needs nothing from the writer.
ALTER TABLE conversations
    ADD COLUMN IF NOT EXISTS message_count INTEGER
    GENERATED ALWAYS AS (jsonb_array_length(messages)) STORED;

-- Newest-first listing and keyset pagination for one user: (user_id, started_at DESC, id DESC)
-- gives a total order even when two conversations share a started_at.
CREATE INDEX IF NOT EXISTS idx_conversations_user_started
    ON conversations (user_id, started_at DESC, id DESC);
