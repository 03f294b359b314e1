-- pg_migrate 0.13.0 -> 0.14.0: migrate.snapshot_diff() refuses an argument that is not a
-- snapshot (a jsonb array, string, number or null) by name; the ddl_command_start trigger
-- fires only for the command tags it has something to note for; the applied mark of a
-- migration is a HOT update.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.14.0'" to load this file. \quit
-- Marking a migration applied or reverted updates its row: without an index on applied_seq
-- (apply reads the pending rows from the whole table) and with room on each page, the update
-- is HOT, as in a fresh install. Rows written before keep their pages until updated.
DROP INDEX migrate.migrations_pending;
ALTER TABLE migrate.migrations SET (fillfactor = 50);
-- It was PostgreSQL's "cannot call jsonb_each on a non-object", naming neither the function
-- nor the argument.
CREATE OR REPLACE FUNCTION migrate.snapshot_diff(before jsonb, after jsonb)
    RETURNS TABLE(object text, change text, detail text)
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
#variable_conflict use_column
BEGIN
    IF jsonb_typeof(before) <> 'object' OR jsonb_typeof(after) <> 'object' THEN
        RAISE EXCEPTION 'snapshot_diff() argument % must be a snapshot (a jsonb object), not a jsonb %',
                        CASE WHEN jsonb_typeof(before) <> 'object' THEN 'before' ELSE 'after' END,
                        CASE WHEN jsonb_typeof(before) <> 'object' THEN jsonb_typeof(before) ELSE jsonb_typeof(after) END
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Compare values of migrate.schema_snapshot() or migrate.recorded_snapshot(id); NULL counts as an empty schema.';
    END IF;
    RETURN QUERY
    SELECT coalesce(a.key, b.key) AS object,
           CASE WHEN b.key IS NULL THEN 'added' WHEN a.key IS NULL THEN 'removed' ELSE 'changed' END AS change,
           CASE WHEN b.key IS NULL THEN a.value::text
                WHEN a.key IS NULL THEN b.value::text
                ELSE (SELECT string_agg(format('%s: %s -> %s', coalesce(na.key, ob.key),
                                               coalesce(ob.value::text, 'null'), coalesce(na.value::text, 'null')),
                                        '; ' ORDER BY coalesce(na.key, ob.key))
                        FROM jsonb_each(CASE WHEN jsonb_typeof(b.value) = 'object' THEN b.value
                                             ELSE jsonb_build_object('value', b.value) END) ob
                        FULL JOIN jsonb_each(CASE WHEN jsonb_typeof(a.value) = 'object' THEN a.value
                                                  ELSE jsonb_build_object('value', a.value) END) na
                          ON na.key = ob.key
                       WHERE na.value IS DISTINCT FROM ob.value) END AS detail
      FROM jsonb_each(coalesce(before, '{}'::jsonb)) b
      FULL JOIN jsonb_each(coalesce(after, '{}'::jsonb)) a ON a.key = b.key
     WHERE a.value IS DISTINCT FROM b.value
     ORDER BY 1;
END
$$;

-- Objects an update creates belong to the role that runs it: every member goes back to the
-- extension's owner (as in 0.13.0).
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

-- The ddl_command_start trigger, with the tags it fires for (event triggers cannot be altered
-- to add them).
DROP EVENT TRIGGER migrate_drift_start;
-- ddl_command_start fires only where it has something to do (drift_capture.cpp,
-- pgm_drift_capture_start): every DROP (which extension members, which index's table), CREATE
-- EXTENSION (the extensions before its CASCADE), the ALTER TABLE family (in a migration, what
-- the relation had), and the statements that run user code (a session's first one loads the
-- library, and so the hook, for the DDL that code runs). An event trigger that fires costs a
-- function call even with nothing to do.
CREATE EVENT TRIGGER migrate_drift_start ON ddl_command_start
    WHEN TAG IN (
        'ALTER DOMAIN', 'ALTER FOREIGN TABLE', 'ALTER INDEX', 'ALTER MATERIALIZED VIEW',
        'ALTER SEQUENCE', 'ALTER TABLE', 'ALTER TYPE', 'ALTER VIEW', 'CREATE EXTENSION',
        'CREATE INDEX', 'CREATE MATERIALIZED VIEW', 'CREATE TABLE AS', 'DROP ACCESS METHOD',
        'DROP AGGREGATE', 'DROP CAST', 'DROP COLLATION', 'DROP CONVERSION', 'DROP DOMAIN',
        'DROP EXTENSION', 'DROP FOREIGN DATA WRAPPER', 'DROP FOREIGN TABLE', 'DROP FUNCTION',
        'DROP INDEX', 'DROP LANGUAGE', 'DROP MATERIALIZED VIEW', 'DROP OPERATOR',
        'DROP OPERATOR CLASS', 'DROP OPERATOR FAMILY', 'DROP OWNED', 'DROP POLICY',
        'DROP PROCEDURE', 'DROP PUBLICATION', 'DROP ROUTINE', 'DROP RULE', 'DROP SCHEMA',
        'DROP SEQUENCE', 'DROP SERVER', 'DROP STATISTICS', 'DROP SUBSCRIPTION', 'DROP TABLE',
        'DROP TEXT SEARCH CONFIGURATION', 'DROP TEXT SEARCH DICTIONARY', 'DROP TEXT SEARCH PARSER',
        'DROP TEXT SEARCH TEMPLATE', 'DROP TRANSFORM', 'DROP TRIGGER', 'DROP TYPE',
        'DROP USER MAPPING', 'DROP VIEW', 'SELECT INTO')
    EXECUTE FUNCTION migrate.drift_capture_start();
ALTER EVENT TRIGGER migrate_drift_start ENABLE ALWAYS;
