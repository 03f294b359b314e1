-- migrate.run_callback: Flyway's SQL callbacks, run as a migration runs (README "Callbacks").
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'accounts', 'CREATE TABLE cb_accounts (id int)', 'DROP TABLE cb_accounts');
CREATE ROLE cb_reader;
BEGIN;
SELECT version FROM migrate.apply();
-- The callback's DDL is the deploy's, not drift; its text is kept and history says so.
SELECT migrate.run_callback('afterMigrate', E'-- grants\nGRANT SELECT ON cb_accounts TO cb_reader;', 'afterMigrate__grants.sql') >= 0 AS ran;
COMMIT;
SELECT version, name, action, detail FROM migrate.history ORDER BY id;
SELECT s.script FROM migrate.history h JOIN migrate.scripts s ON s.checksum = h.script_checksum WHERE h.action = 'callback';
SELECT unacknowledged, schema_differences FROM migrate.drift_status();
SELECT has_table_privilege('cb_reader', 'cb_accounts', 'SELECT') AS granted;
SELECT count(*) AS problems FROM migrate.validate();
-- Without a file, the event names it.
SELECT migrate.run_callback('beforeMigrate', 'SELECT 1') >= 0 AS ran;
SELECT name, detail FROM migrate.history WHERE action = 'callback' ORDER BY id DESC LIMIT 1;
-- Refused, with nothing recorded: another event, NULLs, what cannot run in the apply's
-- transaction, a failing statement (named by file and line).
SELECT count(*) AS callbacks_before FROM migrate.history WHERE action = 'callback' \gset
SELECT migrate.run_callback('afterClean', 'SELECT 1');
SELECT migrate.run_callback(NULL, 'SELECT 1');
SELECT migrate.run_callback('afterMigrate', NULL);
SELECT migrate.run_callback('afterMigrate', 'SELECT 1', '');
SELECT migrate.run_callback('afterMigrate', E'SELECT 1;\nVACUUM cb_accounts;', 'afterMigrate.sql');
SELECT migrate.run_callback('afterMigrate', E'SELECT 1;\nCOMMIT;\nSELECT 2;', 'afterMigrate.sql');
SELECT migrate.run_callback('afterMigrate', E'-- pg_migrate:no-transaction\nSELECT 1;', 'afterMigrate.sql');
SELECT migrate.run_callback('afterMigrate', E'SELECT 1;\nBEGIN;', 'afterMigrate.sql');
SELECT migrate.run_callback('afterMigrate', E'SELECT 1;\nSELEC 2;', 'afterMigrate.sql');
SELECT migrate.run_callback('afterMigrate', E'GRANT SELECT ON cb_accounts TO cb_reader;\nSELECT 1 / 0;', 'afterMigrate.sql');
SELECT count(*) - :callbacks_before AS recorded FROM migrate.history WHERE action = 'callback';
-- Not inside a migration's script.
SELECT migrate.register('2', 'nested', $$SELECT migrate.run_callback('afterMigrate', 'SELECT 1')$$);
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
-- Not for PUBLIC (a role that may read the catalog may not run a callback).
GRANT USAGE ON SCHEMA migrate TO cb_reader;
SET ROLE cb_reader;
SELECT migrate.run_callback('afterMigrate', 'SELECT 1');
RESET ROLE;
REVOKE USAGE ON SCHEMA migrate FROM cb_reader;
-- A migration applied with a callback in its transaction is reverted without the leftovers
-- check (the callback's changes cannot be told from the migration's), like one applied with a
-- repeatable.
SELECT version, name FROM migrate.revert();
SELECT count(*) AS revert_problems FROM migrate.validate();
DROP EXTENSION pg_migrate;
DROP ROLE cb_reader;
