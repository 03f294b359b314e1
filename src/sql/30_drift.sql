-- Drift: a canonical schema snapshot, snapshot diffs, recorded snapshots, the drift log fed by
-- event triggers, exclusions and acknowledgements (README "Drift").

-- The canonical description of the user schemas as one jsonb object keyed by
-- "<kind> <identity>" (identities are schema-qualified, quote_ident'ed names):
--   schema s, extension e, table s.t, column s.t.c, constraint s.t.c (also domain
--   constraints: s.domain.c), index s.i, view s.v, materialized_view s.m, sequence s.q,
--   function|procedure|aggregate s.f(identity args), trigger s.t.g, policy s.t.p, rule s.t.r,
--   type s.t, domain s.d.
-- Values are objects of the entry's attributes (nulls stripped). OIDs never appear; the
-- extension's own objects, extension members, system and temporary schemas are left out.
CREATE FUNCTION migrate.schema_snapshot() RETURNS jsonb
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
), descr AS NOT MATERIALIZED (  -- inlined: each join uses pg_description's index
    SELECT d.classoid, d.objoid, d.objsubid, d.description FROM pg_description d
), entries(k, v) AS (
    SELECT 'schema ' || n.q,
           jsonb_build_object('owner', pg_get_userbyid(n.nspowner),
                              'acl', (SELECT array_agg(a::text ORDER BY a::text)
                                        FROM unnest(coalesce(n.nspacl, acldefault('n', n.nspowner))) a),
                              'comment', ds.description)
      FROM nsp n
      LEFT JOIN descr ds ON ds.classoid = 'pg_namespace'::regclass AND ds.objoid = n.oid AND ds.objsubid = 0
    UNION ALL
    SELECT 'extension ' || quote_ident(e.extname),
           jsonb_build_object('version', e.extversion, 'schema', e.extnamespace::regnamespace::text)
      FROM pg_extension e WHERE e.extname <> 'pg_migrate'
    UNION ALL
    SELECT CASE r.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized_view '
                          WHEN 'S' THEN 'sequence ' ELSE 'table ' END || r.q,
           jsonb_build_object(
               'kind', CASE r.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                                      WHEN 'f' THEN 'foreign table' WHEN 'v' THEN 'view'
                                      WHEN 'm' THEN 'materialized view' WHEN 'S' THEN 'sequence' END,
               'owner', pg_get_userbyid(r.relowner),
               'acl', (SELECT array_agg(a::text ORDER BY a::text)
                         FROM unnest(coalesce(r.relacl, acldefault((CASE r.relkind WHEN 'S' THEN 's' ELSE 'r' END)::"char",
                                                                   r.relowner))) a),
               'unlogged', CASE WHEN r.relpersistence = 'u' THEN true END,
               'row_security', CASE WHEN r.relrowsecurity THEN true END,
               'force_row_security', CASE WHEN r.relforcerowsecurity THEN true END,
               'replica_identity', CASE WHEN r.relreplident <> 'd' AND r.relkind IN ('r', 'p') THEN r.relreplident::text END,
               'options', (SELECT array_agg(o ORDER BY o) FROM unnest(r.reloptions) o),
               'definition', CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(r.oid) END,
               'partition_key', CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(r.oid) END,
               'partition_of', (SELECT p.q FROM pg_inherits i JOIN rel p ON p.oid = i.inhparent
                                 WHERE i.inhrelid = r.oid AND r.relispartition),
               'partition_bound', CASE WHEN r.relispartition THEN
                                      (SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.oid = r.oid) END,
               'inherits', (SELECT array_agg(p.q ORDER BY i.inhseqno) FROM pg_inherits i JOIN rel p ON p.oid = i.inhparent
                             WHERE i.inhrelid = r.oid AND NOT r.relispartition),
               'sequence', (SELECT jsonb_build_object('type', format_type(s.seqtypid, NULL), 'start', s.seqstart,
                                                      'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax,
                                                      'cache', s.seqcache, 'cycle', s.seqcycle)
                              FROM pg_sequence s WHERE s.seqrelid = r.oid),
               'owned_by', CASE WHEN r.relkind = 'S' THEN
                               (SELECT t.q || '.' || quote_ident(a.attname)
                                  FROM pg_depend d JOIN rel t ON t.oid = d.refobjid
                                  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid
                                   AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                                   AND d.deptype IN ('a', 'i') LIMIT 1) END,
               'comment', ds.description)
      FROM rel r
      LEFT JOIN descr ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = r.oid AND ds.objsubid = 0
     WHERE r.relkind <> 'c'
    UNION ALL
    SELECT 'column ' || r.q || '.' || quote_ident(a.attname),
           jsonb_build_object(
               'type', format_type(a.atttypid, a.atttypmod),
               'not_null', a.attnotnull,
               'default', pg_get_expr(ad.adbin, ad.adrelid),
               'identity', CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
               'generated', CASE a.attgenerated WHEN 's' THEN 'stored' END,
               'collation', CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
                                (SELECT quote_ident(co.collname) FROM pg_collation co WHERE co.oid = a.attcollation) END,
               'acl', CASE WHEN a.attacl IS NOT NULL THEN
                          (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x) END,
               'comment', ds.description)
      FROM rel r
      JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      LEFT JOIN descr ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = r.oid AND ds.objsubid = a.attnum
     WHERE r.relkind IN ('r', 'p', 'f')
    UNION ALL
    SELECT 'constraint ' || coalesce(r.q, ty.q) || '.' || quote_ident(co.conname),
           jsonb_build_object(
               'type', CASE co.contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique' WHEN 'f' THEN 'foreign key'
                                       WHEN 'c' THEN 'check' WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger'
                                       ELSE co.contype::text END,
               'definition', pg_get_constraintdef(co.oid),
               'domain', CASE WHEN ty.q IS NOT NULL THEN true END,
               'comment', ds.description)
      FROM pg_constraint co
      LEFT JOIN rel r ON r.oid = co.conrelid AND co.conrelid <> 0
      LEFT JOIN (SELECT t.oid, n.q || '.' || quote_ident(t.typname) AS q
                   FROM pg_type t JOIN nsp n ON n.oid = t.typnamespace
                  WHERE t.typtype = 'd'
                    AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)) ty
             ON ty.oid = co.contypid AND co.contypid <> 0
      LEFT JOIN descr ds ON ds.classoid = 'pg_constraint'::regclass AND ds.objoid = co.oid AND ds.objsubid = 0
     WHERE (r.oid IS NOT NULL OR ty.oid IS NOT NULL) AND co.conparentid = 0
    UNION ALL
    SELECT 'index ' || n.q || '.' || quote_ident(ic.relname),
           jsonb_build_object(
               'table', r.q,
               'definition', pg_get_indexdef(i.indexrelid),
               'constraint', CASE WHEN EXISTS (SELECT FROM pg_constraint co WHERE co.conindid = i.indexrelid
                                                  AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))
                                  THEN true END,
               'clustered', CASE WHEN i.indisclustered THEN true END,
               'valid', CASE WHEN NOT i.indisvalid THEN false END,
               'comment', ds.description)
      FROM pg_index i
      JOIN rel r ON r.oid = i.indrelid
      JOIN pg_class ic ON ic.oid = i.indexrelid
      JOIN nsp n ON n.oid = ic.relnamespace
      LEFT JOIN descr ds ON ds.classoid = 'pg_class'::regclass AND ds.objoid = i.indexrelid AND ds.objsubid = 0
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
      LEFT JOIN descr ds ON ds.classoid = 'pg_proc'::regclass AND ds.objoid = p.oid AND ds.objsubid = 0
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
      LEFT JOIN descr ds ON ds.classoid = 'pg_trigger'::regclass AND ds.objoid = tg.oid AND ds.objsubid = 0
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
      LEFT JOIN descr ds ON ds.classoid = 'pg_type'::regclass AND ds.objoid = t.oid AND ds.objsubid = 0
     WHERE t.typtype IN ('e', 'c', 'd', 'r', 'b')
       AND (t.typtype <> 'c' OR tc.relkind = 'c')
       AND NOT (t.typelem <> 0 AND t.typlen = -1 AND t.typtype = 'b')  -- implicit array types
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_type'::regclass AND ext.objid = t.oid)
       AND NOT EXISTS (SELECT FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = t.typrelid)
)
SELECT coalesce(jsonb_object_agg(e.k, jsonb_strip_nulls(e.v)), '{}'::jsonb) FROM entries e
$$;

