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
-- COMMIT splits a transactional script (CALL migrate.run()); a non-transactional one refuses it
SELECT migrate.register('2', 'commit', E'-- pg_migrate:no-transaction\nCREATE TABLE x ();\nCOMMIT;');
SELECT migrate.register('2', 'begin', E'BEGIN;\nCREATE TABLE x ();');
SELECT migrate.register('2', 'savepoint', E'SAVEPOINT a;');
SELECT migrate.register('2', 'cic', E'CREATE TABLE x (a int);\n\n  CREATE INDEX CONCURRENTLY x_a ON x (a);');
SELECT migrate.register('2', 'dic', 'DROP INDEX CONCURRENTLY x_a');
SELECT migrate.register('2', 'reindex', 'REINDEX (CONCURRENTLY) TABLE x');
SELECT migrate.register('2', 'vacuum', 'VACUUM FULL reg_t');
SELECT migrate.register('2', 'db', 'CREATE DATABASE nope');
SELECT migrate.register('2', 'system', 'ALTER SYSTEM SET work_mem = ''1MB''');
SELECT migrate.register('2', 'copy', 'COPY reg_t FROM STDIN');
SELECT migrate.register('2', 'down bad', 'SELECT 1', 'ROLLBACK');
-- Statements whose effect stays in the session that applies the migration, not the database
SELECT migrate.register('2', 'listen', E'CREATE TABLE x ();\nLISTEN deploys;');
SELECT migrate.register('2', 'load', 'LOAD ''auto_explain''');
SELECT migrate.register('2', 'discard', 'DISCARD TEMP');
SELECT migrate.register('2', 'prepared', E'PREPARE ins (int) AS INSERT INTO reg_t VALUES ($1);\nEXECUTE ins (1);');
SELECT migrate.register('2', 'prepared other', E'PREPARE a AS SELECT 1;\nDEALLOCATE b;');
SELECT migrate.register('2', 'held', 'DECLARE c CURSOR WITH HOLD FOR SELECT 1');
SELECT migrate.register('2', 'down held', 'SELECT 1', E'DECLARE c CURSOR WITH HOLD FOR SELECT 1;\nCLOSE d;');
-- ... and released in the script itself they are accepted
SELECT migrate.register('2', 'released', E'PREPARE ins (int) AS SELECT $1;\nEXECUTE ins (1);\nDEALLOCATE ins;\n'
  'PREPARE p AS SELECT 1;\nDEALLOCATE ALL;\nDECLARE c CURSOR WITH HOLD FOR SELECT 1;\nCLOSE c;\n'
  'DECLARE d CURSOR WITH HOLD FOR SELECT 1;\nCLOSE ALL;\nDECLARE e CURSOR FOR SELECT 1;');
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
