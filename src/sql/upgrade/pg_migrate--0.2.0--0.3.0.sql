-- pg_migrate 0.2.0 -> 0.3.0 (ALTER EXTENSION pg_migrate UPDATE).
-- The result must equal a fresh 0.3.0 install: test/t/020_upgrade.pl compares both.
\echo Use "ALTER EXTENSION pg_migrate UPDATE" to load this file. \quit

-- == drift: the catalog fingerprint proven for the newest snapshot (schema_diff() fast path) ==
-- NULL until the next snapshot is recorded: the first schema_diff() after the update compares
-- whole snapshots as 0.2.0 did.
ALTER TABLE migrate.catalog_state ADD COLUMN snapshot_id bigint, ADD COLUMN snapshot_fingerprint bigint;
-- A fresh install records its first snapshot through this function (CREATE EXTENSION only).
CREATE FUNCTION migrate.record_install_snapshot() RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_record_install_snapshot' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.record_install_snapshot() FROM PUBLIC;
-- True when no catalog row changed since the newest snapshot was recorded (its catalog
-- fingerprint, migrate.catalog_state, is the live one): schema_diff() is then empty without
-- taking a snapshot. False when something changed or the proof is missing.
CREATE FUNCTION migrate.schema_unchanged() RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_schema_unchanged' LANGUAGE C VOLATILE;

-- == drift: the refresh after apply/revert also takes afresh what prints a touched table's or
-- type's columns elsewhere (aliased views, USING joins, SRF views, policies, defaults, checks,
-- BEGIN ATOMIC bodies).
CREATE OR REPLACE FUNCTION migrate.snapshot_touched(classids oid[], objids oid[], rel_names text[],
                                         type_names text[], nsp_names text[], proc_names text[])
    RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