COMMENT ON FUNCTION migrate.schema_snapshot() IS
    'Canonical jsonb description of the user schemas, keyed by "<kind> <identity>"';

-- Key-by-key comparison of two snapshots: one row per entry added, removed or changed. For a
-- changed entry, detail lists each attribute that differs as "name: old -> new" (absent
-- attributes read as null); for an added or removed entry it is the entry's attributes.
-- A NULL snapshot counts as empty.
CREATE FUNCTION migrate.snapshot_diff(before jsonb, after jsonb)
    RETURNS TABLE(object text, change text, detail text)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
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
     ORDER BY 1
$$;

COMMENT ON FUNCTION migrate.snapshot_diff(jsonb, jsonb) IS
    'Entries added, removed or changed between two migrate.schema_snapshot() values';

-- Recorded snapshots: one at CREATE EXTENSION and after every apply, revert, baseline and
-- drift acknowledgement; schema_diff() compares the newest with the live schema. Only the
-- newest pg_migrate.drift_snapshots_kept are kept.
CREATE SEQUENCE migrate.schema_snapshots_id_seq;
CREATE TABLE migrate.schema_snapshots (
    id             bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.schema_snapshots_id_seq'),
    taken_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    reason         text NOT NULL CHECK (reason IN ('install', 'apply', 'revert', 'baseline', 'acknowledge')),
    taken_by       text NOT NULL DEFAULT session_user,
    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    snapshot       jsonb NOT NULL
);
ALTER SEQUENCE migrate.schema_snapshots_id_seq OWNED BY migrate.schema_snapshots.id;

