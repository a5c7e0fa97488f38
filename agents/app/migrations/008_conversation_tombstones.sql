-- Deleted conversations stay deleted. The archiver reads a batch from Redis, then writes it in
-- one statement; a user's DELETE landing between the two would otherwise be undone by that
-- write. The history API records the id here in the same transaction as the DELETE, and the
-- archiver's upsert skips every id recorded here. Only the id and the time are kept (no user
-- id, no content), so a tombstone holds no personal data and may be kept indefinitely.
CREATE TABLE IF NOT EXISTS conversation_tombstones (
    id UUID PRIMARY KEY,
    deleted_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
