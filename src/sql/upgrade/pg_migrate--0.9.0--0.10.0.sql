-- pg_migrate 0.9.0 -> 0.10.0: migrate.progress keeps a run's phase for a role that cannot see
-- another role's index build; on a hot standby a run the primary is running is not reported
-- interrupted.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.10.0'" to load this file. \quit

-- pg_stat_progress_create_index shows another role's build with NULL columns: the phase was
-- NULL for a monitoring role while a deploy role's concurrent build ran (it is the run's own).
-- A standby cannot see the primary's sessions (their advisory lock): a run without an error was
-- "interrupted" there, and validate() reported it, while the primary ran it. A batched
-- statement resumed by a later call divided all its rows by this call's time (rate and ETA far
-- off); one that outgrew its starting count (writers adding rows) stayed at 100 % with an ETA
-- of now.
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
                   AND l.classid = 1885822829 AND l.objid = 1768387169 AND l.objsubid = 28008) END AS alive) a
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
                          -- A standby cannot see the primary's sessions: a run without an error
                          -- is taken as running there (the primary tells whether it stopped).
                          CASE WHEN CASE WHEN pg_catalog.pg_is_in_recovery() THEN r.error IS NULL
                                         ELSE EXISTS (SELECT FROM pg_catalog.pg_locks l
                                                       WHERE l.locktype = 'advisory' AND l.pid = r.pid AND l.granted
                                                         AND l.classid = 1885822829 AND l.objid = 1768387169
                                                         AND l.objsubid = 28008) END THEN 'running'
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

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
