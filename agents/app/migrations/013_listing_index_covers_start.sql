-- The profile's statistics (count, first and last start of the listed chats) read only the
-- listing index, never the table: 009's index gains started_at as an included column, so
-- PostgreSQL answers them with an index-only scan. Before, they read the table row of every
-- listed conversation of the user (100 heap blocks for a user with 100 chats,
-- 0.54 ms against 0.17 ms in EXPLAIN ANALYZE on 1,000,000 conversations; bench/history_api.py, two
-- rounds alternated: profile +11% and +3% requests/s, list unchanged).
-- started_at was already part of the index's key expression, so which updates can stay HOT
-- does not change.
DROP INDEX IF EXISTS idx_conversations_user_recent;
CREATE INDEX idx_conversations_user_recent
    ON conversations (
        user_id,
        (COALESCE(started_at, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')) DESC,
        id DESC
    )
    INCLUDE (started_at)
    WHERE first_message_title IS NOT NULL;
