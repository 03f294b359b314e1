-- pg_migrate 0.4.0 -> 0.5.0: snapshot entries of relations built in C; migrate.sync_confirm().
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.5.0'" to load this file. \quit

-- The snapshot entries of relations (table, view, materialized_view, sequence) and of their
-- columns, constraints and indexes, built in C from the system caches
-- (drift_relation_entries.cpp), in the format 0.4.0's SQL wrote them: snapshots recorded
-- before the update compare equal.
CREATE FUNCTION migrate.relation_entries(rels oid[], OUT key text, OUT entry jsonb) RETURNS SETOF record
    AS 'MODULE_PATHNAME', 'pgm_relation_entries' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;

-- The two snapshot functions take those entries from it (their other parts are unchanged).
CREATE OR REPLACE FUNCTION migrate.schema_snapshot() RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
WITH ext AS (
    SELECT d.classid, d.objid FROM pg_depend d WHERE d.deptype = 'e'
), nsp AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl, quote_ident(n.nspname) AS q
      FROM pg_namespace n
     WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'migrate')
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_namespace'::regclass AND ext.objid = n.oid)
), rel AS (
    SELECT c.oid, c.relkind, c.relowner, c.relacl, c.relpersistence, c.relrowsecurity,
           c.relforcerowsecurity, c.reloptions, c.relispartition, c.relreplident,
           n.q || '.' || quote_ident(c.relname) AS q
      FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c')
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
), entries(k, v) AS (
    SELECT 'schema ' || n.q,
           jsonb_build_object('owner', pg_get_userbyid(n.nspowner),
                              'acl', (SELECT array_agg(a::text ORDER BY a::text)
                                        FROM unnest(coalesce(n.nspacl, acldefault('n', n.nspowner))) a),
                              'comment', ds.description)
      FROM nsp n
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_namespace'::regclass AND ds.objoid = n.oid AND ds.objsubid = 0
    UNION ALL
    SELECT 'extension ' || quote_ident(e.extname),
           jsonb_build_object('version', e.extversion, 'schema', e.extnamespace::regnamespace::text)
      FROM pg_extension e WHERE e.extname <> 'pg_migrate'
    UNION ALL
    -- relations with their columns, constraints and indexes (drift_relation_entries.cpp)
    SELECT e.key, e.entry FROM migrate.relation_entries(ARRAY(SELECT r.oid FROM rel r)) e
    UNION ALL
    -- domain constraints (a relation's constraints come with the relation)
    SELECT 'constraint ' || ty.q || '.' || quote_ident(co.conname),
           jsonb_build_object(
               'type', CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                                       WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger'
                                       ELSE co.contype::text END,
               'definition', pg_get_constraintdef(co.oid),
               'domain', true,
               'comment', ds.description)
      FROM pg_constraint co
      JOIN (SELECT t.oid, n.q || '.' || quote_ident(t.typname) AS q
              FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace
             WHERE t.typtype = 'd'
               AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)) ty
        ON ty.oid = co.contypid AND co.contypid <> 0
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_constraint'::regclass AND ds.objoid = co.oid AND ds.objsubid = 0
     WHERE co.conrelid = 0 AND co.conparentid = 0
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
               || n.q || '.' || quote_ident(p.proname) || '(' || oidvectortypes(p.proargtypes) || ')',
           jsonb_build_object(
               'arguments', pg_get_function_arguments(p.oid),
               'result', CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END,
               'language', l.lanname,
               'window', CASE WHEN p.prokind = 'w' THEN true END,
               'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
               'strict', p.proisstrict,
               'security_definer', p.prosecdef,
               'leakproof', CASE WHEN p.proleakproof THEN true END,
               'parallel', CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
               'config', (SELECT array_agg(x ORDER BY x) FROM unnest(p.proconfig) x),
               'cost', p.procost,
               'rows', CASE WHEN p.proretset THEN p.prorows END,
               'body_md5', md5(coalesce(p.prosrc, '') || '|' || coalesce(p.probin, '') || '|' ||
                               coalesce(CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END, '')),
               'owner', pg_get_userbyid(p.proowner),
               'acl', (SELECT array_agg(x::text ORDER BY x::text)
                         FROM unnest(coalesce(p.proacl, acldefault('f', p.proowner))) x),
               'comment', ds.description)
      FROM pg_proc p
      JOIN nsp n ON n.oid = p.pronamespace
      JOIN pg_language l ON l.oid = p.prolang
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_proc'::regclass AND ds.objoid = p.oid AND ds.objsubid = 0
     WHERE NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)
       -- constructors created with a range type belong to the type
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'i')
    UNION ALL
    SELECT 'trigger ' || r.q || '.' || quote_ident(tg.tgname),
           jsonb_build_object('definition', pg_get_triggerdef(tg.oid),
                              'enabled', CASE tg.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled'
                                                           WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
                              'comment', ds.description)
      FROM pg_trigger tg
      JOIN rel r ON r.oid = tg.tgrelid
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_trigger'::regclass AND ds.objoid = tg.oid AND ds.objsubid = 0
     WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
    UNION ALL
    SELECT 'policy ' || r.q || '.' || quote_ident(po.polname),
           jsonb_build_object(
               'command', CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                         WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
               'permissive', po.polpermissive,
               'roles', (SELECT array_agg(x.name ORDER BY x.name)
                           FROM (SELECT CASE WHEN ro = 0 THEN 'public' ELSE pg_get_userbyid(ro)::text END AS name
                                   FROM unnest(po.polroles) ro) x),
               'using', pg_get_expr(po.polqual, po.polrelid),
               'with_check', pg_get_expr(po.polwithcheck, po.polrelid))
      FROM pg_policy po JOIN rel r ON r.oid = po.polrelid
    UNION ALL
    SELECT 'rule ' || r.q || '.' || quote_ident(rw.rulename),
           jsonb_build_object('definition', pg_get_ruledef(rw.oid),
                              'enabled', CASE WHEN rw.ev_enabled <> 'O' THEN rw.ev_enabled::text END)
      FROM pg_rewrite rw JOIN rel r ON r.oid = rw.ev_class
     WHERE rw.rulename <> '_RETURN'
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || n.q || '.' || quote_ident(t.typname),
           jsonb_build_object(
               'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'composite' WHEN 'd' THEN 'domain'
                                      WHEN 'r' THEN 'range' WHEN 'b' THEN 'base' WHEN 'p' THEN 'pseudo'
                                      ELSE t.typtype::text END,
               'labels', CASE WHEN t.typtype = 'e' THEN
                             (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
                               WHERE e.enumtypid = t.oid) END,
               'attributes', CASE WHEN t.typtype = 'c' THEN
                                 (SELECT jsonb_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                                   ORDER BY a.attnum)
                                    FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                                     AND NOT a.attisdropped) END,
               'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
               'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
               'default', t.typdefault,
               'subtype', CASE WHEN t.typtype = 'r' THEN
                              (SELECT format_type(rg.rngsubtype, NULL) FROM pg_range rg WHERE rg.rngtypid = t.oid) END,
               'input', CASE WHEN t.typtype = 'b' THEN t.typinput::regproc::text END,
               'owner', pg_get_userbyid(t.typowner),
               'acl', (SELECT array_agg(x::text ORDER BY x::text)
                         FROM unnest(coalesce(t.typacl, acldefault('T', t.typowner))) x),
               'comment', ds.description)
      FROM pg_type t
      JOIN nsp n ON n.oid = t.typnamespace
      LEFT JOIN pg_class tc ON tc.oid = t.typrelid
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_type'::regclass AND ds.objoid = t.oid AND ds.objsubid = 0
     WHERE t.typtype IN ('e', 'c', 'd', 'r', 'b')
       AND (t.typtype <> 'c' OR tc.relkind = 'c')
       AND NOT (t.typelem <> 0 AND t.typlen = -1 AND t.typtype = 'b')  -- implicit array types
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = t.typrelid)
)
SELECT coalesce(jsonb_object_agg(e.k, jsonb_strip_nulls(e.v)), '{}'::jsonb) FROM entries e
$$;

