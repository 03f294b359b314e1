-- Core functions: register, apply, revert, baseline, inspect.

CREATE FUNCTION migrate.register(version text, name text, up text, down text DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_register' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.unregister(version text)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_unregister' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.baseline(version text, name text DEFAULT 'baseline')
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_baseline' LANGUAGE C VOLATILE;

-- apply/revert run migrations as the caller with the caller's search_path, so they carry no
-- SET search_path clause; their internal SQL pins search_path in C (see catalog.cpp).
CREATE FUNCTION migrate.apply(target text DEFAULT NULL)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.revert(steps int DEFAULT 1)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_revert' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.revert_to(target text)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_revert_to' LANGUAGE C VOLATILE;

-- SHA-256 (hex) of a script, as register computes it.
CREATE FUNCTION migrate.checksum(script text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_checksum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Canonical spelling of a version ('01.10.0' -> '1.10'); errors on an invalid one.
CREATE FUNCTION migrate.canonical_version(version text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_canonical_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Loads pg_migrate's library (so the reserved pg_migrate. settings prefix applies); the SQL
-- functions below call it, so any pg_migrate call does.
CREATE FUNCTION migrate.library_loaded() RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_library_loaded' LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION migrate.status()
    RETURNS TABLE(version text, name text, state text, applied_at timestamptz,
                  applied_by text, checksum text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    WITH b AS (SELECT * FROM migrate.baseline),
         newest AS (SELECT pg_catalog.max(version_parts) AS parts
                      FROM migrate.migrations WHERE applied_seq IS NOT NULL)
    SELECT s.version, s.name, s.state, s.applied_at, s.applied_by, s.checksum
      FROM (SELECT b.version, b.name, 'baseline' AS state, b.baselined_at AS applied_at,
                   b.baselined_by AS applied_by, NULL::text AS checksum, b.version_parts, 0 AS ord
              FROM b
            UNION ALL
            SELECT m.version, m.name,
                   CASE WHEN r.version IS NOT NULL THEN
                          CASE WHEN r.running THEN 'running'
                               WHEN r.error IS NOT NULL THEN 'failed'
                               ELSE 'interrupted' END
                        WHEN m.applied_seq IS NOT NULL THEN 'applied'
                        WHEN m.version_parts <= (SELECT b.version_parts FROM b) THEN 'below_baseline'
                        WHEN m.version_parts < (SELECT parts FROM newest) THEN 'out_of_order'
                        ELSE 'pending' END,
                   m.applied_at, m.applied_by, m.checksum, m.version_parts, 1
              FROM migrate.migrations m
              -- pg_locks read once (a hashed subplan), not per migration: estimated per row, it
              -- made the plan of 10,000 migrations costly enough to be JIT-compiled every call.
              -- A standby cannot see the primary's sessions: a run without an error is taken as
              -- running there (the primary tells whether it stopped).
              LEFT JOIN (SELECT r.version, r.error,
                                CASE WHEN pg_catalog.pg_is_in_recovery() THEN r.error IS NULL
                                     ELSE r.pid IN (SELECT l.pid FROM pg_catalog.pg_locks l
                                                     WHERE l.locktype = 'advisory' AND l.granted
                                                       AND l.classid = 1885822829 AND l.objid = 1768387169
                                                       AND l.objsubid = 28008
                                                       -- (a process id another database's backend reuses is not this run's)
                                                       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                                                          WHERE d.datname = pg_catalog.current_database())) END AS running
                           FROM migrate.runs r) r USING (version)) s
     WHERE migrate.library_loaded()
     ORDER BY s.version_parts, s.ord
$$;

-- The version the database is at: the newest applied migration, else the baseline.
CREATE FUNCTION migrate.current_version() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL
          ORDER BY version_parts DESC LIMIT 1),
        (SELECT version FROM migrate.baseline))
     WHERE migrate.library_loaded()
$$;

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

CREATE FUNCTION migrate.validate() RETURNS TABLE(version text, problem text)
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
        SELECT l.version_parts, l.version, l.problem FROM migrate.revert_leftovers() l
        UNION ALL
        -- A migration CALL migrate.run() (or run_revert) stopped part way: its finished
        -- statements took effect, the others did not (migrate.progress says where and why). A
        -- run still going in another session is not a problem.
        SELECT m.version_parts, r.version,
               pg_catalog.format('unfinished %s run: %s of %s %s done, %s %s%s; %s',
                                 CASE r.direction WHEN 'up' THEN 'apply' ELSE 'revert' END,
                                 (SELECT pg_catalog.count(*) FROM migrate.run_progress rp
                                   WHERE rp.version = r.version AND rp.direction = r.direction),
                                 r.units,
                                 -- a script split by COMMIT runs (and counts) part by part
                                 CASE WHEN (CASE r.direction WHEN 'up' THEN m.up_mode ELSE m.down_mode END) = 'split'
                                      THEN 'parts' ELSE 'statements' END,
                                 p.phase,
                                 -- (no line: stopped before its first statement started)
                                 CASE WHEN r.line IS NULL THEN 'before its first statement'
                                      WHEN (CASE r.direction WHEN 'up' THEN m.up_mode ELSE m.down_mode END) = 'split'
                                      THEN 'in the part at line ' || r.line ELSE 'at line ' || r.line END,
                                 CASE WHEN r.error IS NOT NULL THEN ' (' || pg_catalog.regexp_replace(r.error,
                                      '^([0-9A-Z]{5}): .*? failed at line [0-9]+ of its (up|down) script: ', '\1: ')
                                      || ')' ELSE '' END,
                                 CASE r.direction WHEN 'up' THEN 'CALL migrate.run() finishes it'
                                      ELSE 'CALL migrate.run_revert() finishes it' END)
          FROM migrate.runs r JOIN migrate.migrations m USING (version)
          JOIN migrate.progress p USING (version)
         WHERE p.phase IN ('failed', 'interrupted'))
    -- Migrations at or below the baseline are a state (status() says below_baseline), not a problem.
    SELECT p.version, p.problem FROM problems p WHERE migrate.library_loaded()
     ORDER BY p.version_parts, p.problem
$$;

-- Fixes the name or the down script of a migration (also an applied one); the up script is
-- never changed. Recorded in history (action 'repair', old and new text in detail).
CREATE FUNCTION migrate.repair(version text, name text DEFAULT NULL, down text DEFAULT NULL,
                               remove_down boolean DEFAULT false)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_repair' LANGUAGE C VOLATILE;

-- Changing functions are for deploy roles only (see README "Privileges").
REVOKE ALL ON FUNCTION migrate.register(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.unregister(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.baseline(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.revert(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.revert_to(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.protect_catalog() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.repair(text, text, text, boolean) FROM PUBLIC;
