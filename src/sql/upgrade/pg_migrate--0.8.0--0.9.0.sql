-- pg_migrate 0.8.0 -> 0.9.0: a dump keeps the install snapshot, and a restored copy uses it;
-- repeatable migrations one at a time.
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.9.0'" to load this file. \quit

-- A copy restored from a dump of a database whose only snapshot was the install one (nothing
-- applied, acknowledged or baselined since CREATE EXTENSION) compared its schema with its own
-- install snapshot, taken before the restore created the objects: every object the source had
-- was a schema difference. The install snapshot is now dumped with the others, and the copy's
-- own gives way to it when the restore inserts it.
SELECT pg_catalog.pg_extension_config_dump('migrate.schema_snapshots', '');
CREATE FUNCTION migrate.install_snapshot_restored() RETURNS trigger
    AS 'MODULE_PATHNAME', 'pgm_install_snapshot_restored' LANGUAGE C;
CREATE TRIGGER install_snapshot_restored BEFORE INSERT ON migrate.schema_snapshots
    FOR EACH ROW WHEN (NEW.reason OPERATOR(pg_catalog.=) 'install')
    EXECUTE FUNCTION migrate.install_snapshot_restored();
ALTER TABLE migrate.schema_snapshots ENABLE ALWAYS TRIGGER install_snapshot_restored;

-- One repeatable migration at a time: the pg_migrate command runs beforeEachMigrate and
-- afterEachMigrate callbacks around each.
CREATE FUNCTION migrate.apply_repeatables(repeatable text)
    RETURNS TABLE(name text, file text, duration_ms float8)
    AS 'MODULE_PATHNAME', 'pgm_apply_repeatables' LANGUAGE C VOLATILE;
REVOKE ALL ON FUNCTION migrate.apply_repeatables(text) FROM PUBLIC;

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
