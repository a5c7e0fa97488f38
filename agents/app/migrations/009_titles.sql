-- What a merchant needs to tell past chats apart: a title and a preview for every conversation,
-- and a way to leave out chats in which the merchant never wrote.
--
-- condense_text(value, max_chars): whitespace collapsed, and when longer than max_chars, cut at
-- the last word boundary that leaves room for an ellipsis (one unbroken word is cut inside).
-- IMMUTABLE, so generated columns may use it; the chat's Python twin is
-- app.services.chat.titles.condense, and tests check that the two agree.
CREATE OR REPLACE FUNCTION condense_text(value text, max_chars integer)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
AS $$
    SELECT CASE
        WHEN flat = '' THEN NULL
        WHEN char_length(flat) <= max_chars THEN flat
        WHEN substr(flat, max_chars, 1) = ' ' THEN rtrim(left(flat, max_chars - 1)) || '…'
        ELSE COALESCE(
            NULLIF(regexp_replace(left(flat, max_chars - 1), '\s+\S*$', ''), ''),
            left(flat, max_chars - 1)
        ) || '…'
    END
    FROM (SELECT btrim(regexp_replace(value, '\s+', ' ', 'g')) AS flat) AS f
$$;

-- first_message_title: the merchant's first message, condensed to 60 characters; NULL when the
--                      merchant never wrote, which is how listings leave such chats out.
-- preview:             the last message (either side), condensed to 120 characters.
-- title:               a short generated title (LLM_API_KEY set), copied from the live session by
--                      the archiver; the API shows it when present, else first_message_title.
-- Both generated columns are computed by PostgreSQL when a row is written, so every writer
-- (the archiver, a restore, a hand-written INSERT) gets them without code of its own.
ALTER TABLE conversations
    ADD COLUMN IF NOT EXISTS title TEXT,
    ADD COLUMN IF NOT EXISTS first_message_title TEXT GENERATED ALWAYS AS (
        condense_text(
            jsonb_path_query_first(
                messages, '$[*] ? (@.sender == "user" && @.content.type() == "string").content'
            ) #>> '{}',
            60
        )
    ) STORED,
    ADD COLUMN IF NOT EXISTS preview TEXT GENERATED ALWAYS AS (
        condense_text(messages -> -1 ->> 'content', 120)
    ) STORED;

-- The listing's index (007's, by the same name) now covers only the chats that are listed, so the
-- page, its keyset and its count read only rows in which the merchant wrote.
DROP INDEX IF EXISTS idx_conversations_user_recent;
CREATE INDEX idx_conversations_user_recent
    ON conversations (
        user_id,
        (COALESCE(started_at, created_at, TIMESTAMPTZ '1970-01-01 00:00:00+00')) DESC,
        id DESC
    )
    WHERE first_message_title IS NOT NULL;