WITH RECURSIVE touched(classid, objid) AS (
    SELECT * FROM unnest(classids, objids)
), base_rels(oid) AS (
    SELECT t.objid FROM touched t WHERE t.classid = 'pg_class'::regclass
    UNION SELECT i.indrelid FROM touched t JOIN pg_index i ON i.indexrelid = t.objid
     WHERE t.classid = 'pg_class'::regclass
    UNION SELECT co.conrelid FROM touched t JOIN pg_constraint co ON co.oid = t.objid
     WHERE t.classid = 'pg_constraint'::regclass AND co.conrelid <> 0
    UNION SELECT tg.tgrelid FROM touched t JOIN pg_trigger tg ON tg.oid = t.objid
     WHERE t.classid = 'pg_trigger'::regclass
    UNION SELECT po.polrelid FROM touched t JOIN pg_policy po ON po.oid = t.objid
     WHERE t.classid = 'pg_policy'::regclass
    UNION SELECT rw.ev_class FROM touched t JOIN pg_rewrite rw ON rw.oid = t.objid
     WHERE t.classid = 'pg_rewrite'::regclass
    UNION SELECT ad.adrelid FROM touched t JOIN pg_attrdef ad ON ad.oid = t.objid
     WHERE t.classid = 'pg_attrdef'::regclass
    UNION SELECT ty.typrelid FROM touched t JOIN pg_type ty ON ty.oid = t.objid
     WHERE t.classid = 'pg_type'::regclass AND ty.typrelid <> 0
    UNION SELECT c.oid FROM touched t   -- typed tables (CREATE TABLE ... OF type) of a touched type
      JOIN pg_depend dep ON dep.refclassid = 'pg_type'::regclass AND dep.refobjid = t.objid
                        AND dep.classid = 'pg_class'::regclass
      JOIN pg_class c ON c.oid = dep.objid AND c.reloftype = t.objid
     WHERE t.classid = 'pg_type'::regclass
    UNION SELECT to_regclass(n)::oid FROM unnest(rel_names) n
), down(oid) AS (
    SELECT b.oid FROM base_rels b WHERE b.oid IS NOT NULL
    UNION SELECT i.inhrelid FROM pg_inherits i JOIN down d ON i.inhparent = d.oid
), touched_types(oid) AS (
    SELECT t.objid FROM touched t WHERE t.classid = 'pg_type'::regclass
    UNION SELECT to_regtype(n)::oid FROM unnest(type_names) n
    UNION SELECT c.reltype FROM down d JOIN pg_class c ON c.oid = d.oid
), printed(classid, objid) AS (
    -- Stored expressions that print a touched relation's or type's columns (a view's column
    -- aliases, a set-returning function's column list, a policy, a rule, a default, a check, a
    -- BEGIN ATOMIC body): adding or dropping a column reprints them. Also through functions
    -- that return a touched type.
    SELECT dep.classid, dep.objid FROM down d
      JOIN pg_depend dep ON dep.refclassid = 'pg_class'::regclass AND dep.refobjid = d.oid AND dep.deptype = 'n'
    UNION SELECT dep.classid, dep.objid FROM touched_types tt
      JOIN pg_depend dep ON dep.refclassid = 'pg_type'::regclass AND dep.refobjid = tt.oid AND dep.deptype = 'n'
    UNION SELECT dep.classid, dep.objid FROM touched_types tt JOIN pg_proc p ON p.prorettype = tt.oid
      JOIN pg_depend dep ON dep.refclassid = 'pg_proc'::regclass AND dep.refobjid = p.oid AND dep.deptype = 'n'
), rels(oid) AS (
    SELECT d.oid FROM down d
    UNION SELECT i.inhparent FROM pg_inherits i JOIN down d ON i.inhrelid = d.oid
    UNION SELECT dep.objid FROM pg_depend dep JOIN down d ON dep.refobjid = d.oid
     WHERE dep.refclassid = 'pg_class'::regclass AND dep.classid = 'pg_class'::regclass
       AND dep.deptype IN ('a', 'i')
    UNION SELECT rw.ev_class FROM printed pr JOIN pg_rewrite rw ON rw.oid = pr.objid
     WHERE pr.classid = 'pg_rewrite'::regclass
    UNION SELECT po.polrelid FROM printed pr JOIN pg_policy po ON po.oid = pr.objid
     WHERE pr.classid = 'pg_policy'::regclass
    UNION SELECT ad.adrelid FROM printed pr JOIN pg_attrdef ad ON ad.oid = pr.objid
     WHERE pr.classid = 'pg_attrdef'::regclass
    UNION SELECT co.conrelid FROM printed pr JOIN pg_constraint co ON co.oid = pr.objid
     WHERE pr.classid = 'pg_constraint'::regclass AND co.conrelid <> 0
    UNION SELECT tg.tgrelid FROM printed pr JOIN pg_trigger tg ON tg.oid = pr.objid
     WHERE pr.classid = 'pg_trigger'::regclass
), types(oid) AS (
    SELECT t.objid FROM touched t WHERE t.classid = 'pg_type'::regclass
    UNION SELECT co.contypid FROM touched t JOIN pg_constraint co ON co.oid = t.objid
     WHERE t.classid = 'pg_constraint'::regclass AND co.contypid <> 0
    UNION SELECT c.reltype FROM rels r JOIN pg_class c ON c.oid = r.oid WHERE c.relkind = 'c'
    UNION SELECT to_regtype(n)::oid FROM unnest(type_names) n
), nsps(oid) AS (
    SELECT t.objid FROM touched t WHERE t.classid = 'pg_namespace'::regclass
    UNION SELECT to_regnamespace(n)::oid FROM unnest(nsp_names) n
), procs(oid) AS (
    SELECT t.objid FROM touched t WHERE t.classid = 'pg_proc'::regclass
    UNION SELECT pr.objid FROM printed pr WHERE pr.classid = 'pg_proc'::regclass
    UNION SELECT p.oid FROM unnest(proc_names) n
      JOIN pg_proc p ON p.proname = (parse_ident(n))[2]
      JOIN pg_namespace pn ON pn.oid = p.pronamespace AND pn.nspname = (parse_ident(n))[1]
)
SELECT migrate.schema_snapshot_of(ARRAY(SELECT oid FROM rels WHERE oid IS NOT NULL),
                                  ARRAY(SELECT oid FROM types WHERE oid IS NOT NULL),
                                  ARRAY(SELECT oid FROM nsps WHERE oid IS NOT NULL),
                                  ARRAY(SELECT oid FROM procs WHERE oid IS NOT NULL))
$$;