CREATE OR REPLACE FUNCTION migrate.schema_snapshot_of(rels oid[], types oid[], nsps oid[], procs oid[]) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
WITH nsp AS (
    SELECT n.oid, n.nspname, n.nspowner, n.nspacl, quote_ident(n.nspname) AS q
      FROM pg_namespace n
     WHERE n.nspname !~ '^pg_' AND n.nspname NOT IN ('information_schema', 'migrate')
       AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_namespace'::regclass AND ext.objid = n.oid AND ext.deptype = 'e')
), rel AS (
    SELECT c.oid, c.relkind, c.relowner, c.relacl, c.relpersistence, c.relrowsecurity,
           c.relforcerowsecurity, c.reloptions, c.relispartition, c.relreplident,
           n.q || '.' || quote_ident(c.relname) AS q
      FROM pg_class c JOIN nsp n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c') AND c.oid = ANY(rels)
       AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid AND ext.deptype = 'e')
), entries(k, v) AS (
    SELECT 'schema ' || n.q,
           jsonb_build_object('owner', pg_get_userbyid(n.nspowner),
                              'acl', (SELECT array_agg(a::text ORDER BY a::text)
                                        FROM unnest(coalesce(n.nspacl, acldefault('n', n.nspowner))) a),
                              'comment', ds.description)
      FROM nsp n
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_namespace'::regclass AND ds.objoid = n.oid AND ds.objsubid = 0
     WHERE n.oid = ANY(nsps)
    UNION ALL
    SELECT 'extension ' || quote_ident(e.extname),
           jsonb_build_object('version', e.extversion, 'schema', e.extnamespace::regnamespace::text)
      FROM pg_extension e WHERE e.extname <> 'pg_migrate' AND false  -- extensions: always a whole snapshot
    UNION ALL
    -- relations with their columns, constraints and indexes (drift_relation_entries.cpp)
    SELECT e.key, e.entry FROM migrate.relation_entries(ARRAY(SELECT r.oid FROM rel r)) e
    UNION ALL
    -- domain constraints (a relation's constraints come with the relation)
    SELECT 'constraint ' || ty.q || '.' || quote_ident(co.conname),
           jsonb_build_object(
               'type', CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                                       WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger'
                                       ELSE co.contype::text END,
               'definition', pg_get_constraintdef(co.oid),
               'domain', true,
               'comment', ds.description)
      FROM unnest(types) u(oid)
      JOIN pg_constraint co ON co.conrelid = 0 AND co.contypid = u.oid
      JOIN (SELECT t.oid, n.q || '.' || quote_ident(t.typname) AS q
              FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace
             WHERE t.typtype = 'd' AND t.oid = ANY(types)
               AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid AND ext.deptype = 'e')) ty
        ON ty.oid = co.contypid
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_constraint'::regclass AND ds.objoid = co.oid AND ds.objsubid = 0
     WHERE co.conparentid = 0
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure ' WHEN 'a' THEN 'aggregate ' ELSE 'function ' END
               || n.q || '.' || quote_ident(p.proname) || '(' || oidvectortypes(p.proargtypes) || ')',
           jsonb_build_object(
               'arguments', pg_get_function_arguments(p.oid),
               'result', CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END,
               'language', l.lanname,
               'window', CASE WHEN p.prokind = 'w' THEN true END,
               'volatility', CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable' ELSE 'volatile' END,
               'strict', p.proisstrict,
               'security_definer', p.prosecdef,
               'leakproof', CASE WHEN p.proleakproof THEN true END,
               'parallel', CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
               'config', (SELECT array_agg(x ORDER BY x) FROM unnest(p.proconfig) x),
               'cost', p.procost,
               'rows', CASE WHEN p.proretset THEN p.prorows END,
               'body_md5', md5(coalesce(p.prosrc, '') || '|' || coalesce(p.probin, '') || '|' ||
                               coalesce(CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END, '')),
               'owner', pg_get_userbyid(p.proowner),
               'acl', (SELECT array_agg(x::text ORDER BY x::text)
                         FROM unnest(coalesce(p.proacl, acldefault('f', p.proowner))) x),
               'comment', ds.description)
      FROM pg_proc p
      JOIN nsp n ON n.oid = p.pronamespace
      JOIN pg_language l ON l.oid = p.prolang
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_proc'::regclass AND ds.objoid = p.oid AND ds.objsubid = 0
     WHERE p.oid = ANY(procs) AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid AND ext.deptype = 'e')
       -- constructors created with a range type belong to the type
       AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                          AND d.refclassid = 'pg_type'::regclass AND d.deptype = 'i')
    UNION ALL
    SELECT 'trigger ' || r.q || '.' || quote_ident(tg.tgname),
           jsonb_build_object('definition', pg_get_triggerdef(tg.oid),
                              'enabled', CASE tg.tgenabled WHEN 'O' THEN 'origin' WHEN 'D' THEN 'disabled'
                                                           WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END,
                              'comment', ds.description)
      FROM pg_trigger tg
      JOIN rel r ON r.oid = tg.tgrelid
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_trigger'::regclass AND ds.objoid = tg.oid AND ds.objsubid = 0
     WHERE NOT tg.tgisinternal AND tg.tgparentid = 0
    UNION ALL
    SELECT 'policy ' || r.q || '.' || quote_ident(po.polname),
           jsonb_build_object(
               'command', CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                         WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
               'permissive', po.polpermissive,
               'roles', (SELECT array_agg(x.name ORDER BY x.name)
                           FROM (SELECT CASE WHEN ro = 0 THEN 'public' ELSE pg_get_userbyid(ro)::text END AS name
                                   FROM unnest(po.polroles) ro) x),
               'using', pg_get_expr(po.polqual, po.polrelid),
               'with_check', pg_get_expr(po.polwithcheck, po.polrelid))
      FROM pg_policy po JOIN rel r ON r.oid = po.polrelid
    UNION ALL
    SELECT 'rule ' || r.q || '.' || quote_ident(rw.rulename),
           jsonb_build_object('definition', pg_get_ruledef(rw.oid),
                              'enabled', CASE WHEN rw.ev_enabled <> 'O' THEN rw.ev_enabled::text END)
      FROM pg_rewrite rw JOIN rel r ON r.oid = rw.ev_class
     WHERE rw.rulename <> '_RETURN'
    UNION ALL
    SELECT CASE t.typtype WHEN 'd' THEN 'domain ' ELSE 'type ' END || n.q || '.' || quote_ident(t.typname),
           jsonb_build_object(
               'kind', CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'c' THEN 'composite' WHEN 'd' THEN 'domain'
                                      WHEN 'r' THEN 'range' WHEN 'b' THEN 'base' WHEN 'p' THEN 'pseudo'
                                      ELSE t.typtype::text END,
               'labels', CASE WHEN t.typtype = 'e' THEN
                             (SELECT jsonb_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
                               WHERE e.enumtypid = t.oid) END,
               'attributes', CASE WHEN t.typtype = 'c' THEN
                                 (SELECT jsonb_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                                                   ORDER BY a.attnum)
                                    FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0
                                     AND NOT a.attisdropped) END,
               'base_type', CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
               'not_null', CASE WHEN t.typtype = 'd' THEN t.typnotnull END,
               'default', t.typdefault,
               'subtype', CASE WHEN t.typtype = 'r' THEN
                              (SELECT format_type(rg.rngsubtype, NULL) FROM pg_range rg WHERE rg.rngtypid = t.oid) END,
               'input', CASE WHEN t.typtype = 'b' THEN t.typinput::regproc::text END,
               'owner', pg_get_userbyid(t.typowner),
               'acl', (SELECT array_agg(x::text ORDER BY x::text)
                         FROM unnest(coalesce(t.typacl, acldefault('T', t.typowner))) x),
               'comment', ds.description)
      FROM pg_type t
      JOIN nsp n ON n.oid = t.typnamespace
      LEFT JOIN pg_class tc ON tc.oid = t.typrelid
      LEFT JOIN pg_description ds ON ds.classoid = 'pg_type'::regclass AND ds.objoid = t.oid AND ds.objsubid = 0
     WHERE t.typtype IN ('e', 'c', 'd', 'r', 'b') AND t.oid = ANY(types)
       AND (t.typtype <> 'c' OR tc.relkind = 'c')
       AND NOT (t.typelem <> 0 AND t.typlen = -1 AND t.typtype = 'b')  -- implicit array types
       AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid AND ext.deptype = 'e')
       AND NOT EXISTS (SELECT FROM pg_depend ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = t.typrelid AND ext.deptype = 'e')
)
SELECT coalesce(jsonb_object_agg(e.k, jsonb_strip_nulls(e.v)), '{}'::jsonb) FROM entries e
$$;

-- After migrate.sync() registered a folder with migrations pending and apply applied them (in
-- the same transaction): records that folder as in sync without its files being sent and
-- compared again, if nothing is pending now and nothing but applies changed the catalog since
-- the sync. False (nothing recorded) otherwise: then migrate.sync() records it.
CREATE FUNCTION migrate.sync_confirm(digest text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_sync_confirm' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.sync_confirm(text) FROM PUBLIC;

-- The update rewrote catalog rows (these functions), so the proof recorded before it no longer
-- holds: forget it; the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
