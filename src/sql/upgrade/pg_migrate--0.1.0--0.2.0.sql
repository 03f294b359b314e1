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
-- Any pg_migrate call loads the library (reserved settings prefix): the SQL functions call it.
CREATE FUNCTION migrate.library_loaded() RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_library_loaded' LANGUAGE C STABLE PARALLEL SAFE;
-- below_baseline is a state, not a validate() problem.
-- (status() is replaced by the non-transactional section below, with library_loaded().)

CREATE OR REPLACE FUNCTION migrate.current_version() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL
          ORDER BY version_parts DESC LIMIT 1),
        (SELECT version FROM migrate.baseline))
     WHERE migrate.library_loaded()
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
        SELECT l.version_parts, l.version, l.problem FROM migrate.revert_leftovers() l)
    -- Migrations at or below the baseline are a state (status() says below_baseline), not a problem.
    SELECT p.version, p.problem FROM problems p WHERE migrate.library_loaded()
     ORDER BY p.version_parts, p.problem
$$;

-- repair: fix the name or down script of a (possibly applied) migration.
CREATE FUNCTION migrate.repair(version text, name text DEFAULT NULL, down text DEFAULT NULL,
                               remove_down boolean DEFAULT false)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_repair' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.repair(text, text, text, boolean) FROM PUBLIC;
-- schema_snapshot(): the descr CTE is inlined, so each object's comment is found through
-- pg_description's index instead of a scan of all comments per object (a snapshot of 300
-- tables: ~330 ms -> ~55 ms; verify takes two per migration). Patched in place, so that it
-- applies to whatever body the sections above left.
DO $do$
DECLARE def text;
BEGIN
    SELECT pg_catalog.pg_get_functiondef('migrate.schema_snapshot()'::pg_catalog.regprocedure) INTO def;
    IF pg_catalog.strpos(def, E'), descr AS (\n') > 0 THEN
        EXECUTE pg_catalog.replace(def, E'), descr AS (\n',
            E'), descr AS NOT MATERIALIZED (  -- inlined: each join uses pg_description''s index\n');
    END IF;
END
$do$;


-- == file sync (pg_migrate command) ==


-- == non-transactional and batched migrations ==
-- A volatile default makes ADD COLUMN rewrite the table with the value in every row, instead of
-- keeping it as the columns' "missing value" (which a fresh install does not have); then the
-- real default.
ALTER TABLE migrate.migrations
    ADD COLUMN up_mode text NOT NULL
        DEFAULT (CASE WHEN pg_catalog.random() >= 0 THEN 'transaction' END)
        CHECK (up_mode IN ('transaction', 'split', 'no-transaction')),
    ADD COLUMN down_mode text NOT NULL
        DEFAULT (CASE WHEN pg_catalog.random() >= 0 THEN 'transaction' END)
        CHECK (down_mode IN ('transaction', 'split', 'no-transaction'));
ALTER TABLE migrate.migrations
    ALTER COLUMN up_mode SET DEFAULT 'transaction',
    ALTER COLUMN down_mode SET DEFAULT 'transaction';

-- Runs of non-transactional and split migrations by CALL migrate.run() / migrate.run_revert():
-- one row per migration whose run started and has not finished, kept across failures, cancels
-- and crashes so the next run resumes at the first unfinished statement.
CREATE TABLE migrate.runs (
    version         text PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('up', 'down')),
    checksum        text NOT NULL,             -- SHA-256 of the script being run
    units           int NOT NULL,              -- statements (or parts) of the script
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_by      text NOT NULL DEFAULT session_user,
    pid             int NOT NULL,              -- backend running the CALL
    unit            int,                       -- 0-based statement (part) started last
    line            int,
    phase           text,
    unit_started_at timestamptz,
    worker_pid      int,                       -- background worker running a top-level statement
    rows_done       bigint NOT NULL DEFAULT 0, -- batched statement: rows changed so far
    rows_total      bigint,                    -- batched statement: rows matching at its start
    batches         int NOT NULL DEFAULT 0,
    error           text,                      -- last failure (SQLSTATE: message)
    failed_at       timestamptz,
    invalid_index   text                       -- INVALID index of a failed concurrent build, until dropped
);
-- Every finished statement (part) of an unfinished run, committed with it (or right after it,
-- for statements that run at top level).
CREATE TABLE migrate.run_progress (
    version      text NOT NULL,
    direction    text NOT NULL,
    unit         int NOT NULL,
    line         int NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    duration_ms  float8,
    rows         bigint,
    PRIMARY KEY (version, direction, unit)
);
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.runs
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.run_progress
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.runs
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.run_progress
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect_truncate;

