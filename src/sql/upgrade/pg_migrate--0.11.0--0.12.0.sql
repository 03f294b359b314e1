-- pg_migrate 0.11.0 -> 0.12.0: migrate.check_callback(), the checks of migrate.run_callback()
-- without running anything, for pg_migrate apply --dry-run.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.12.0'" to load this file. \quit

-- A dry run checked callbacks in the client (the no-transaction directive, a few lint rules,
-- the session's lint_blocks_apply): it passed a callback split by COMMIT, and one the DBA's
-- policy blocks, that apply refuses. The server's own checks now.
CREATE FUNCTION migrate.check_callback(event text, script text, file text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_check_callback' LANGUAGE C VOLATILE;

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
