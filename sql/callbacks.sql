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
SELECT migrate.run_callback('afterMigrate', 'SELECT 1', E'after\nMigrate.sql');
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
SELECT migrate.unregister('4'), migrate.unregister('3');
SELECT count(*) > 0 AS acknowledged FROM migrate.acknowledge_drift('test: leftover and drift reviewed');
-- A migration and afterMigrate grant on the same table: what the revert should leave cannot be
-- told, so that table is not checked (a correct down script is no leftover).
CREATE ROLE cb_app;
SELECT migrate.register('5', 'grant', 'ALTER TABLE cb_base ADD COLUMN y int; GRANT SELECT ON cb_base TO cb_app',
                        'ALTER TABLE cb_base DROP COLUMN y; REVOKE SELECT ON cb_base FROM cb_app');
BEGIN;
SELECT version FROM migrate.apply();
SELECT migrate.run_callback('afterMigrate', 'GRANT SELECT ON ALL TABLES IN SCHEMA public TO cb_reader', 'afterMigrate.sql') >= 0 AS ran;
COMMIT;
SELECT version, name FROM migrate.revert();
SELECT migrate.unregister('5');
-- Drift acknowledged in the deploy's transaction before its migrations is not theirs, and does
-- not hide what they leave behind on the same table.
COMMENT ON TABLE cb_base IS 'hotfix';  -- drift
SELECT migrate.register('6', 'six', 'ALTER TABLE cb_base ADD COLUMN x int', 'SELECT 1');
BEGIN;
SELECT count(*) > 0 AS acknowledged FROM migrate.acknowledge_drift('reviewed before the deploy');
SELECT version FROM migrate.apply();
COMMIT;
SELECT version, name FROM migrate.revert();
ALTER TABLE cb_base DROP COLUMN x;
SELECT migrate.unregister('6');
-- Drift on a schema (a grant) does not hide the tables a migration adds to it.
GRANT CREATE ON SCHEMA public TO cb_app;  -- drift
SELECT migrate.register('7', 'seven', 'CREATE TABLE cb_seven (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT version, name FROM migrate.revert();
REVOKE CREATE ON SCHEMA public FROM cb_app;
DROP TABLE cb_seven;
SELECT migrate.unregister('7');
SELECT count(*) > 0 AS acknowledged FROM migrate.acknowledge_drift('test: drift reviewed');
-- Each snapshot records the one that was newest when it was recorded (what the check compares with).
SELECT migrate.newest_snapshot_id() = (SELECT max(id) FROM migrate.schema_snapshots) AS newest,
       (SELECT previous_id FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 1) =
       (SELECT id FROM migrate.schema_snapshots ORDER BY id DESC OFFSET 1 LIMIT 1) AS previous_is_the_one_before;
-- Pruned: once the snapshot before an apply is gone, its reverts are not checked (an older one
-- kept as the base of incremental rows does not stand in for it).
CREATE SCHEMA cb_pad;  -- a schema large enough for incremental snapshot rows
DO $$ BEGIN
  FOR i IN 1..800 LOOP
    EXECUTE format('CREATE TABLE cb_pad.%I (a int, b text, c timestamptz, d numeric)', 't_' || md5(i::text));
  END LOOP;
END $$;
SELECT count(*) > 0 AS acknowledged FROM migrate.acknowledge_drift('test: a large schema');
SET pg_migrate.drift_snapshots_kept = 3;
SELECT migrate.register('8', 'eight', 'CREATE TABLE cb_eight (id int)', 'DROP TABLE cb_eight');
SELECT migrate.register('9', 'nine', 'CREATE TABLE cb_nine (id int)', 'DROP TABLE cb_nine');
SELECT migrate.register('10', 'ten', 'CREATE TABLE cb_ten (id int)', 'DROP TABLE cb_ten');
SELECT migrate.register('11', 'eleven', 'CREATE TABLE cb_eleven (id int)', 'DROP TABLE cb_eleven');
SELECT version FROM migrate.apply('8');
BEGIN;
SELECT version FROM migrate.apply('9');
SELECT version FROM migrate.apply('10');
SELECT version FROM migrate.apply('11');
COMMIT;
SELECT count(*) FILTER (WHERE snapshot IS NULL) AS incremental, count(*) FILTER (WHERE snapshot IS NOT NULL) AS full_rows
  FROM migrate.schema_snapshots;
SELECT version, name FROM migrate.revert_to('8');
SELECT version, problem FROM migrate.validate();
RESET pg_migrate.drift_snapshots_kept;
-- The history row names the role that ran the callback (before, the catalog's owner).
GRANT USAGE ON SCHEMA migrate TO cb_reader;
GRANT EXECUTE ON FUNCTION migrate.run_callback(text, text, text) TO cb_reader;
SET ROLE cb_reader;
SELECT migrate.run_callback('afterMigrate', 'SELECT 1', 'afterMigrate__role.sql') >= 0 AS ran;
RESET ROLE;
SELECT role, performed_by FROM migrate.history WHERE version = 'C' ORDER BY id DESC LIMIT 1;
REVOKE EXECUTE ON FUNCTION migrate.run_callback(text, text, text) FROM cb_reader;
REVOKE USAGE ON SCHEMA migrate FROM cb_reader;
DROP TABLE cb_drifted, cb_log, cb_base, cb_accounts, cb_eight;
SET client_min_messages = warning;
DROP SCHEMA cb_pad CASCADE;
RESET client_min_messages;
DROP ROLE cb_app;
DROP EXTENSION pg_migrate;
DROP OWNED BY cb_reader;
DROP ROLE cb_reader;
