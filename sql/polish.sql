-- What a new user tripped over (issue 8). README's examples of these behaviours are copied from
-- this file's expected output (test/readme_check.sh checks that they still match).
CREATE EXTENSION pg_migrate;
CREATE ROLE polish_reader NOLOGIN;

-- Empty and comment-only scripts are no-op migrations.
SELECT migrate.register('1', 'placeholder', '', '-- nothing to undo');
SELECT migrate.register('2', 'comments only', E'-- nothing to do yet\n/* see ticket 42 */', '  ');
SELECT version, name FROM migrate.apply();
SELECT version FROM migrate.revert();

-- An unknown target is an error for revert_to as for apply; nothing is reverted.
SELECT * FROM migrate.apply('99');
SELECT * FROM migrate.revert_to('1.5');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert_to('1');
-- revert(steps) counts migrations, not versions: more steps than applied is an error.
SELECT * FROM migrate.revert(13);
SELECT version FROM migrate.revert_to('0');

-- repair: an applied migration whose down script is broken.
SELECT migrate.register('3', 'make tabel', 'CREATE TABLE pol_t (id int)', 'DROP TABLE pol_tt');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
SELECT migrate.register('3', 'make table', 'CREATE TABLE pol_t (id int)', 'DROP TABLE pol_t');
SELECT migrate.repair('3', name => 'make table', down => 'DROP TABLE pol_t');
SELECT version, name, action, detail FROM migrate.history WHERE action = 'repair';
SELECT migrate.repair('3', name => 'make table');
SELECT * FROM migrate.validate();
SELECT version, name FROM migrate.revert();
SELECT to_regclass('pol_t') IS NULL AS reverted;
-- repair refuses bad input and writes nothing.
SELECT migrate.repair('9', name => 'x');
SELECT migrate.repair('3');
SELECT migrate.repair('3', name => ' ');
-- A non-transactional down script (DROP INDEX CONCURRENTLY for an index built concurrently) is
-- taken with its run mode, as register takes it (it was refused).
SELECT migrate.repair('3', down => E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS pol_i');
SELECT down_mode FROM migrate.migrations WHERE version = '3';
SELECT migrate.repair('3', down => 'DROP TABLE pol_t', remove_down => true);
GRANT USAGE ON SCHEMA migrate TO polish_reader;
SET ROLE polish_reader;
SELECT migrate.repair('3', remove_down => true);
RESET ROLE;
REVOKE USAGE ON SCHEMA migrate FROM polish_reader;
SELECT migrate.repair('3', remove_down => true);
SELECT version, action, detail FROM migrate.history WHERE action = 'repair' ORDER BY id;
SELECT down_sql IS NULL AS no_down FROM migrate.migrations WHERE version = '3';

-- register from PL/pgSQL: a syntax error still names the migration and the line.
DO $$ BEGIN PERFORM migrate.register('4', 'typo', E'SELECT 1;\nCREATE TABLE pol_x (id int;'); END $$;

-- verify: a down script that uses an enum value its up script adds cannot be tried in one
-- transaction (55P04): unverifiable, not failed; the real revert works.
CREATE TYPE pol_mood AS ENUM ('ok');
CREATE TABLE pol_feel (m pol_mood);
SELECT migrate.register('5', 'add meh', 'ALTER TYPE pol_mood ADD VALUE ''meh''',
                        'DELETE FROM pol_feel WHERE m = ''meh''');
SELECT version, status, detail FROM migrate.verify('5');
SELECT version FROM migrate.apply('5');
SELECT version FROM migrate.revert();

-- A read-only transaction (and a standby: test/t/035_standby.pl) refuses changing functions.
BEGIN READ ONLY;
SELECT * FROM migrate.apply();
ROLLBACK;
DROP EXTENSION pg_migrate;
DROP TABLE pol_feel, pol_t;
DROP TYPE pol_mood;

-- Below the baseline is a state (status), not a validate() problem.
CREATE EXTENSION pg_migrate;
SELECT migrate.baseline('5', 'adopted');
SELECT migrate.register('3', 'old', 'SELECT 1');
SELECT migrate.register('6', 'after', 'SELECT 1');
SELECT migrate.register('7', 'next', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.register('6.5', 'fix', 'SELECT 1');
SELECT migrate.register('8', 'later', 'SELECT 1');
SELECT version, name, state FROM migrate.status();
SELECT * FROM migrate.validate();
DROP EXTENSION pg_migrate;
DROP ROLE polish_reader;

-- Settings typos: any pg_migrate call, even of a SQL function, loads the library, which reserves
-- the pg_migrate. prefix. A new session has not loaded it yet.
CREATE EXTENSION pg_migrate;
\c
SET pg_migrate.lock_timout = '2s';
SELECT count(*) FROM migrate.status();
SET pg_migrate.lock_timout = '2s';
SET pg_migrate.lock_timeout = '2s';
\c
SELECT migrate.current_version();
SET pg_migrate.lock_retrys = 3;
DROP EXTENSION pg_migrate;

-- verify proves most reverts from the system catalogs alone (no snapshots); what the catalogs
-- keep after a correct revert (a dropped column's row, lazily cleared flags) is not a
-- difference, and a forgotten change still is.
CREATE EXTENSION pg_migrate;
CREATE TABLE pol_v (id bigint PRIMARY KEY, v text);
SELECT migrate.register('1', 'column', 'ALTER TABLE pol_v ADD COLUMN c int; CREATE INDEX pol_v_c ON pol_v (c);',
                        'DROP INDEX pol_v_c; ALTER TABLE pol_v DROP COLUMN c;');
SELECT migrate.register('2', 'options', 'ALTER TABLE pol_v SET (fillfactor = 50)', 'ALTER TABLE pol_v RESET (fillfactor)');
SELECT migrate.register('3', 'forgets options', 'ALTER TABLE pol_v SET (fillfactor = 60)', 'SELECT 1');
SELECT migrate.register('4', 'forgets default', 'ALTER TABLE pol_v ALTER COLUMN v SET DEFAULT ''x''', 'SELECT 1');
SELECT migrate.register('5', 'trigger', $$CREATE FUNCTION pol_trg() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER pol_v_t BEFORE INSERT ON pol_v FOR EACH ROW EXECUTE FUNCTION pol_trg();$$,
                        'DROP TRIGGER pol_v_t ON pol_v; DROP FUNCTION pol_trg();');
SELECT migrate.register('6', 'renames', 'ALTER TABLE pol_v RENAME COLUMN v TO w', 'SELECT 1');
SELECT migrate.register('7', 'type and back', 'ALTER TABLE pol_v ALTER COLUMN id TYPE numeric',
                        'ALTER TABLE pol_v ALTER COLUMN id TYPE bigint');
SELECT migrate.register('8', 'not null forgotten', 'ALTER TABLE pol_v ALTER COLUMN w SET NOT NULL', 'SELECT 1');
SELECT migrate.register('9', 'default and back', 'ALTER TABLE pol_v ALTER COLUMN w DROP DEFAULT',
                        'ALTER TABLE pol_v ALTER COLUMN w SET DEFAULT ''x''');
SELECT version, name, status, object, change, detail FROM migrate.verify();
DROP EXTENSION pg_migrate;
DROP TABLE pol_v;
-- A session with standard_conforming_strings off (a legacy setting): pg_migrate's own SQL
-- (schema_diff, drift_status, exclusions, the revert check) runs with it on; the
-- migration's statements run as the session reads them.
CREATE EXTENSION pg_migrate;
CREATE TABLE pol_scs (id int);
SELECT migrate.acknowledge_drift('setup') > 0 AS acknowledged;
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern) VALUES ('public', 'pol\_*');
SET standard_conforming_strings = off;
SET escape_string_warning = off;
CREATE TABLE pol_x (id int);
CREATE TABLE "pol\_y" (id int);
SELECT object_identity FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT object, change FROM migrate.schema_diff() ORDER BY object;
SELECT unacknowledged, schema_differences FROM migrate.drift_status();
SELECT migrate.register('1', 'backslash', 'CREATE TABLE pol_bs (v text DEFAULT ''a\\b'')', 'DROP TABLE pol_bs');
SELECT count(*) AS applied FROM migrate.apply();
SELECT pg_catalog.pg_get_expr(adbin, adrelid) FROM pg_catalog.pg_attrdef WHERE adrelid = 'pol_bs'::regclass;
SELECT count(*) AS reverted FROM migrate.revert(1);
-- The first DDL of a new session, whose capture reads the exclusions under pg_migrate's own
-- settings: the statement is still scanned for credentials as the session wrote it, and
-- identities are quoted as snapshot keys are.
DELETE FROM migrate.drift_exclusions;
CREATE FOREIGN DATA WRAPPER pol_dw;
CREATE SERVER pol_srv FOREIGN DATA WRAPPER pol_dw;
SELECT migrate.acknowledge_drift('fdw') > 0 AS acknowledged;
\c
SET standard_conforming_strings = off;
SET escape_string_warning = off;
CREATE USER MAPPING FOR CURRENT_USER SERVER pol_srv OPTIONS (password 'x\'', user 'hunter2');
\c
SET quote_all_identifiers = on;
CREATE TABLE pol_q1 (id int);
CREATE TABLE pol_q2 (id int);
RESET quote_all_identifiers;
SELECT object_type, object_identity, statement FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
RESET standard_conforming_strings;
RESET escape_string_warning;
DROP EXTENSION pg_migrate;
DROP TABLE pol_scs, pol_x, "pol\_y", pol_q1, pol_q2;
DROP SERVER pol_srv CASCADE;
DROP FOREIGN DATA WRAPPER pol_dw;