-- Reviews of drift: who acknowledged, when, why, and up to which drift id.
CREATE SEQUENCE migrate.drift_acknowledgements_id_seq;
CREATE TABLE migrate.drift_acknowledgements (
    id               bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.drift_acknowledgements_id_seq'),
    acknowledged_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    acknowledged_by  text NOT NULL DEFAULT session_user,   -- session user
    role             text NOT NULL,                        -- current user of the caller
    note             text NOT NULL,
    up_to            bigint,                               -- NULL: all drift at the time
    drift_rows       bigint NOT NULL
);
ALTER SEQUENCE migrate.drift_acknowledgements_id_seq OWNED BY migrate.drift_acknowledgements.id;

-- The drift log: one row per object touched by a DDL statement run outside migrate.apply /
-- migrate.revert, written by the extension's event triggers (as the catalog owner).
CREATE SEQUENCE migrate.drift_id_seq;
CREATE TABLE migrate.drift (
    id                 bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.drift_id_seq'),
    captured_at        timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    transaction_id     xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    performed_by       text NOT NULL DEFAULT session_user,  -- session user
    role               text NOT NULL,                       -- current user running the DDL
    application_name   text,
    client_addr        inet DEFAULT pg_catalog.inet_client_addr(),
    backend_pid        int NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
    event              text NOT NULL,                       -- ddl_command_end or sql_drop
    command_tag        text NOT NULL,                       -- of the statement, e.g. ALTER TABLE
    object_type        text,                                -- as pg_identify_object() names it
    object_identity    text,
    schema_name        text,
    detail             text,                                -- subcommands, rewrite, drop kind
    statement          text,                                -- the text of that one statement
    statement_source   text,                                -- hook, parse, enclosing or query
    -- Set only by migrate.acknowledge_drift() (the protect trigger refuses other changes), so
    -- no foreign key: its trigger would cost every captured DDL statement ~7 %.
    acknowledgement_id bigint
);
ALTER SEQUENCE migrate.drift_id_seq OWNED BY migrate.drift.id;
CREATE INDEX drift_unacknowledged ON migrate.drift (id) WHERE acknowledgement_id IS NULL;

-- Objects drift capture and schema_diff() ignore: glob patterns (* any run, ? one character)
-- on the schema and on the object's name (for columns, constraints, triggers, policies and
-- rules: the table's name). Managed by the extension owner (plain INSERT / DELETE).
CREATE TABLE migrate.drift_exclusions (
    schema_pattern text NOT NULL,
    name_pattern   text NOT NULL DEFAULT '*',
    reason         text,
    added_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    added_by       text NOT NULL DEFAULT session_user,
    PRIMARY KEY (schema_pattern, name_pattern)
);
-- Capture caches the exclusions per backend; a change tells every backend to re-read them.
CREATE FUNCTION migrate.drift_exclusions_changed() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgm_drift_exclusions_changed' LANGUAGE C;
REVOKE ALL ON FUNCTION migrate.drift_exclusions_changed() FROM PUBLIC;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON migrate.drift_exclusions
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.drift_exclusions_changed();

