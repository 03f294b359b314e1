-- pg_migrate 0.5.0 -> 0.6.0: a cheaper index of pending migrations.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.6.0'" to load this file. \quit

-- The pending migrations, found without reading the applied ones; apply orders them itself
-- (pgm::Version), so the key is the cheapest there is: every key is NULL. Keyed on version_parts
-- (up to 0.5.0), each registration paid a numeric[] comparison per tree level.
DROP INDEX migrate.migrations_pending;
CREATE INDEX migrations_pending ON migrate.migrations (applied_seq) WHERE applied_seq IS NULL;

-- The update rewrote catalog rows (the index), so the proof recorded before it no longer holds:
-- forget it; the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
