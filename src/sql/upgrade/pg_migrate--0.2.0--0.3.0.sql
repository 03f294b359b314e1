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