CREATE OR REPLACE FUNCTION migrate.status()
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
                          CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_locks l
                                             WHERE l.locktype = 'advisory' AND l.pid = r.pid AND l.granted
                                               AND l.classid = 1885822829 AND l.objid = 1768387169
                                               AND l.objsubid = 28008) THEN 'running'
                               WHEN r.error IS NOT NULL THEN 'failed'
                               ELSE 'interrupted' END
                        WHEN m.applied_seq IS NOT NULL THEN 'applied'
                        WHEN m.version_parts <= (SELECT b.version_parts FROM b) THEN 'below_baseline'
                        WHEN m.version_parts < (SELECT parts FROM newest) THEN 'out_of_order'
                        ELSE 'pending' END,
                   m.applied_at, m.applied_by, m.checksum, m.version_parts, 1
              FROM migrate.migrations m LEFT JOIN migrate.runs r USING (version)) s
     WHERE migrate.library_loaded()
     ORDER BY s.version_parts, s.ord
$$;

-- Applies every pending migration up to target in version order: transactional ones as
-- migrate.apply() does (each committed), split ones part by part, non-transactional ones
-- statement by statement at top level. Resumes an interrupted run. Runs as the caller, like
-- apply (no SET clause: a procedure with one could not commit).
CREATE PROCEDURE migrate.run(target text DEFAULT NULL)
    AS 'MODULE_PATHNAME', 'pgm_run' LANGUAGE C;

-- Reverts the newest `steps` applied migrations (or every one above target) the same way.
CREATE PROCEDURE migrate.run_revert(steps int DEFAULT 1)
    AS 'MODULE_PATHNAME', 'pgm_run_revert' LANGUAGE C;
CREATE PROCEDURE migrate.run_revert_to(target text)
    AS 'MODULE_PATHNAME', 'pgm_run_revert_to' LANGUAGE C;

-- The way out of a run that cannot finish: forgets its state (recorded in history); what its
-- finished statements did stays.
CREATE FUNCTION migrate.run_forget(version text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_run_forget' LANGUAGE C VOLATILE;

-- What a run is doing now: statement and line, phase, work done and total, rate, ETA.
CREATE VIEW migrate.progress AS
    SELECT r.version, m.name, r.direction,
           r.unit + 1 AS statement, r.units AS statements, r.line,
           CASE WHEN NOT a.alive THEN CASE WHEN r.error IS NOT NULL THEN 'failed' ELSE 'interrupted' END
                WHEN p.pid IS NOT NULL THEN r.phase || ': ' || p.phase
                ELSE r.phase END AS phase,
           w.done AS work_done, w.total AS work_total,
           CASE WHEN w.total IS NULL OR w.total = 0 THEN NULL
                ELSE pg_catalog.round((100.0 * w.done / w.total)::numeric, 1) END AS percent,
           r.started_at, r.unit_started_at AS statement_started_at,
           CASE WHEN e.secs > 0 AND w.done IS NOT NULL
                THEN pg_catalog.round((w.done / e.secs)::numeric, 1) END AS rate_per_second,
           CASE WHEN a.alive AND e.secs > 0 AND w.done > 0 AND w.total >= w.done
                THEN pg_catalog.clock_timestamp()
                     + (w.total - w.done) * e.secs / w.done * interval '1 second' END AS eta,
           r.error, r.invalid_index, r.pid, r.worker_pid
      FROM migrate.runs r
      JOIN migrate.migrations m USING (version)
      CROSS JOIN LATERAL (SELECT EXISTS (
                SELECT FROM pg_catalog.pg_locks l
                 WHERE l.locktype = 'advisory' AND l.pid = r.pid AND l.granted
                   AND l.classid = 1885822829 AND l.objid = 1768387169 AND l.objsubid = 28008) AS alive) a
      LEFT JOIN pg_catalog.pg_stat_progress_create_index p ON a.alive AND p.pid = r.worker_pid
      CROSS JOIN LATERAL (SELECT CASE WHEN p.pid IS NOT NULL THEN
                                      CASE WHEN p.blocks_total > 0 AND p.tuples_total = 0 THEN p.blocks_done
                                           WHEN p.tuples_total > 0 THEN p.tuples_done
                                           WHEN p.lockers_total > 0 THEN p.lockers_done END
                                      WHEN r.rows_total IS NOT NULL THEN r.rows_done END::float8 AS done,
                                 CASE WHEN p.pid IS NOT NULL THEN
                                      CASE WHEN p.blocks_total > 0 AND p.tuples_total = 0 THEN p.blocks_total
                                           WHEN p.tuples_total > 0 THEN p.tuples_total
                                           WHEN p.lockers_total > 0 THEN p.lockers_total END
                                      WHEN r.rows_total IS NOT NULL THEN GREATEST(r.rows_total, r.rows_done) END::float8 AS total) w
      CROSS JOIN LATERAL (SELECT extract(epoch FROM pg_catalog.clock_timestamp() - r.unit_started_at)::float8 AS secs) e;

-- pg_dump keeps a run's state with the catalog, so a restored copy resumes rather than
-- running finished statements again.
SELECT pg_catalog.pg_extension_config_dump('migrate.runs', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.run_progress', '');

REVOKE ALL ON PROCEDURE migrate.run(text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE migrate.run_revert(int) FROM PUBLIC;
REVOKE ALL ON PROCEDURE migrate.run_revert_to(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.run_forget(text) FROM PUBLIC;

