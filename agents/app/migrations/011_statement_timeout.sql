-- A runaway statement is cut off by the server after 10 s, for every session of the service's
-- role in this database, pooled or direct. Set here rather than as a connection's startup
-- parameter because transaction-mode poolers (PgBouncer) refuse startup parameters; every
-- server connection starts with its role's defaults, so no statement pays for it.
-- Sessions that may run long say so themselves: the migration runner (SET statement_timeout = 0),
-- the archiver's batch and the maintenance command (SET LOCAL in their transactions).
DO $$
BEGIN
    EXECUTE format(
        'ALTER ROLE %I IN DATABASE %I SET statement_timeout = %L',
        current_user, current_database(), '10s'
    );
END
$$;
