-- pg_migrate catalog: registered migrations, the baseline and an append-only history.
-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_migrate" to load this file. \quit

-- Every registered migration. `version` is the canonical spelling; `version_parts` orders it.
CREATE TABLE migrate.migrations (
    version        text PRIMARY KEY,
    version_parts  numeric[] NOT NULL,     -- one per version: it is derived from the canonical key
    name           text NOT NULL,
    up_sql         text NOT NULL,
    down_sql       text,
    checksum       text NOT NULL,
    registered_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    registered_by  text NOT NULL DEFAULT session_user,
    applied_seq    bigint,                 -- history id of the apply; NULL while pending
    applied_at     timestamptz,
    applied_by     text,
    -- how each script runs: 'transaction', 'split' (COMMIT points) or 'no-transaction'
    up_mode        text NOT NULL DEFAULT 'transaction'
                   CHECK (up_mode IN ('transaction', 'split', 'no-transaction')),
    down_mode      text NOT NULL DEFAULT 'transaction'
                   CHECK (down_mode IN ('transaction', 'split', 'no-transaction'))
);
-- The pending migrations, found without reading the applied ones; apply orders them itself
-- (pgm::Version), so the key is the cheapest there is: every key is NULL. Keyed on version_parts
-- (up to 0.5.0), each registration paid a numeric[] comparison per tree level.
CREATE INDEX migrations_pending ON migrate.migrations (applied_seq) WHERE applied_seq IS NULL;

-- At most one baseline: the version an existing database was adopted at.
CREATE TABLE migrate.baseline (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version        text NOT NULL,
    version_parts  numeric[] NOT NULL,
    name           text NOT NULL,
    baselined_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    baselined_by   text NOT NULL DEFAULT session_user
);

CREATE SEQUENCE migrate.history_id_seq;
-- Append-only record of every apply, revert and baseline, and of each retry after a lock timeout.
CREATE TABLE migrate.history (
    id             bigint PRIMARY KEY DEFAULT pg_catalog.nextval('migrate.history_id_seq'),
    version        text NOT NULL,
    name           text NOT NULL,
    action         text NOT NULL,          -- apply, revert, baseline, retry, repair or callback
    performed_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    performed_by   text NOT NULL DEFAULT session_user,  -- session user
    role           text NOT NULL,                       -- current user of the caller
    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    duration_ms    float8,
    checksum       text,
    detail         jsonb,
    script_checksum text                  -- the script that ran (up: apply, down: revert), in migrate.scripts
);
ALTER SEQUENCE migrate.history_id_seq OWNED BY migrate.history.id;

-- Every script that was ever applied (up) or reverted (down), by SHA-256: history's
-- script_checksum (and an apply's checksum) always leads to the text that ran, even after
-- unregister. Append-only, even for the owner.
CREATE TABLE migrate.scripts (
    checksum       text PRIMARY KEY,
    script         text NOT NULL,
    first_seen     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    first_seen_by  text NOT NULL DEFAULT session_user
);

-- One row whose generation every catalog change bumps; lets a REPEATABLE READ caller detect
-- that a concurrent transaction changed the catalog after its snapshot was taken.
CREATE TABLE migrate.catalog_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation     bigint NOT NULL,
    -- The catalog fingerprint (drift_fingerprint.cpp) proven for snapshot snapshot_id: while
    -- it is the live one, nothing differs from that snapshot and schema_diff() need not take
    -- one of the whole schema. Not dumped: a restored copy has other row versions.
    snapshot_id          bigint,
    snapshot_fingerprint bigint
);
INSERT INTO migrate.catalog_state VALUES (true, 0);

