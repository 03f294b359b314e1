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
-- The gate a migration passes: error-level lint findings under pg_migrate.lint_blocks_apply.
CREATE TABLE cb_big AS SELECT g AS n FROM generate_series(1, 5000) g;
ANALYZE cb_big;
SET pg_migrate.lint_blocks_apply = on;
SELECT migrate.run_callback('afterMigrate', 'ALTER TABLE cb_big ADD COLUMN req int NOT NULL;', 'afterMigrate__req.sql');
RESET pg_migrate.lint_blocks_apply;
DROP TABLE cb_big;
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
-- The revert check leaves out what callbacks did before a transaction's first migration and
-- after its last: a down script's leftover is still found; a grant afterMigrate made on a table
-- the migration altered, and drift from before the deploy, are not its leftovers.
CREATE TABLE cb_base (id int);
SELECT count(*) > 0 AS acknowledged FROM migrate.acknowledge_drift('test setup');
CREATE TABLE cb_drifted (id int);  -- drift before the deploy, not acknowledged
SELECT migrate.register('3', 'rls', 'ALTER TABLE cb_base ENABLE ROW LEVEL SECURITY; ALTER TABLE cb_base RENAME COLUMN id TO ident',
                        'ALTER TABLE cb_base RENAME COLUMN ident TO id; ALTER TABLE cb_base DISABLE ROW LEVEL SECURITY');
SELECT migrate.register('4', 'seq', 'CREATE SEQUENCE cb_left; CREATE TABLE cb_four (id int)', 'DROP TABLE cb_four');
BEGIN;
SELECT migrate.run_callback('beforeMigrate', 'CREATE TABLE IF NOT EXISTS cb_log (id int)', 'beforeMigrate.sql') >= 0 AS ran;
SELECT version FROM migrate.apply('3');
SELECT migrate.run_callback('afterMigrate', 'GRANT SELECT ON cb_base TO cb_reader', 'afterMigrate.sql') >= 0 AS ran;
COMMIT;
BEGIN;
SELECT version FROM migrate.apply('4');
SELECT migrate.run_callback('afterMigrate', 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO cb_reader', 'afterMigrate.sql') >= 0 AS ran;
COMMIT;
SELECT reason FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 3;
SELECT version, name FROM migrate.revert();  -- 4: its sequence is left behind
SELECT version, name FROM migrate.revert();  -- 3: its down script undid it
SELECT version, problem FROM migrate.validate();
DROP SEQUENCE cb_left;
DROP TABLE cb_drifted, cb_log, cb_base, cb_accounts;
DROP EXTENSION pg_migrate;
DROP OWNED BY cb_reader;
DROP ROLE cb_reader;
