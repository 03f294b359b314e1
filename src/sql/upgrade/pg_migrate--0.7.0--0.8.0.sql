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

-- The newest snapshot when each one is recorded: the revert check compares with exactly that
-- one (a pruned one no longer stands in for an older one). Rows recorded before: NULL.
ALTER TABLE migrate.schema_snapshots ADD COLUMN previous_id bigint;
CREATE FUNCTION migrate.newest_snapshot_id() RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s $$;
REVOKE ALL ON FUNCTION migrate.newest_snapshot_id() FROM PUBLIC;
ALTER TABLE migrate.schema_snapshots ALTER COLUMN previous_id SET DEFAULT migrate.newest_snapshot_id();

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