-- The catalog fingerprint's page cache (drift_fingerprint.cpp): per catalog, for each page
-- whose rows had all settled (their transactions ended) when it was last read, the page's
-- LSN then and the sum of its rows' hashes. A page with the same LSN has the same rows, so the
-- fingerprint reads its header instead of its rows. Written by apply, revert and the other
-- functions that record a snapshot; not dumped (a restored copy has other pages).
CREATE TABLE migrate.catalog_page_sums (
    catalog           oid NOT NULL,
    chunk             int NOT NULL,    -- blocks 96 * chunk to 96 * chunk + 95
    filenode          oid NOT NULL,
    -- Whose pages and which hashes: pg_upgrade carries the rows into a cluster with other
    -- pages, and another release may hash rows otherwise. Other rows are ignored.
    system_identifier bigint NOT NULL,
    hash_version      int NOT NULL,
    pages             bytea NOT NULL,  -- (block int4, lsn int8, sum int8), native byte order, by block
    PRIMARY KEY (catalog, chunk)
) USING heap;

-- pg_dump keeps the catalog rows, so a restored copy knows what was applied.
SELECT pg_catalog.pg_extension_config_dump('migrate.migrations', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.baseline', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.history_id_seq', '');

-- Direct edits are refused: rows change only through the migrate.* functions, and history
-- is append-only even for the owner.
CREATE FUNCTION migrate.protect_catalog() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgm_protect_catalog' LANGUAGE C;
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.migrations
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.baseline
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.history
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.catalog_state
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.migrations
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.baseline
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.history
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.catalog_state
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
-- ENABLE ALWAYS: they fire under session_replication_role = replica too, so not even the
-- owner erases the catalog that way.
ALTER TABLE migrate.migrations ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.baseline ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.history ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
-- Written by pg_migrate only (a forged sum for an unchanged page would hide drift).
CREATE TRIGGER protect BEFORE INSERT OR UPDATE OR DELETE ON migrate.catalog_page_sums
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.catalog_page_sums
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.catalog_page_sums ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
-- The scripts are append-only like the history; ENABLE ALWAYS: also under
-- session_replication_role = replica.
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.scripts
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.scripts
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.scripts ENABLE ALWAYS TRIGGER protect_truncate;

-- Runs of non-transactional and split migrations by CALL migrate.run() / migrate.run_revert():
-- one row per migration whose run started and has not finished, kept across failures, cancels
-- and crashes so the next run resumes at the first unfinished statement.
CREATE TABLE migrate.runs (
    version         text PRIMARY KEY,
    direction       text NOT NULL CHECK (direction IN ('up', 'down')),
    checksum        text NOT NULL,             -- SHA-256 of the script being run
    units           int NOT NULL,              -- statements (or parts) of the script
    started_at      timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    started_by      text NOT NULL DEFAULT session_user,
    pid             int NOT NULL,              -- backend running the CALL
    unit            int,                       -- 0-based statement (part) started last
    line            int,
    phase           text,
    unit_started_at timestamptz,
    worker_pid      int,                       -- background worker running a top-level statement
    rows_done       bigint NOT NULL DEFAULT 0, -- batched statement: rows changed so far
    rows_total      bigint,                    -- batched statement: rows matching at its start
    batches         int NOT NULL DEFAULT 0,
    error           text,                      -- last failure (SQLSTATE: message)
    failed_at       timestamptz,
    invalid_index   text,                      -- INVALID index of a failed concurrent build, until dropped
    unit_ms         float8,                    -- batched statement: its time over all calls, to its last batch (0.7.0)
    -- The schema entries that differed from the newest snapshot as the run started (0.11.0):
    -- {"snapshot": id, "acknowledgement": id, "entries": {key: [recorded, live]}}, so the snapshot recorded when a
    -- later call finishes the run keeps that earlier drift visible.
    preexisting     jsonb
);
-- Every finished statement (part) of an unfinished run, committed with it (or right after it,
-- for statements that run at top level).
CREATE TABLE migrate.run_progress (
    version      text NOT NULL,
    direction    text NOT NULL,
    unit         int NOT NULL,
    line         int NOT NULL,
    finished_at  timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    duration_ms  float8,
    rows         bigint,
    PRIMARY KEY (version, direction, unit)
);
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.runs
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.run_progress
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.runs
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.run_progress
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect;
ALTER TABLE migrate.run_progress ENABLE ALWAYS TRIGGER protect_truncate;
-- Core functions: register, apply, revert, baseline, inspect.

