-- register: registered / unchanged / replaced; applied migrations never change.
CREATE EXTENSION pg_migrate;
-- Several text results in one row: each must outlive the SPI context its call freed (it did
-- not, and this crashed the backend).
SELECT migrate.register('90', 'a', 'SELECT 1') AS r1, migrate.register('91', 'b', 'SELECT 2') AS r2,
       migrate.register('92', 'c', 'SELECT 3') AS r3;
SELECT migrate.unregister('90') AS u1, migrate.unregister('91') AS u2, migrate.unregister('92') AS u3;
SELECT migrate.register('1', 'create t', 'CREATE TABLE reg_t (id int);', 'DROP TABLE reg_t;');
SELECT migrate.register('1', 'create t', 'CREATE TABLE reg_t (id int);', 'DROP TABLE reg_t;');
-- A pending migration's content changed: replaced, with a NOTICE naming both checksums.
SELECT migrate.register('1', 'create t', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t;');
SELECT checksum = migrate.checksum('CREATE TABLE reg_t (id bigint);') AS new_checksum FROM migrate.migrations;
SELECT checksum = encode(sha256(convert_to('CREATE TABLE reg_t (id bigint);', 'UTF8')), 'hex') AS is_sha256
  FROM migrate.migrations;
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t;');
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id bigint);');
SELECT down_sql IS NULL AS no_down FROM migrate.migrations WHERE version = '1';
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t;');
SELECT version, name FROM migrate.apply();
-- Applied: same content is unchanged; a different up script is refused naming both checksums.
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t;');
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id int);', 'DROP TABLE reg_t;');
SELECT migrate.register('1', 'renamed', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t;');
SELECT migrate.register('1', 'create table t', 'CREATE TABLE reg_t (id bigint);', 'DROP TABLE reg_t CASCADE;');
SELECT name, checksum = migrate.checksum('CREATE TABLE reg_t (id bigint);') AS untouched, down_sql FROM migrate.migrations;
-- Scripts are checked at register time with the server's parser. Empty or comment-only
-- scripts are no-op migrations.
SELECT migrate.register('2', 'empty', '   -- only a comment');
SELECT migrate.register('2', 'empty down', 'SELECT 1', '/* nothing */');
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'syntax', E'SELECT 1;\nCREAT TABLE x ();');
SELECT migrate.register('2', 'psql', E'SELECT 1;\n\\set ON_ERROR_STOP on\nSELECT 2;');
-- pg_dump's \restrict and \unrestrict lines only guard psql's restore: a dump is a baseline
BEGIN;
SELECT migrate.register('2', 'dump', E'--\n-- PostgreSQL database dump\n--\n\n\\restrict Qx7sd9Kk2\n\nSET lock_timeout = 0;\nCREATE TABLE from_dump (id int);\n\n\\unrestrict Qx7sd9Kk2\n');
SELECT version, name FROM migrate.apply('2');
SELECT to_regclass('from_dump') IS NOT NULL AS created;
SELECT count(*) FROM migrate.lint(E'\\restrict Qx7sd9Kk2\nCREATE TABLE t2 (id int);\n\\unrestrict Qx7sd9Kk2\n');
ROLLBACK;
-- COMMIT splits a transactional script (CALL migrate.run()); a non-transactional one refuses it
SELECT migrate.register('2', 'commit', E'-- pg_migrate:no-transaction\nCREATE TABLE x ();\nCOMMIT;');
SELECT migrate.register('2', 'begin', E'BEGIN;\nCREATE TABLE x ();');
SELECT migrate.register('2', 'savepoint', E'SAVEPOINT a;');
SELECT migrate.register('2', 'cic', E'CREATE TABLE x (a int);\n\n  CREATE INDEX CONCURRENTLY x_a ON x (a);');
SELECT migrate.register('2', 'dic', 'DROP INDEX CONCURRENTLY x_a');
SELECT migrate.register('2', 'reindex', 'REINDEX (CONCURRENTLY) TABLE x');
-- The no-transaction directive below the first line: named as misplaced, not as the statement
-- that needs it.
SELECT migrate.register('2', 'late directive', E'-- builds the index\n-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY x_a ON x (a);');
SELECT migrate.register('2', 'reindex schema', 'REINDEX SCHEMA public');
SELECT migrate.register('2', 'move', 'ALTER DATABASE contrib_regression SET TABLESPACE pg_default');
SELECT migrate.register('2', 'move', E'-- pg_migrate:no-transaction\nALTER DATABASE contrib_regression SET TABLESPACE pg_default');
SELECT migrate.register('2', 'vacuum', 'VACUUM FULL reg_t');
SELECT migrate.register('2', 'db', 'CREATE DATABASE nope');
SELECT migrate.register('2', 'system', 'ALTER SYSTEM SET work_mem = ''1MB''');
SELECT migrate.register('2', 'copy', 'COPY reg_t FROM STDIN');
SELECT migrate.register('2', 'down bad', 'SELECT 1', 'ROLLBACK');
SELECT migrate.register('2', 'discard', 'DISCARD ALL');
SELECT migrate.register('2', 'subscription', 'CREATE SUBSCRIPTION s CONNECTION ''dbname=x'' PUBLICATION p');
SELECT migrate.register('2', 'subscription', 'ALTER SUBSCRIPTION s ADD PUBLICATION p2');
SELECT migrate.register('2', 'subscription', 'ALTER SUBSCRIPTION s REFRESH PUBLICATION WITH (copy_data = false)');
-- their forms that run in a transaction block are accepted
SELECT migrate.register('2', 'ok forms', E'DISCARD PLANS;\nSET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;\n'
  'ALTER SUBSCRIPTION s ADD PUBLICATION p2 WITH (refresh = false);\n'
  'CREATE SUBSCRIPTION s2 CONNECTION ''dbname=x'' PUBLICATION p WITH (connect = false);') IS NOT NULL AS registered;
