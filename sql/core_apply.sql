-- apply: atomic, ordered, errors name the migration and line and keep SQLSTATE/DETAIL/HINT.
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'one', 'CREATE TABLE ap_one (id int);', 'DROP TABLE ap_one;');
SELECT migrate.register('2', 'two', E'CREATE TABLE ap_two (id int);\n\n-- a comment\nINSERT INTO ap_missing VALUES (1);', 'DROP TABLE ap_two;');
-- Migration 2 fails at line 4: nothing of the call is applied, not even migration 1.
SELECT * FROM migrate.apply();
SELECT to_regclass('ap_one') AS one, to_regclass('ap_two') AS two;
SELECT version, state FROM migrate.status();
SELECT count(*) AS no_history FROM migrate.history;
-- The original SQLSTATE, DETAIL and HINT reach the caller.
SELECT migrate.register('2', 'two', E'CREATE TABLE ap_two (id int);\nDO $$ BEGIN\n  RAISE EXCEPTION ''custom failure'' USING ERRCODE = ''P0042'', DETAIL = ''the detail'', HINT = ''the hint'';\nEND $$;', 'DROP TABLE ap_two;');
\set VERBOSITY verbose
SELECT * FROM migrate.apply();
\set VERBOSITY default
DO $$ BEGIN PERFORM migrate.apply();
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'sqlstate=% message=%', SQLSTATE, SQLERRM;
END $$;
-- Unique violation keeps 23505 and its DETAIL.
SELECT migrate.register('2', 'two', E'CREATE TABLE ap_two (id int PRIMARY KEY);\nINSERT INTO ap_two VALUES (1);\nINSERT INTO ap_two VALUES (1);', 'DROP TABLE ap_two;');
SELECT * FROM migrate.apply();
-- Runtime checks of the apply loop: a nested apply is refused, naming the migration.
SELECT migrate.register('2', 'two', 'SELECT count(*) FROM migrate.apply()', 'SELECT 1');
SELECT * FROM migrate.apply();
SELECT migrate.register('2', 'two', 'SELECT migrate.revert()', 'SELECT 1');
SELECT * FROM migrate.apply();
SELECT migrate.register('2', 'two', $$SELECT migrate.register('3', 'x', 'SELECT 1')$$, 'SELECT 1');
SELECT * FROM migrate.apply();
-- A procedure that commits cannot end the migration's transaction.
CREATE PROCEDURE ap_commits() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;
SELECT migrate.register('2', 'two', 'CALL ap_commits()', 'SELECT 1');
SELECT * FROM migrate.apply();
SELECT version, state FROM migrate.status();
-- apply joins the caller's transaction: rolling it back leaves nothing.
SELECT migrate.register('2', 'two', 'CREATE TABLE ap_two (id int);', 'DROP TABLE ap_two;');
BEGIN;
SELECT version, name FROM migrate.apply();
ROLLBACK;
SELECT version, state FROM migrate.status();
SELECT count(*) AS no_history FROM migrate.history;
-- Statements of one script see each other's effects; multi-statement DO bodies and functions work.
SELECT migrate.register('3', 'three', $s$
CREATE TABLE ap_three (id int, note text DEFAULT 'x;y');
CREATE FUNCTION ap_three_count() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM ap_three $$;
INSERT INTO ap_three (id) SELECT g FROM generate_series(1, 3) g;
DO $$ BEGIN IF ap_three_count() <> 3 THEN RAISE EXCEPTION 'wrong'; END IF; END $$;
$s$, 'DROP FUNCTION ap_three_count(); DROP TABLE ap_three;');
-- Target: apply up to and including a version.
SELECT version, name FROM migrate.apply('2');
SELECT version, state FROM migrate.status();
SELECT version, name FROM migrate.apply('2');
SELECT version, name FROM migrate.apply('9');
SELECT version, name FROM migrate.apply();
SELECT ap_three_count(), (SELECT note FROM ap_three LIMIT 1);
SELECT version, name FROM migrate.apply();
SELECT version, action FROM migrate.history ORDER BY id;
SELECT version, name FROM migrate.revert_to('0');
SELECT to_regclass('ap_one') AS one, to_regclass('ap_two') AS two, to_regclass('ap_three') AS three;
DROP PROCEDURE ap_commits();
-- Migrations run in batches, each in a subtransaction; a lock timeout re-runs the batch from its first
-- migration. What a migration may spend retrying (pg_migrate.lock_retry_total) is its own
-- failed attempts and backoffs: re-running the slow migration before it does not use it up.
-- A prepared transaction holds the busy table for the whole call.
CREATE TABLE ap_busy (id int);
BEGIN;
LOCK TABLE ap_busy IN ROW EXCLUSIVE MODE;
PREPARE TRANSACTION 'ap_holder';
SELECT migrate.register('10', 'slow', 'SELECT pg_sleep(0.3); CREATE TABLE ap_slow (id bigint)', 'DROP TABLE ap_slow');
SELECT migrate.register('11', 'busy index', 'CREATE INDEX ap_busy_id ON ap_busy (id)', 'DROP INDEX ap_busy_id');
SET pg_migrate.lock_timeout = '50ms';
SET pg_migrate.lock_retry_delay = '10ms';
SET pg_migrate.lock_retry_max_delay = '10ms';
SET pg_migrate.lock_retries = 3;
SET pg_migrate.lock_retry_total = '1s';
SET client_min_messages = warning;  -- the retry NOTICEs show random delays
DO $$
DECLARE d text;
BEGIN
  PERFORM migrate.apply();
EXCEPTION WHEN lock_not_available THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RAISE WARNING '%', regexp_replace(d, 'in [0-9]+ ms', 'in N ms');
END $$;
RESET client_min_messages;
RESET pg_migrate.lock_timeout;
RESET pg_migrate.lock_retry_delay;
RESET pg_migrate.lock_retry_max_delay;
RESET pg_migrate.lock_retries;
RESET pg_migrate.lock_retry_total;
COMMIT PREPARED 'ap_holder';
SELECT version, state FROM migrate.status() WHERE version IN ('10', '11');
SELECT to_regclass('ap_slow') AS slow_rolled_back;
DROP TABLE ap_busy;
DROP EXTENSION pg_migrate;