SELECT pg_catalog.pg_extension_config_dump('migrate.drift', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_acknowledgements', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_acknowledgements_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.drift_exclusions', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.schema_snapshots', 'WHERE reason <> ''install''');
SELECT pg_catalog.pg_extension_config_dump('migrate.schema_snapshots_id_seq', '');

-- True when an exclusion matches the object (schema, name); NULL schema never matches.
CREATE FUNCTION migrate.drift_excluded(schema_name text, object_name text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM migrate.drift_exclusions e
         WHERE schema_name LIKE replace(replace(replace(replace(replace(e.schema_pattern, '\', '\\'), '%', '\%'),
                                                        '_', '\_'), '*', '%'), '?', '_')
           AND coalesce(object_name, '') LIKE replace(replace(replace(replace(replace(e.name_pattern, '\', '\\'),
                                                        '%', '\%'), '_', '\_'), '*', '%'), '?', '_'))
$$;

-- Rows change only through pg_migrate: the drift log and its reviews are tamper-proof.
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.drift
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.drift_acknowledgements
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.schema_snapshots
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.drift
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.drift_acknowledgements
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.schema_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();

-- Differences between the newest recorded snapshot and the live schema, without excluded
-- objects: drift whether or not a trigger saw it.
CREATE FUNCTION migrate.schema_diff() RETURNS TABLE(object text, change text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_schema_diff' LANGUAGE C VOLATILE;

-- Marks unacknowledged drift (all, or up to drift id up_to) as reviewed and records a new
-- snapshot. Returns the number of drift rows acknowledged.
CREATE FUNCTION migrate.acknowledge_drift(note text, up_to bigint DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'pgm_acknowledge_drift' LANGUAGE C VOLATILE;

-- One row for CI: unacknowledged drift, differences schema_diff() finds, capture state.
CREATE FUNCTION migrate.drift_status()
    RETURNS TABLE(unacknowledged bigint, oldest_unacknowledged timestamptz,
                  newest_unacknowledged timestamptz, schema_differences bigint,
                  last_snapshot_at timestamptz, last_snapshot_reason text,
                  capture text, statement_capture text)
    AS 'MODULE_PATHNAME', 'pgm_drift_status' LANGUAGE C VOLATILE;

-- Event triggers. ENABLE ALWAYS: they also fire under session_replication_role = replica
-- (README "Drift").
CREATE FUNCTION migrate.drift_capture_start() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgm_drift_capture_start' LANGUAGE C;
CREATE FUNCTION migrate.drift_capture_ddl() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgm_drift_capture_ddl' LANGUAGE C;
CREATE FUNCTION migrate.drift_capture_drop() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgm_drift_capture_drop' LANGUAGE C;
CREATE FUNCTION migrate.drift_capture_rewrite() RETURNS event_trigger
    AS 'MODULE_PATHNAME', 'pgm_drift_capture_rewrite' LANGUAGE C;
CREATE EVENT TRIGGER migrate_drift_start ON ddl_command_start
    EXECUTE FUNCTION migrate.drift_capture_start();
CREATE EVENT TRIGGER migrate_drift_ddl ON ddl_command_end
    EXECUTE FUNCTION migrate.drift_capture_ddl();
CREATE EVENT TRIGGER migrate_drift_drop ON sql_drop
    EXECUTE FUNCTION migrate.drift_capture_drop();
CREATE EVENT TRIGGER migrate_drift_rewrite ON table_rewrite
    EXECUTE FUNCTION migrate.drift_capture_rewrite();
ALTER EVENT TRIGGER migrate_drift_start ENABLE ALWAYS;
ALTER EVENT TRIGGER migrate_drift_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER migrate_drift_drop ENABLE ALWAYS;
ALTER EVENT TRIGGER migrate_drift_rewrite ENABLE ALWAYS;

REVOKE ALL ON FUNCTION migrate.acknowledge_drift(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_excluded(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_start() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_ddl() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_drop() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_rewrite() FROM PUBLIC;

-- The baseline for schema_diff() until the first apply, baseline or acknowledgement.
INSERT INTO migrate.schema_snapshots (reason, snapshot) VALUES ('install', migrate.schema_snapshot());
