-- File sync: a folder of migration files brought into the catalog in one statement
-- (migrate.sync; the pg_migrate command uses it), repeatable migrations, and the checksum over
-- a script's tokens. See README "The pg_migrate command".

-- The file each migration was synced from, and the checksums sync compares: script_checksum
-- over the up script's tokens (migrate.script_checksum), source_checksum over the normalized
-- file contents (an unchanged file is recognised without parsing it).
CREATE TABLE migrate.migration_files (
    version          text PRIMARY KEY,
    file_name        text NOT NULL,
    script_checksum  text NOT NULL,
    source_checksum  text NOT NULL
);

-- Repeatable migrations (Flyway's R__ files): re-applied whenever their script changes.
CREATE TABLE migrate.repeatables (
    name             text PRIMARY KEY,
    file_name        text NOT NULL,
    up_sql           text NOT NULL,
    script_checksum  text NOT NULL,
    source_checksum  text NOT NULL,
    registered_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    applied_checksum text,          -- script_checksum when last applied; NULL: never applied
    applied_at       timestamptz,
    applied_by       text
);

SELECT pg_catalog.pg_extension_config_dump('migrate.migration_files', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.repeatables', '');

CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.migration_files
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.repeatables
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.migration_files
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.repeatables
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
-- ENABLE ALWAYS: they fire under session_replication_role = replica too.
ALTER TABLE migrate.migration_files ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.repeatables ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;

-- SHA-256 (hex) over the script's tokens as PostgreSQL's scanner sees them: comments, white
-- space, line endings and keyword case do not count; any change to what runs does.
CREATE FUNCTION migrate.script_checksum(script text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_script_checksum' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Brings the catalog in line with a folder: files is a JSON array of
-- {"file", "version", "name", "up", "down", "checksum", "repeatable", "no_transaction"}.
-- Registers new migrations, leaves unchanged ones untouched, replaces edited pending ones
-- (NOTICE), refuses edited applied ones, unregisters pending ones whose file is gone and
-- reports applied ones without a file. With dry_run nothing is written and nothing locked;
-- accept_edited (pg_migrate repair) records edited applied files as they are now.
CREATE FUNCTION migrate.sync(files jsonb, dry_run boolean DEFAULT false,
                             accept_edited boolean DEFAULT false)
    RETURNS TABLE(file text, version text, name text, kind text, state text, action text,
                  applied_at timestamptz, applied_by text, checksum text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_sync' LANGUAGE C VOLATILE;

-- Applies the repeatable migrations whose script changed since they were last applied, in
-- name order, recording each in history.
CREATE FUNCTION migrate.apply_repeatables()
    RETURNS TABLE(name text, file text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply_repeatables' LANGUAGE C VOLATILE;
-- (0.9.0) Only the repeatable migration named `repeatable`, if it is pending: the pg_migrate command runs
-- beforeEachMigrate and afterEachMigrate callbacks around each one.
CREATE FUNCTION migrate.apply_repeatables(repeatable text)
    RETURNS TABLE(name text, file text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply_repeatables' LANGUAGE C VOLATILE;

-- Runs one of Flyway's SQL callbacks (afterMigrate.sql, ...) as a migration runs, recorded in
-- history (action 'callback'); the pg_migrate command calls it for a folder's callback files.
CREATE FUNCTION migrate.run_callback(event text, script text, file text DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'pgm_run_callback' LANGUAGE C VOLATILE;
-- The checks run_callback() makes before it runs anything, running nothing (pg_migrate apply
-- --dry-run): an error if run_callback() would refuse the callback.
CREATE FUNCTION migrate.check_callback(event text, script text, file text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_check_callback' LANGUAGE C VOLATILE;

-- The digest of the last folder migrate.sync found exactly in sync, and the catalog generation
-- it was found at: a cache that lets migrate.sync_digest() answer without per-file work.
CREATE TABLE migrate.sync_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    folder_digest  text NOT NULL,
    generation     bigint NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.sync_state
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.sync_state
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.sync_state ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;

-- True if digest (SHA-256 over the sorted file names and source checksums of a folder) is the
-- folder the last in-sync migrate.sync saw and the catalog has not changed since. Plain SQL: the
-- pg_migrate command's no-op check does not need to load the library into a new backend.
CREATE FUNCTION migrate.sync_digest(digest text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM migrate.sync_state s, migrate.catalog_state c
                    WHERE s.folder_digest = digest AND s.generation = c.generation)
$$;

-- After migrate.sync() registered a folder with migrations pending and apply applied them (in
-- the same transaction): records that folder as in sync without its files being sent and
-- compared again, if nothing is pending now and nothing but applies changed the catalog since
-- the sync. False (nothing recorded) otherwise: then migrate.sync() records it.
CREATE FUNCTION migrate.sync_confirm(digest text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_sync_confirm' LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION migrate.sync(jsonb, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.sync_digest(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.sync_confirm(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply_repeatables() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply_repeatables(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.run_callback(text, text, text) FROM PUBLIC;
