-- pg_migrate 0.4.0 -> 0.5.0: the schema snapshot built in C; migrate.sync_confirm().
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.5.0'" to load this file. \quit

-- The snapshot functions are C functions now (drift_snapshot_entries.cpp), with the entries
-- 0.4.0's SQL gave: snapshots recorded before the update compare equal.
CREATE OR REPLACE FUNCTION migrate.schema_snapshot() RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_schema_snapshot' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION migrate.schema_snapshot_of(rels oid[], types oid[], nsps oid[], procs oid[]) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_schema_snapshot_of' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION migrate.snapshot_touched(classids oid[], objids oid[], rel_names text[],
                                                    type_names text[], nsp_names text[], proc_names text[])
    RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_snapshot_touched' LANGUAGE C STABLE
    SET search_path = pg_catalog, pg_temp;

-- A recorded snapshot's entry: C, decompressing a full row once per transaction (a revert's
-- check read tens of MB per entry in a schema of 20,000 tables).
CREATE OR REPLACE FUNCTION migrate.recorded_entry(snapshot_id bigint, key text) RETURNS jsonb
    AS 'MODULE_PATHNAME', 'pgm_recorded_entry' LANGUAGE C STABLE STRICT;

-- The keys of a full recorded snapshot row starting with given prefixes, by id: decompressed
-- once per transaction, shared with recorded_entry(); the refresh after a revert uses it.
CREATE FUNCTION migrate.recorded_keys_with_prefix(snapshot_id bigint, prefixes text[]) RETURNS text[]
    AS 'MODULE_PATHNAME', 'pgm_recorded_keys_with_prefix' LANGUAGE C STABLE STRICT;
CREATE OR REPLACE FUNCTION migrate.record_refreshed_snapshot(reason text, classids oid[], objids oid[], rel_names text[],
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