SELECT migrate.unregister('2');
-- a script wrapped in one plain BEGIN ... COMMIT runs as the statements between them
SELECT migrate.register('2', 'wrapped', E'BEGIN;\nCREATE TABLE reg_wrapped (id int);\nCOMMIT;', E'START TRANSACTION;\nDROP TABLE reg_wrapped;\nEND;');
SELECT line, statement, status FROM migrate.plan('2');
SELECT count(*) AS findings FROM migrate.lint(E'BEGIN;\nCREATE TABLE reg_w2 (id int);\nCOMMIT;');
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'two blocks', E'BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;');
SELECT migrate.register('2', 'serializable', E'BEGIN ISOLATION LEVEL SERIALIZABLE;\nSELECT 1;\nCOMMIT;');
-- the directive as a block comment opening the first line (the command writes it for diesel)
SELECT migrate.register('2', 'block directive', E'/* pg_migrate:no-transaction */ CREATE INDEX CONCURRENTLY reg_t_block ON reg_t (id);') IS NOT NULL AS registered;
SELECT migrate.unregister('2');
-- pg_migrate itself: refused when registered, and at run time through dynamic SQL
SELECT migrate.register('2', 'own', E'SELECT 1;\nDROP EXTENSION pg_migrate;');
SELECT migrate.register('2', 'own', 'DROP SCHEMA IF EXISTS other, migrate CASCADE');
SELECT migrate.register('2', 'own', 'ALTER EXTENSION pg_migrate UPDATE');
SELECT migrate.register('2', 'own', 'ALTER SCHEMA migrate RENAME TO m2');
SELECT migrate.register('2', 'own', E'SELECT 1;\nALTER FUNCTION migrate.schema_snapshot() RENAME TO zz;');
SELECT migrate.register('2', 'own', 'CREATE TRIGGER t BEFORE INSERT ON migrate.history FOR EACH ROW EXECUTE FUNCTION f()');
-- pg_migrate's event triggers are pg_migrate's too
SELECT migrate.register('2', 'own', 'ALTER EVENT TRIGGER migrate_drift_ddl DISABLE');
SELECT migrate.register('2', 'own', 'DROP EVENT TRIGGER IF EXISTS audit_ddl, migrate_drift_drop');
SELECT migrate.register('2', 'own', 'ALTER EVENT TRIGGER migrate_drift_start RENAME TO x');
-- a comment or security label on pg_migrate's objects changes them too
SELECT migrate.register('2', 'own', 'COMMENT ON TABLE migrate.history IS ''x''');
SELECT migrate.register('2', 'own', $$SELECT setval('migrate.history_id_seq', 1);$$);
SELECT migrate.register('2', 'own', $$SELECT pg_catalog.nextval('"migrate".history_id_seq'::regclass);$$);
SELECT migrate.register('2', 'own', $$SELECT setval(' MIGRATE . history_id_seq', 1);$$);
SELECT migrate.register('2', 'own', $$COMMENT ON EXTENSION pg_migrate IS 'x';$$);
SELECT migrate.register('2', 'own', $$COMMENT ON SCHEMA migrate IS 'x';$$);
SELECT migrate.register('2', 'own', 'COMMENT ON COLUMN migrate.history.version IS ''x''');
SELECT migrate.register('2', 'own', 'COMMENT ON FUNCTION migrate.status() IS ''x''');
SELECT migrate.register('2', 'own', $$SECURITY LABEL FOR dummy ON TABLE migrate.drift IS 'x'$$);
-- a table of the user's named migrate is not pg_migrate's
CREATE TABLE public.migrate (id int);
SELECT migrate.register('2', 'user table', 'DROP TRIGGER IF EXISTS audit ON migrate; ALTER TABLE migrate ADD COLUMN c int') IS NOT NULL AS registered;
SELECT line, status FROM migrate.plan('2');
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'user table', 'COMMENT ON COLUMN migrate.id IS ''x''') IS NOT NULL AS registered;
SELECT migrate.unregister('2');
DROP TABLE public.migrate;
-- granting pg_migrate's functions is not changing them
SELECT migrate.register('2', 'grant', 'GRANT EXECUTE ON FUNCTION migrate.status() TO PUBLIC') IS NOT NULL AS registered;
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', $q$DO $d$ BEGIN EXECUTE 'DROP EXTENSION pg_migrate'; END $d$$q$, 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
-- Statements that do not name pg_migrate but would hand it to another role or drop it by
-- cascade are refused as they run, also through dynamic SQL; the same statements for
-- another role run.
CREATE ROLE reg_heir;
SELECT migrate.register('2', 'own', 'REASSIGN OWNED BY CURRENT_USER TO reg_heir', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', $q$DO $d$ BEGIN EXECUTE 'DROP OWNED BY CURRENT_USER'; END $d$$q$, 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', E'CREATE TABLE cascade_t (id int);\nDROP EXTENSION plpgsql CASCADE;', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT extowner = current_user::regrole AS extension_kept, (SELECT nspowner = current_user::regrole FROM pg_namespace WHERE nspname = 'migrate') AS schema_kept,
       (SELECT count(*) FROM pg_extension WHERE extname = 'plpgsql') AS plpgsql, to_regclass('cascade_t') AS cascade_t
  FROM pg_extension WHERE extname = 'pg_migrate';
SELECT migrate.register('2', 'other role', 'REASSIGN OWNED BY reg_heir TO CURRENT_USER; DROP OWNED BY reg_heir', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert(1);
SELECT migrate.unregister('2');
DROP ROLE reg_heir;
-- What reaches pg_migrate's schema only through search_path or SET SCHEMA migrate is refused
-- as it runs (the migration fails, nothing changes); GRANTs on pg_migrate's objects still run.
CREATE TABLE own_moved (id int);
SELECT migrate.register('2', 'own', $q$SET search_path = migrate; CREATE OR REPLACE FUNCTION current_version() RETURNS text LANGUAGE sql AS 'SELECT ''999'''$q$, 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.current_version() IS DISTINCT FROM '999' AS untouched;
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', 'ALTER TABLE own_moved SET SCHEMA migrate', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', 'SET search_path = migrate; CREATE TABLE own_new (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
-- The creation schema is search_path's first existing one; a temporary table is no one's.
SELECT migrate.register('2', 'own', 'SET search_path = no_such_schema, migrate, public; CREATE TABLE own_new (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', 'SET search_path = migrate, public; CREATE TEMP TABLE own_temp (id int)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert(1);
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'own', 'SET search_path = migrate, public; CREATE INDEX ON history (version)', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
-- Out of it through search_path: refused too. A foreign key referencing pg_migrate's tables is
-- the user's: created and dropped (its triggers on the referenced table go with it).
SELECT migrate.register('2', 'own', 'SET LOCAL search_path = migrate, public; ALTER FUNCTION current_version() SET SCHEMA public', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT migrate.unregister('2');
SELECT migrate.register('2', 'references', 'CREATE TABLE public.own_audit (v text REFERENCES migrate.migrations (version))', 'DROP TABLE public.own_audit');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert(1);
SELECT migrate.unregister('2');
DROP TABLE own_moved;
-- Prepared statements and WITH HOLD cursors a migration creates end with it, as its settings
-- do; the session's own stay. A failed apply's are removed when the next call begins, so the
-- same migration can PREPARE again.
PREPARE mine AS SELECT 'mine';
SELECT migrate.register('2', 'prepared', E'PREPARE ins (int) AS INSERT INTO reg_t VALUES ($1);\nEXECUTE ins (1);\n'
  'DECLARE c CURSOR WITH HOLD FOR SELECT 1;\nINSERT INTO reg_missing VALUES (1);', 'DELETE FROM reg_t');
SELECT count(*) FROM migrate.apply();
SELECT name FROM pg_prepared_statements ORDER BY name;
CREATE TABLE reg_missing (id int);
SELECT version FROM migrate.apply();
SELECT name FROM pg_prepared_statements ORDER BY name;
SELECT count(*) AS cursors_left FROM pg_cursors;
SELECT version FROM migrate.revert();
DROP TABLE reg_missing;
SELECT migrate.unregister('2');
-- one that replaces the session's statement of the same name: the replacement is the migration's
SELECT migrate.register('2', 'replaces', E'DEALLOCATE mine;\nPREPARE mine AS SELECT ''migration'';', 'SELECT 1');
SELECT version FROM migrate.apply();
SELECT count(*) AS none_left FROM pg_prepared_statements;
SELECT version FROM migrate.revert();
SELECT migrate.unregister('2');
-- LISTEN, LOAD and DISCARD are accepted (lint warns of the first two)
SELECT migrate.register('2', 'session', E'LISTEN deploys;\nUNLISTEN deploys;\nDISCARD PLANS;');
SELECT migrate.unregister('2');
SELECT count(*) AS still_one FROM migrate.migrations;
-- unregister
SELECT migrate.register('2', 'pending', 'SELECT 1');
SELECT migrate.unregister('2');
SELECT migrate.unregister('2');
SELECT migrate.unregister('1');
SELECT migrate.unregister(NULL);
SELECT version FROM migrate.migrations;
DROP EXTENSION pg_migrate;
DROP TABLE reg_t;
