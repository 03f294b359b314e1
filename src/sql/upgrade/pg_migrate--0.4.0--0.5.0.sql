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
