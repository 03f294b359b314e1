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
    AS 'MODULE_PATHNAME', 'pgm_schema_snapshot' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;

-- migrate.schema_snapshot() restricted to given objects: the entries of the relations `rels`
-- (with their columns, constraints, indexes, triggers, policies and rules), the types and
-- domains `types` (with domain constraints), the schemas `nsps` (the schema entries only) and
-- the functions `procs`; never extensions. The same entries the whole snapshot has for them
-- (test: drift_snapshot), found through index lookups, so its cost follows the objects asked
-- for, not the schema: recorded snapshots after apply and revert refresh only the objects the
-- migrations touched (README "Snapshots after apply and revert").
CREATE FUNCTION migrate.schema_snapshot_of(rels oid[], types oid[], nsps oid[], procs oid[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_schema_snapshot_of' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;


-- The snapshot entries of every object migrations touched, taken afresh from the catalog: the
-- objects pg_event_trigger_ddl_commands() reported (classids, objids), the owners of dropped
-- objects still or again present (rel_names, type_names, nsp_names, proc_names: a rolled-back
-- drop loses nothing), a relation's partitions, parents and owned sequences, all overloads of
-- a touched function name. Its cost follows what the migrations touched.
CREATE FUNCTION migrate.snapshot_touched(classids oid[], objids oid[], rel_names text[],
                                         type_names text[], nsp_names text[], proc_names text[])
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_snapshot_touched' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;


-- The live snapshot entries of the given keys only (as migrate.schema_snapshot() has them),
-- taken through index lookups: the owners of the keys (a relation for its columns,
-- constraints, indexes, triggers, policies and rules; a type or domain; a schema; all
-- functions of a name; an extension) go to schema_snapshot_of(). The revert check compares
-- the objects an apply changed with this instead of a whole snapshot.
CREATE FUNCTION migrate.schema_snapshot_for_keys(keys text[]) RETURNS jsonb
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

COMMENT ON FUNCTION migrate.schema_snapshot() IS
    'Canonical jsonb description of the user schemas, keyed by "<kind> <identity>"';

-- Key-by-key comparison of two snapshots: one row per entry added, removed or changed. For a
-- changed entry, detail lists each attribute that differs as "name: old -> new" (absent
-- attributes read as null); for an added or removed entry it is the entry's attributes.
-- A NULL snapshot counts as empty; anything but an object is refused by name (0.14.0: it was
-- jsonb_each's "cannot call jsonb_each on a non-object").
CREATE FUNCTION migrate.snapshot_diff(before jsonb, after jsonb)
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

COMMENT ON FUNCTION migrate.snapshot_diff(jsonb, jsonb) IS
    'Entries added, removed or changed between two migrate.schema_snapshot() values';

-- Recorded snapshots: one at CREATE EXTENSION and after every apply, revert, baseline and
-- drift acknowledgement; schema_diff() compares the newest with the live schema. Only the
-- newest pg_migrate.drift_snapshots_kept are kept.
CREATE SEQUENCE migrate.schema_snapshots_id_seq;
CREATE TABLE migrate.schema_snapshots (
    id             bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.schema_snapshots_id_seq'),
    taken_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    reason         text NOT NULL CHECK (reason IN ('install', 'apply', 'revert', 'baseline', 'acknowledge', 'callback')),
    taken_by       text NOT NULL DEFAULT session_user,
    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    snapshot       jsonb,                  -- NULL for an incremental row: see recorded_snapshot()
    -- Incremental rows (after apply/revert in a large schema): the snapshot is the full row
    -- base_id without the keys `removed`, with the entries `changes`.
    base_id        bigint,
    changes        jsonb,
    removed        text[],
    -- (0.8.0) The newest snapshot when this one was recorded: the revert check compares with
    -- that one, and checks nothing once it is pruned. NULL for rows recorded before 0.8.0.
    previous_id    bigint
);
ALTER SEQUENCE migrate.schema_snapshots_id_seq OWNED BY migrate.schema_snapshots.id;
CREATE FUNCTION migrate.newest_snapshot_id() RETURNS bigint
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.max(s.id) FROM migrate.schema_snapshots s $$;
REVOKE ALL ON FUNCTION migrate.newest_snapshot_id() FROM PUBLIC;
ALTER TABLE migrate.schema_snapshots ALTER COLUMN previous_id SET DEFAULT migrate.newest_snapshot_id();

-- The keys of a snapshot that start with any of the prefixes (what dropping a relation
-- removes: its columns, constraints, triggers, policies, rules), in one pass over the keys.
CREATE FUNCTION migrate.snapshot_keys_with_prefix(snapshot jsonb, prefixes text[]) RETURNS text[]
    AS 'MODULE_PATHNAME', 'pgm_snapshot_keys_with_prefix' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
-- snapshot_keys_with_prefix() of a full recorded snapshot row, by id: decompressed once per
-- transaction, shared with migrate.recorded_entry() (a revert reads that row with both).
CREATE FUNCTION migrate.recorded_keys_with_prefix(snapshot_id bigint, prefixes text[]) RETURNS text[]
    AS 'MODULE_PATHNAME', 'pgm_recorded_keys_with_prefix' LANGUAGE C STABLE STRICT;

-- Records the snapshot after apply or revert: the previous recorded snapshot without the
-- entries of what the migrations dropped (drop_keys, and every key starting with one of
-- drop_prefixes), with the entries of what they touched (snapshot_touched()). In a large
-- schema it is stored as an incremental row against the last full one (changes and removed
-- keys since it), so an apply does not rewrite the whole schema's snapshot; a full row is
-- written again once the changes outgrow a quarter of it. Never based on the install row
-- (pg_dump leaves that out).
CREATE FUNCTION migrate.record_refreshed_snapshot(reason text, classids oid[], objids oid[], rel_names text[],
                                                  type_names text[], nsp_names text[], proc_names text[],
                                                  drop_keys text[], drop_prefixes text[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
DECLARE
    prev_id bigint;
    prev_base bigint;
    base bigint;
    base_reason text;
    base_size int;
    fresh jsonb := migrate.snapshot_touched(classids, objids, rel_names, type_names, nsp_names, proc_names);
    cum_changes jsonb := '{}';
    cum_removed text[] := '{}';
    dropped text[] := coalesce(drop_keys, '{}');
BEGIN
    SELECT s.id, s.base_id INTO prev_id, prev_base FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1;
    IF prev_id IS NULL THEN
        INSERT INTO migrate.schema_snapshots (reason, snapshot) VALUES (reason, migrate.schema_snapshot());
        RETURN;
    END IF;
    base := coalesce(prev_base, prev_id);
    IF prev_base IS NOT NULL THEN
        SELECT s.changes, s.removed INTO cum_changes, cum_removed FROM migrate.schema_snapshots s WHERE s.id = prev_id;
    END IF;
    SELECT s.reason, pg_column_size(s.snapshot) INTO base_reason, base_size FROM migrate.schema_snapshots s WHERE s.id = base;
    IF coalesce(cardinality(drop_prefixes), 0) > 0 THEN
        dropped := dropped
            || coalesce(migrate.recorded_keys_with_prefix(base, drop_prefixes), '{}')
            || migrate.snapshot_keys_with_prefix(cum_changes, drop_prefixes);
    END IF;
    cum_changes := (cum_changes - dropped) || fresh;
    cum_removed := ARRAY(SELECT DISTINCT k FROM unnest(cum_removed || dropped) k WHERE NOT fresh ? k ORDER BY k);
    IF base_reason = 'install' OR base_size < 65536 OR pg_column_size(cum_changes) * 4 > base_size THEN
        INSERT INTO migrate.schema_snapshots (reason, snapshot)
        SELECT record_refreshed_snapshot.reason, (s.snapshot - cum_removed) || cum_changes FROM migrate.schema_snapshots s WHERE s.id = base;
    ELSE
        INSERT INTO migrate.schema_snapshots (reason, snapshot, base_id, changes, removed)
        VALUES (reason, NULL, base, cum_changes, cum_removed);
    END IF;
END
$$;

-- Any recorded snapshot, full or incremental.
CREATE FUNCTION migrate.recorded_snapshot(snapshot_id bigint) RETURNS jsonb
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
    SELECT CASE WHEN s.base_id IS NULL THEN s.snapshot
                ELSE (b.snapshot - coalesce(s.removed, '{}'::text[])) || coalesce(s.changes, '{}'::jsonb) END
      FROM migrate.schema_snapshots s LEFT JOIN migrate.schema_snapshots b ON b.id = s.base_id
     WHERE s.id = snapshot_id
$$;

-- The entry `key` of recorded snapshot `snapshot_id`, full or incremental, without composing
-- the whole snapshot (C: a full row is decompressed once per transaction, not per entry).
CREATE FUNCTION migrate.recorded_entry(snapshot_id bigint, key text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_recorded_entry' LANGUAGE C STABLE STRICT;

-- The keys whose entries differ between recorded snapshots a and b. Two rows on the same full
-- row (one of them may be that row) differ only where their changes or removed keys say so:
-- found without composing either snapshot. Otherwise a whole snapshot_diff().
CREATE FUNCTION migrate.recorded_snapshot_diff_keys(a bigint, b bigint) RETURNS SETOF text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
    WITH ra AS (SELECT s.* FROM migrate.schema_snapshots s WHERE s.id = a),
         rb AS (SELECT s.* FROM migrate.schema_snapshots s WHERE s.id = b),
         same AS (SELECT coalesce(ra.base_id, ra.id) = coalesce(rb.base_id, rb.id) AS base FROM ra, rb),
         candidates AS (
             SELECT jsonb_object_keys(ra.changes) AS k FROM ra
             UNION SELECT unnest(ra.removed) FROM ra
             UNION SELECT jsonb_object_keys(rb.changes) FROM rb
             UNION SELECT unnest(rb.removed) FROM rb)
    SELECT c.k FROM candidates c, same
     WHERE same.base AND migrate.recorded_entry(a, c.k) IS DISTINCT FROM migrate.recorded_entry(b, c.k)
    UNION ALL
    SELECT d.object FROM same, migrate.snapshot_diff(migrate.recorded_snapshot(a), migrate.recorded_snapshot(b)) d
     WHERE NOT same.base
$$;


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
-- Every row, the install snapshot too (0.9.0): a copy restored from a dump needs the source's,
-- taken with the objects it then had (migrate.install_snapshot_restored()).
SELECT pg_catalog.pg_extension_config_dump('migrate.schema_snapshots', '');
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
-- ENABLE ALWAYS: also under session_replication_role = replica (README "Drift").
ALTER TABLE migrate.drift ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.drift_acknowledgements ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.schema_snapshots ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.drift_exclusions ENABLE ALWAYS TRIGGER invalidate_cache;
-- (0.9.0) An install snapshot inserted outside CREATE EXTENSION is a dump's, restored into a
-- copy: the copy's own, which its CREATE EXTENSION took before the restore created the
-- schema's objects, gives way to it (its id too).
CREATE FUNCTION migrate.install_snapshot_restored() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgm_install_snapshot_restored' LANGUAGE C;
CREATE TRIGGER install_snapshot_restored BEFORE INSERT ON migrate.schema_snapshots
    FOR EACH ROW WHEN (NEW.reason OPERATOR(pg_catalog.=) 'install')
    EXECUTE FUNCTION migrate.install_snapshot_restored();
ALTER TABLE migrate.schema_snapshots ENABLE ALWAYS TRIGGER install_snapshot_restored;

-- Differences between the newest recorded snapshot and the live schema, without excluded
-- objects: drift whether or not a trigger saw it.
CREATE FUNCTION migrate.schema_diff() RETURNS TABLE(object text, change text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_schema_diff' LANGUAGE C VOLATILE;

-- True when no catalog row changed since the newest snapshot was recorded (its catalog
-- fingerprint, migrate.catalog_state, is the live one): schema_diff() is then empty without
-- taking a snapshot. False when something changed or the proof is missing.
CREATE FUNCTION migrate.schema_unchanged() RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_schema_unchanged' LANGUAGE C VOLATILE;

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
REVOKE ALL ON FUNCTION migrate.record_refreshed_snapshot(text, oid[], oid[], text[], text[], text[], text[], text[], text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_start() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_ddl() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_drop() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.drift_capture_rewrite() FROM PUBLIC;

-- The baseline for schema_diff() until the first apply, baseline or acknowledgement.
-- Recorded with its catalog fingerprint (migrate.catalog_state), like every later snapshot,
-- by the last statement of the install script (90_install_snapshot.sql): no catalog may
-- change after it.
CREATE FUNCTION migrate.record_install_snapshot() RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_record_install_snapshot' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.record_install_snapshot() FROM PUBLIC;
