-- Non-transactional, split and batched migrations (README "Indexes and data on busy tables").

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
           -- (a stopped run's worker is gone: its process id may be another process's by now)
           r.error, r.invalid_index, r.pid, CASE WHEN a.alive THEN r.worker_pid END AS worker_pid
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

-- pg_dump keeps a run's state with the catalog, so a restored copy resumes rather than
-- running finished statements again.
SELECT pg_catalog.pg_extension_config_dump('migrate.runs', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.run_progress', '');

REVOKE ALL ON PROCEDURE migrate.run(text) FROM PUBLIC;
REVOKE ALL ON PROCEDURE migrate.run_revert(int) FROM PUBLIC;
REVOKE ALL ON PROCEDURE migrate.run_revert_to(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.run_forget(text) FROM PUBLIC;