CREATE FUNCTION migrate.register(version text, name text, up text, down text DEFAULT NULL)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_register' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.unregister(version text)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_unregister' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.baseline(version text, name text DEFAULT 'baseline')
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_baseline' LANGUAGE C VOLATILE;

-- apply/revert run migrations as the caller with the caller's search_path, so they carry no
-- SET search_path clause; their internal SQL pins search_path in C (see catalog.cpp).
CREATE FUNCTION migrate.apply(target text DEFAULT NULL)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.revert(steps int DEFAULT 1)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_revert' LANGUAGE C VOLATILE;

CREATE FUNCTION migrate.revert_to(target text)
    RETURNS TABLE(version text, name text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_revert_to' LANGUAGE C VOLATILE;

-- SHA-256 (hex) of a script, as register computes it.
CREATE FUNCTION migrate.checksum(script text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_checksum' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Canonical spelling of a version ('01.10.0' -> '1.10'); errors on an invalid one.
CREATE FUNCTION migrate.canonical_version(version text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_canonical_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Loads pg_migrate's library (so the reserved pg_migrate. settings prefix applies); the SQL
-- functions below call it, so any pg_migrate call does.
CREATE FUNCTION migrate.library_loaded() RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_library_loaded' LANGUAGE C STABLE PARALLEL SAFE;

CREATE FUNCTION migrate.status()
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

-- The version the database is at: the newest applied migration, else the baseline.
CREATE FUNCTION migrate.current_version() RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT version FROM migrate.migrations WHERE applied_seq IS NOT NULL
          ORDER BY version_parts DESC LIMIT 1),
        (SELECT version FROM migrate.baseline))
     WHERE migrate.library_loaded()
$$;

-- Reverts whose down script left objects the apply had changed (history.detail->'leftovers'),
-- until the version is applied again or drift is acknowledged afterwards
-- (migrate.acknowledge_drift()). It reads the drift feature's tables, created later in the
-- install script (extension scripts run with check_function_bodies off).
CREATE FUNCTION migrate.revert_leftovers()
    RETURNS TABLE(version text, version_parts numeric[], reverted_at timestamptz, problem text)
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT h.version, m.version_parts, h.performed_at,
           pg_catalog.format('its revert (history id %s) left the schema different from before its apply: %s',
                             h.id,
                             (SELECT pg_catalog.string_agg(pg_catalog.format('%s (%s)', l->>'object', l->>'change'), ', ')
                                FROM pg_catalog.jsonb_array_elements(h.detail->'leftovers') l))
      FROM migrate.history h LEFT JOIN migrate.migrations m ON m.version = h.version
     WHERE h.action = 'revert' AND h.detail ? 'leftovers'
       AND NOT EXISTS (SELECT FROM migrate.history h2
                        WHERE h2.version = h.version AND h2.id > h.id AND h2.action = 'apply')
       AND NOT EXISTS (SELECT FROM migrate.drift_acknowledgements a WHERE a.acknowledged_at > h.performed_at)
$$;

CREATE FUNCTION migrate.validate() RETURNS TABLE(version text, problem text)
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

-- Fixes the name or the down script of a migration (also an applied one); the up script is
-- never changed. Recorded in history (action 'repair', old and new text in detail).
CREATE FUNCTION migrate.repair(version text, name text DEFAULT NULL, down text DEFAULT NULL,
                               remove_down boolean DEFAULT false)
    RETURNS text AS 'MODULE_PATHNAME', 'pgm_repair' LANGUAGE C VOLATILE;

-- Changing functions are for deploy roles only (see README "Privileges").
REVOKE ALL ON FUNCTION migrate.register(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.unregister(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.baseline(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.revert(int) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.revert_to(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.protect_catalog() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.repair(text, text, text, boolean) FROM PUBLIC;
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
-- Safe migrations: lint, plan (dry run) and verify (proven reverts). See doc/safety.md.

-- Lints a migration script with the server's parser against the live catalog.
CREATE FUNCTION migrate.lint(sql text)
    RETURNS TABLE(line int, statement text, rule text, severity text, message text, hint text)
    AS 'MODULE_PATHNAME', 'pgm_lint' LANGUAGE C VOLATILE STRICT;

-- The lint rules and what each one reports.
CREATE FUNCTION migrate.lint_rules()
    RETURNS TABLE(rule text, description text)
    AS 'MODULE_PATHNAME', 'pgm_lint_rules' LANGUAGE C IMMUTABLE;

-- Dry run of the pending migrations (as migrate.apply(target) would run them): one row per
-- statement with its lint findings, the locks it took, the relations it rewrote and its
-- duration. Runs inside a subtransaction that is always rolled back.
CREATE FUNCTION migrate.plan(target text DEFAULT NULL)
    RETURNS TABLE(version text, name text, line int, statement text, status text, locks text[],
                  rewrites text[], duration_ms float8, findings text[], error text)
    AS 'MODULE_PATHNAME', 'pgm_plan' LANGUAGE C VOLATILE;

-- Proves reverts: for each pending migration (or the one given), inside a subtransaction that
-- is always rolled back, snapshot the schema, run up, run down, snapshot again and report every
-- object that differs. status: ok, differs (one row per object), no_down, failed, skipped.
CREATE FUNCTION migrate.verify(version text DEFAULT NULL)
    RETURNS TABLE(version text, name text, status text, object text, change text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_verify' LANGUAGE C VOLATILE;

-- pg_dump keeps the scripts that ran (migrate.scripts, see 10_catalog.sql). Registered here, at
-- the end, in the order an upgrade from 0.1.0 registers it.
SELECT pg_catalog.pg_extension_config_dump('migrate.scripts', '');

-- plan and verify run migration scripts: deploy roles only, like apply.
REVOKE ALL ON FUNCTION migrate.plan(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.verify(text) FROM PUBLIC;
-- File sync: a folder of migration files brought into the catalog in one statement
-- (migrate.sync; the pg_migrate command uses it), repeatable migrations, and the checksum over
-- a script's tokens. See README "The pg_migrate command".

-- The file each migration was synced from, and the checksums sync compares: script_checksum
-- over the up script's tokens (migrate.script_checksum), source_checksum over the normalized
-- file contents (an unchanged file is recognised without parsing it).
CREATE TABLE migrate.migration_files (
    version          text PRIMARY KEY,
    file_name        text NOT NULL,
    script_checksum  text NOT NULL,
    source_checksum  text NOT NULL
);

-- Repeatable migrations (Flyway's R__ files): re-applied whenever their script changes.
CREATE TABLE migrate.repeatables (
    name             text PRIMARY KEY,
    file_name        text NOT NULL,
    up_sql           text NOT NULL,
    script_checksum  text NOT NULL,
    source_checksum  text NOT NULL,
    registered_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    applied_checksum text,          -- script_checksum when last applied; NULL: never applied
    applied_at       timestamptz,
    applied_by       text
);

SELECT pg_catalog.pg_extension_config_dump('migrate.migration_files', '');
SELECT pg_catalog.pg_extension_config_dump('migrate.repeatables', '');

CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.migration_files
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.repeatables
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.migration_files
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.repeatables
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
-- ENABLE ALWAYS: they fire under session_replication_role = replica too.
ALTER TABLE migrate.migration_files ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;
ALTER TABLE migrate.repeatables ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;

-- SHA-256 (hex) over the script's tokens as PostgreSQL's scanner sees them: comments, white
-- space, line endings and keyword case do not count; any change to what runs does.
CREATE FUNCTION migrate.script_checksum(script text) RETURNS text
    AS 'MODULE_PATHNAME', 'pgm_script_checksum' LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- Brings the catalog in line with a folder: files is a JSON array of
-- {"file", "version", "name", "up", "down", "checksum", "repeatable", "no_transaction"}.
-- Registers new migrations, leaves unchanged ones untouched, replaces edited pending ones
-- (NOTICE), refuses edited applied ones, unregisters pending ones whose file is gone and
-- reports applied ones without a file. With dry_run nothing is written and nothing locked;
-- accept_edited (pg_migrate repair) records edited applied files as they are now.
CREATE FUNCTION migrate.sync(files jsonb, dry_run boolean DEFAULT false,
                             accept_edited boolean DEFAULT false)
    RETURNS TABLE(file text, version text, name text, kind text, state text, action text,
                  applied_at timestamptz, applied_by text, checksum text, detail text)
    AS 'MODULE_PATHNAME', 'pgm_sync' LANGUAGE C VOLATILE;

-- Applies the repeatable migrations whose script changed since they were last applied, in
-- name order, recording each in history.
CREATE FUNCTION migrate.apply_repeatables()
    RETURNS TABLE(name text, file text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply_repeatables' LANGUAGE C VOLATILE;
-- (0.9.0) Only the repeatable migration named `repeatable`, if it is pending: the pg_migrate command runs
-- beforeEachMigrate and afterEachMigrate callbacks around each one.
CREATE FUNCTION migrate.apply_repeatables(repeatable text)
    RETURNS TABLE(name text, file text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply_repeatables' LANGUAGE C VOLATILE;

-- Runs one of Flyway's SQL callbacks (afterMigrate.sql, ...) as a migration runs, recorded in
-- history (action 'callback'); the pg_migrate command calls it for a folder's callback files.
CREATE FUNCTION migrate.run_callback(event text, script text, file text DEFAULT NULL)
    RETURNS float8
    AS 'MODULE_PATHNAME', 'pgm_run_callback' LANGUAGE C VOLATILE;
-- The checks run_callback() makes before it runs anything, running nothing (pg_migrate apply
-- --dry-run): an error if run_callback() would refuse the callback.
CREATE FUNCTION migrate.check_callback(event text, script text, file text DEFAULT NULL)
    RETURNS void
    AS 'MODULE_PATHNAME', 'pgm_check_callback' LANGUAGE C VOLATILE;

-- The digest of the last folder migrate.sync found exactly in sync, and the catalog generation
-- it was found at: a cache that lets migrate.sync_digest() answer without per-file work.
CREATE TABLE migrate.sync_state (
    singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    folder_digest  text NOT NULL,
    generation     bigint NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.sync_state
    FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
CREATE TRIGGER protect_truncate BEFORE TRUNCATE ON migrate.sync_state
    FOR EACH STATEMENT EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.sync_state ENABLE ALWAYS TRIGGER protect, ENABLE ALWAYS TRIGGER protect_truncate;

-- True if digest (SHA-256 over the sorted file names and source checksums of a folder) is the
-- folder the last in-sync migrate.sync saw and the catalog has not changed since. Plain SQL: the
-- pg_migrate command's no-op check does not need to load the library into a new backend.
CREATE FUNCTION migrate.sync_digest(digest text) RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT FROM migrate.sync_state s, migrate.catalog_state c
                    WHERE s.folder_digest = digest AND s.generation = c.generation)
$$;

-- After migrate.sync() registered a folder with migrations pending and apply applied them (in
-- the same transaction): records that folder as in sync without its files being sent and
-- compared again, if nothing is pending now and nothing but applies changed the catalog since
-- the sync. False (nothing recorded) otherwise: then migrate.sync() records it.
CREATE FUNCTION migrate.sync_confirm(digest text) RETURNS boolean
    AS 'MODULE_PATHNAME', 'pgm_sync_confirm' LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION migrate.sync(jsonb, boolean, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.sync_digest(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.sync_confirm(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply_repeatables() FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.apply_repeatables(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION migrate.run_callback(text, text, text) FROM PUBLIC;
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
-- == The baseline snapshot for schema_diff() until the first apply, baseline or
-- acknowledgement. Last: its catalog fingerprint must be that of the installed extension.
SELECT migrate.record_install_snapshot();
