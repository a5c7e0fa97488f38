-- The archive's write at the speed of the table it writes (issue: 0.12 of a raw COPY into the
-- design guide's table). Measured on 20,000 conversations of 20 messages, COPY into the table
-- of migration 011 took 14.5 s; without the search vector and its GIN index 4.5-6.3 s; without
-- the title and preview columns as well 2.2-3.1 s, the guide's own table 2.1-2.8 s. Each
-- generated column de-TOASTs and re-parses the whole messages array again, so:
--
-- 1. search_vector, first_message_title and preview become plain columns (their values kept).
-- 2. Whoever writes a conversation without them gets them from a trigger, computed as the
--    generated columns were (so every writer, a hand-written INSERT included, still gets them).
-- 3. The archiver says, for its own transaction, that it provides title and preview itself and
--    that the search vector may wait (hirecj.search = 'deferred'): the trigger then computes
--    nothing, and the archiver's search indexing pass fills search_vector soon after, outside
--    the write that must beat the TTL. Until then search reads such rows' vectors from their
--    messages (the same function), so its results never change, only how fast it finds them.

ALTER TABLE conversations ALTER COLUMN search_vector DROP EXPRESSION;
ALTER TABLE conversations ALTER COLUMN first_message_title DROP EXPRESSION;
ALTER TABLE conversations ALTER COLUMN preview DROP EXPRESSION;

-- The three derivations, each once (the search's on-the-fly branch uses the first too).
CREATE OR REPLACE FUNCTION conversation_search_vector(messages jsonb)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
AS $$
    SELECT jsonb_to_tsvector(
        'english'::regconfig,
        jsonb_path_query_array(messages, '$[*].content'::jsonpath),
        '["string"]'::jsonb
    )
$$;

CREATE OR REPLACE FUNCTION conversation_first_message_title(messages jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
AS $$
    SELECT condense_text(
        jsonb_path_query_first(
            messages, '$[*] ? (@.sender == "user" && @.content.type() == "string").content'
        ) #>> '{}',
        60
    )
$$;

CREATE OR REPLACE FUNCTION conversation_preview(messages jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
AS $$
    SELECT condense_text(messages -> -1 ->> 'content', 120)
$$;

CREATE OR REPLACE FUNCTION conversations_derive()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF current_setting('hirecj.search', true) = 'deferred' THEN
        RETURN NEW;
    END IF;
    NEW.search_vector := conversation_search_vector(NEW.messages);
    NEW.first_message_title := conversation_first_message_title(NEW.messages);
    NEW.preview := conversation_preview(NEW.messages);
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS conversations_derive ON conversations;
-- The WHEN conditions keep the archiver's rows from calling the function at all: it always
-- sends a preview, and a new one with new messages. A writer that changes messages and not the
-- preview, or inserts without one, gets all three computed.
DROP TRIGGER IF EXISTS conversations_derive_on_update ON conversations;
CREATE TRIGGER conversations_derive
    BEFORE INSERT ON conversations
    FOR EACH ROW WHEN (NEW.preview IS NULL) EXECUTE FUNCTION conversations_derive();
CREATE TRIGGER conversations_derive_on_update
    BEFORE UPDATE OF messages ON conversations
    FOR EACH ROW WHEN (NEW.preview IS NOT DISTINCT FROM OLD.preview)
    EXECUTE FUNCTION conversations_derive();

-- Conversations whose search vector is still to be built: what the indexing pass takes and the
-- search's on-the-fly branch reads (by user).
CREATE INDEX IF NOT EXISTS idx_conversations_unindexed
    ON conversations (user_id) WHERE search_vector IS NULL;
