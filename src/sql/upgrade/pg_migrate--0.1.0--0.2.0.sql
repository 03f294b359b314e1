-- pg_migrate 0.1.0 -> 0.2.0 (ALTER EXTENSION pg_migrate UPDATE).
-- The result must equal a fresh 0.2.0 install: test/t/020_upgrade.pl compares both.
\echo Use "ALTER EXTENSION pg_migrate UPDATE" to load this file. \quit

-- == catalog and core (tamper-proofing: scripts kept, protect triggers, settings) ==
-- Every script that ran is kept (migrate.scripts), referenced from history.script_checksum.
ALTER TABLE migrate.history ADD COLUMN script_checksum text;

CREATE TABLE migrate.scripts (
    checksum       text PRIMARY KEY,
    script         text NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    first_seen_by  text NOT NULL DEFAULT session_user
);
SELECT pg_catalog.pg_extension_config_dump('migrate.scripts', '');
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.scripts
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.scripts
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect_truncate;
-- 0.1.0 kept no script text in history: keep the up scripts of applies that are still
-- registered with the checksum history recorded (the texts of others are gone).
INSERT INTO migrate.scripts (checksum, script)
SELECT DISTINCT m.checksum, m.up_sql FROM migrate.migrations m
 WHERE EXISTS (SELECT FROM migrate.history h WHERE h.action = 'apply' AND h.checksum = m.checksum)
ON CONFLICT (checksum) DO NOTHING;

-- Reverts whose down script left objects the apply had changed (history.detail->'leftovers'),
-- until the version is applied again or drift is acknowledged afterwards
-- (migrate.acknowledge_drift()). It reads the drift feature's tables, created later in the
-- install script (extension scripts run with check_function_bodies off).
CREATE FUNCTION migrate.revert_leftovers()
    RETURNS TABLE(version text, version_parts numeric[], reverted_at timestamptz, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.version, m.version_parts, h.performed_at,
           pg_catalog.format('its revert (history id %s) left the schema different from before its apply: %s',
                             h.id,
                             (SELECT pg_catalog.string_agg(pg_catalog.format('%s (%s)', l->>'object', l->>'change'), ', ')
                                FROM pg_catalog.jsonb_array_elements(h.detail->'leftovers') l))
      FROM migrate.history h LEFT JOIN migrate.migrations m ON m.version = h.version
     WHERE h.action = 'revert' AND h.detail ? 'leftovers'
       AND NOT EXISTS (SELECT FROM migrate.history h2
                        WHERE h2.version = h.version AND h2.id > h.id AND h2.action = 'apply')
       AND NOT EXISTS (SELECT FROM migrate.drift_acknowledgements a WHERE a.acknowledged_at > h.performed_at)
$$;

CREATE OR REPLACE FUNCTION migrate.validate() RETURNS TABLE(version text, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH newest AS (SELECT pg_catalog.max(version_parts) AS parts
                      FROM migrate.migrations WHERE applied_seq IS NOT NULL),
         last_action AS (SELECT DISTINCT ON (h.version) h.version, h.action
                           FROM migrate.history h WHERE h.action IN ('apply', 'revert')
                          ORDER BY h.version, h.id DESC),
         problems AS (
        SELECT m.version_parts, m.version,
               pg_catalog.format('checksum mismatch: recorded %s, up script hashes to %s',
                                 m.checksum, migrate.checksum(m.up_sql)) AS problem
          FROM migrate.migrations m
         WHERE m.checksum <> migrate.checksum(m.up_sql)
        UNION ALL
        SELECT m.version_parts, m.version,
               'marked applied but history does not record its apply'
          FROM migrate.migrations m LEFT JOIN last_action l USING (version)
         WHERE m.applied_seq IS NOT NULL AND l.action IS DISTINCT FROM 'apply'
        UNION ALL
        SELECT m.version_parts, m.version,
               'history records an apply but the migration is not marked applied'
          FROM migrate.migrations m JOIN last_action l USING (version)
         WHERE m.applied_seq IS NULL AND l.action = 'apply'
        UNION ALL
        SELECT m.version_parts, m.version,
               'pending but older than the newest applied migration; apply refuses it unless pg_migrate.out_of_order is on'
          FROM migrate.migrations m, newest
         WHERE m.applied_seq IS NULL AND m.version_parts < newest.parts
           AND NOT EXISTS (SELECT FROM migrate.baseline b WHERE m.version_parts <= b.version_parts)
           AND pg_catalog.current_setting('pg_migrate.out_of_order', true) IS DISTINCT FROM 'on'
        UNION ALL
        SELECT m.version_parts, m.version,
               pg_catalog.format('registered at or below the baseline %s; it will never be applied', b.version)
          FROM migrate.migrations m, migrate.baseline b
         WHERE m.applied_seq IS NULL AND m.version_parts <= b.version_parts
        UNION ALL
        SELECT l.version_parts, l.version, l.problem FROM migrate.revert_leftovers() l)
    SELECT p.version, p.problem FROM problems p ORDER BY p.version_parts, p.problem
$$;



-- == drift capture ==


-- == scale and polish ==


-- == file sync (pg_migrate command) ==

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

-- True if digest (SHA-256 over the sorted file names and source checksums of a folder) is the
-- folder the last in-sync migrate.sync saw and the catalog has not changed since. Plain SQL: the
-- pg_migrate command's no-op check does not need to load the library into a new backend.
CREATE FUNCTION migrate.sync_digest(digest text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM migrate.sync_state s, migrate.catalog_state c
                    WHERE s.folder_digest = digest AND s.generation = c.generation)
$$;

REVOKE ALL ON FUNCTION migrate.sync(jsonb, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.sync_digest(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply_repeatables() FROM PUBLIC;


-- == non-transactional and batched migrations ==

