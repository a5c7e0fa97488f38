-- The history API beyond listing: a NULL-safe listing order, full-text search over message
-- contents, and the archive table the maintenance command moves old events into.

-- Listing order. started_at can be NULL (a row written with only the guide's columns), and a
-- NULL would make keyset cursors undefined, so the order key falls back to created_at and then to
-- the epoch. The API's queries use exactly this expression, so this index serves both the page
-- and the keyset condition (user_id = $1 AND (key, id) < ($2, $3) ORDER BY key DESC, id DESC).
CREATE INDEX IF NOT EXISTS idx_conversations_user_recent
    ON conversations (
        user_id,
        (COALESCE(started_at, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')) DESC,
        id DESC
    );

-- Full-text search over what was said, and nothing else: only the "content" string of each
-- message is indexed (not senders, timestamps or metadata). Both functions are IMMUTABLE, so
-- PostgreSQL computes the vector once when a row is written and searches never read messages.
ALTER TABLE conversations
    ADD COLUMN IF NOT EXISTS search_vector tsvector
    GENERATED ALWAYS AS (
        jsonb_to_tsvector(
            'english'::regconfig,
            jsonb_path_query_array(messages, '$[*].content'::jsonpath),
            '["string"]'::jsonb
        )
    ) STORED;

-- A GIN index over the vector alone: the planner combines it with the user's btree entries
-- (or picks whichever is more selective), so a search never scans the table.
CREATE INDEX IF NOT EXISTS idx_conversations_search
    ON conversations USING GIN (search_vector);

-- Events older than 90 days are moved here by `python -m app.workers.maintenance`. No foreign
-- key to users: archived events outlive the account they describe only until a redact removes
-- them, and the archive must never block deleting a user.
CREATE TABLE IF NOT EXISTS events_archive (
    id UUID PRIMARY KEY,
    user_id VARCHAR(50),
    event_type VARCHAR(100) NOT NULL,
    event_data JSONB NOT NULL,
    created_at TIMESTAMPTZ,
    archived_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_events_archive_user_id ON events_archive (user_id);
CREATE INDEX IF NOT EXISTS idx_events_archive_created_at ON events_archive (created_at);
