-- pg_migrate 0.11.0 -> 0.12.0: migrate.check_callback(), the checks of migrate.run_callback()
-- without running anything, for pg_migrate apply --dry-run; status() reads pg_locks once; the
-- extension's members belong to its owner whoever ran the update.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.12.0'" to load this file. \quit

-- A dry run checked callbacks in the client (the no-transaction directive, a few lint rules,
-- the session's lint_blocks_apply): it passed a callback split by COMMIT, and one the DBA's
-- policy blocks, that apply refuses. The server's own checks now.
CREATE FUNCTION migrate.check_callback(event text, script text, file text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_check_callback' LANGUAGE C VOLATILE;

-- status(): pg_locks read once, not per migration (whose estimated cost made the plan of
-- 10,000 migrations JIT-compiled on every call); status() and progress: a run's session lock
-- only in this database (a crashed run's process id, reused by another database's backend,
-- showed the run as running).
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

CREATE OR REPLACE VIEW migrate.progress AS
    SELECT r.version, m.name, r.direction,
           r.unit + 1 AS statement, r.units AS statements, r.line,
           CASE WHEN NOT a.alive THEN CASE WHEN r.error IS NOT NULL THEN 'failed' ELSE 'interrupted' END
                WHEN p.phase IS NOT NULL THEN r.phase || ': ' || p.phase
                ELSE r.phase END AS phase,
           w.done AS work_done, w.total AS work_total,
           -- More rows done than matched at the start (rows that writers added since): no percent.
           CASE WHEN w.total IS NULL OR w.total = 0 OR w.done > w.total THEN NULL
                ELSE pg_catalog.round((100.0 * w.done / w.total)::numeric, 1) END AS percent,
           r.started_at, r.unit_started_at AS statement_started_at,
           CASE WHEN e.secs > 0 AND w.done IS NOT NULL
                THEN pg_catalog.round((w.done / e.secs)::numeric, 1) END AS rate_per_second,
           CASE WHEN a.alive AND e.secs > 0 AND w.done > 0 AND w.total > w.done
                THEN pg_catalog.clock_timestamp()
                     + (w.total - w.done) * e.secs / w.done * interval '1 second' END AS eta,
           r.error, r.invalid_index, r.pid, r.worker_pid
      FROM migrate.runs r
      JOIN migrate.migrations m USING (version)
      -- On a standby the primary's sessions are not visible: a run without an error is alive.
      CROSS JOIN LATERAL (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN r.error IS NULL ELSE EXISTS (
                SELECT FROM pg_catalog.pg_locks l
                 WHERE l.locktype = 'advisory' AND l.pid = r.pid AND l.granted
                   AND l.classid = 1885822829 AND l.objid = 1768387169 AND l.objsubid = 28008
                   -- (a process id another database's backend reuses is not this run's)
                   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d
                                      WHERE d.datname = pg_catalog.current_database())) END AS alive) a
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
                                      WHEN r.rows_total IS NOT NULL THEN r.rows_total END::float8 AS total) w
      -- The time behind work_done: a batched statement's rows count over every call, and so does
      -- its time (unit_ms, to its last batch); an index build's progress is this call's.
      CROSS JOIN LATERAL (SELECT CASE WHEN p.pid IS NULL AND r.rows_total IS NOT NULL AND r.unit_ms > 0
                                      THEN r.unit_ms / 1000.0
                                      ELSE extract(epoch FROM pg_catalog.clock_timestamp() - r.unit_started_at)::float8
                                 END AS secs) e;

-- validate(): a run stopped before its first statement started (no line) says so, instead of
-- "interrupted at line ;".
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

-- Objects an update creates belong to the role running it, not to the extension's owner: a
-- superuser updating an extension that a role since demoted owns left that owner unable to
-- apply (permission denied for function newest_snapshot_id, table catalog_page_sums). Every
-- member goes back to the extension's owner, which also repairs earlier updates. (Event
-- triggers stay: only a superuser may own one. Indexes and a table's own sequences follow
-- their table.)
DO $owner$
DECLARE
  ext_owner pg_catalog.regrole := (SELECT e.extowner::pg_catalog.regrole FROM pg_catalog.pg_extension e
                                    WHERE e.extname OPERATOR(pg_catalog.=) 'pg_migrate');
  member record;
BEGIN
  FOR member IN
    SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS name, 'ROUTINE' AS kind
      FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
     WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_migrate')
       AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND p.proowner OPERATOR(pg_catalog.<>) ext_owner
    UNION ALL
    SELECT c.oid::pg_catalog.regclass::pg_catalog.text,
           CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END
      FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
     WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_migrate')
       AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,S}'::pg_catalog."char"[])
       AND c.relowner OPERATOR(pg_catalog.<>) ext_owner
       -- a sequence a column owns changes owner with its table
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend o
                        WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND o.objid OPERATOR(pg_catalog.=) c.oid
                          AND o.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                          AND o.deptype OPERATOR(pg_catalog.=) ANY ('{a,i}'::pg_catalog."char"[]))
    UNION ALL
    SELECT t.oid::pg_catalog.regtype::pg_catalog.text, 'TYPE'
      FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) d.objid
     WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_migrate')
       AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass AND d.deptype OPERATOR(pg_catalog.=) 'e'
       AND t.typowner OPERATOR(pg_catalog.<>) ext_owner
       -- a table's row type and an array type change owner with their table and element type
       -- (PostgreSQL 17 records both as members; ALTER TYPE refuses them)
       AND (t.typrelid OPERATOR(pg_catalog.=) 0
            OR EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) t.typrelid
                                                           AND c.relkind OPERATOR(pg_catalog.=) 'c'))
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_type e WHERE e.typarray OPERATOR(pg_catalog.=) t.oid)
  LOOP
    EXECUTE pg_catalog.format('ALTER %s %s OWNER TO %s', member.kind, member.name, ext_owner);
  END LOOP;
END
$owner$;

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
