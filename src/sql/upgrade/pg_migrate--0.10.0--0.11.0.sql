-- pg_migrate 0.10.0 -> 0.11.0: a non-transactional or split migration resumed by a later call
-- keeps the drift made before its run started visible in schema_diff().
\echo Use "ALTER EXTENSION pg_migrate UPDATE TO '0.11.0'" to load this file. \quit

-- What differed from the newest snapshot when CALL migrate.run() started a migration was kept in
-- the calling session only: when another call finished the run, the whole snapshot recorded after
-- it took that earlier drift into the reference. Kept with the run now.
ALTER TABLE migrate.runs ADD COLUMN preexisting jsonb;

-- The update wrote catalog rows, so the proof recorded before it no longer holds: forget it;
-- the first apply after the update compares whole snapshots once.
ALTER TABLE migrate.catalog_state DISABLE TRIGGER protect;
UPDATE migrate.catalog_state SET snapshot_id = NULL, snapshot_fingerprint = NULL;
ALTER TABLE migrate.catalog_state ENABLE ALWAYS TRIGGER protect;
