-- pg_migrate 0.12.0 -> 0.13.0: the snapshot of what a revert's check reads looks its objects
-- up in the catalogs, without privilege checks the extension's owner may fail; progress shows
-- no worker process id for a stopped run.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.13.0'" to load this file. \quit
-- An extension owner that is not a superuser and lacks USAGE on a schema a migration touched
-- could not revert it: to_regclass() / to_regtype() raised "permission denied for schema".
CREATE OR REPLACE FUNCTION migrate.schema_snapshot_for_keys(keys text[]) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
WITH k AS (
    SELECT split_part(key, ' ', 1) AS kind, substr(key, strpos(key, ' ') + 1) AS ident
      FROM unnest(keys) key
), n AS (
    SELECT k.kind, k.ident, parse_ident(k.ident, false) AS names FROM k WHERE k.kind <> 'extension'
), owners AS (
    SELECT n.kind,
           CASE WHEN n.kind IN ('column', 'constraint', 'trigger', 'policy', 'rule')
                THEN quote_ident(n.names[1]) || '.' || quote_ident(n.names[2])
                WHEN n.kind IN ('function', 'procedure', 'aggregate')
                THEN quote_ident(n.names[1]) || '.' || quote_ident(n.names[2])
                ELSE n.ident END AS owner
      FROM n
), oids AS (
    -- Looked up in the catalogs, not with to_regclass() / to_regtype(): those raise
    -- "permission denied for schema" when the extension's owner, who runs this and need not
    -- be a superuser, lacks USAGE on the object's schema.
    SELECT o.kind,
           CASE WHEN o.kind NOT IN ('function', 'procedure', 'aggregate', 'type', 'domain', 'schema')
                THEN (SELECT c.oid FROM pg_class c JOIN pg_namespace cn ON cn.oid = c.relnamespace
                       WHERE cn.nspname = o.parts[1] AND c.relname = o.parts[2] AND cardinality(o.parts) = 2) END AS relid,
           CASE WHEN o.kind IN ('type', 'domain', 'constraint')
                THEN (SELECT t.oid FROM pg_type t JOIN pg_namespace tn ON tn.oid = t.typnamespace
                       WHERE tn.nspname = o.parts[1] AND t.typname = o.parts[2] AND cardinality(o.parts) = 2) END AS typid,
           CASE WHEN o.kind = 'schema'
                THEN (SELECT ns.oid FROM pg_namespace ns WHERE ns.nspname = o.parts[1] AND cardinality(o.parts) = 1) END AS nspid,
           CASE WHEN o.kind IN ('function', 'procedure', 'aggregate') THEN o.parts END AS proc
      FROM (SELECT ow.kind, parse_ident(ow.owner) AS parts FROM owners ow) o
)
SELECT migrate.schema_snapshot_of(
           ARRAY(SELECT x.relid FROM oids x WHERE x.relid IS NOT NULL
                 UNION
                 SELECT i.indrelid FROM oids x JOIN pg_index i ON i.indexrelid = x.relid WHERE x.kind = 'index'),
           ARRAY(SELECT x.typid FROM oids x WHERE x.typid IS NOT NULL),
           ARRAY(SELECT x.nspid FROM oids x WHERE x.nspid IS NOT NULL),
           ARRAY(SELECT p.oid FROM oids x
                   JOIN pg_proc p ON p.proname = x.proc[2]
                   JOIN pg_namespace pn ON pn.oid = p.pronamespace AND pn.nspname = x.proc[1]
                  WHERE x.proc IS NOT NULL))
       || coalesce((SELECT jsonb_object_agg('extension ' || quote_ident(e.extname),
                                            jsonb_build_object('version', e.extversion,
                                                               'schema', e.extnamespace::regnamespace::text))
                      FROM k JOIN pg_extension e ON quote_ident(e.extname) = k.ident
                     WHERE k.kind = 'extension' AND e.extname <> 'pg_migrate'), '{}'::jsonb)
$$;

-- migrate.progress: a stopped run shows no worker process id (its worker is gone; the id may
-- be another process's by now, which a monitoring script could cancel).
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

-- Objects an update creates belong to the role that runs it: every member goes back to the
-- extension's owner (as in 0.12.0).
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
