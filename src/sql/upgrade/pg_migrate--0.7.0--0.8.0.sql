-- pg_migrate 0.7.0 -> 0.8.0: Flyway's SQL callbacks (afterMigrate.sql, ...), run as migrations run.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.8.0'" to load this file. \quit

CREATE FUNCTION migrate.run_callback(event text, script text, file text DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'pgm_run_callback' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.run_callback(text, text, text) FROM PUBLIC;

-- A callback's schema snapshot: the revert check leaves its changes out of the migrations'.
ALTER TABLE migrate.schema_snapshots DROP CONSTRAINT schema_snapshots_reason_check,
    ADD CONSTRAINT schema_snapshots_reason_check
        CHECK (reason IN ('install', 'apply', 'revert', 'baseline', 'acknowledge', 'callback'));

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
