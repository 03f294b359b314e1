-- Privileges: changing functions are not for PUBLIC; the catalog changes only through them.
CREATE EXTENSION pg_migrate;
CREATE ROLE priv_app LOGIN;
CREATE ROLE priv_deployer LOGIN;
GRANT CREATE ON SCHEMA public TO priv_deployer;
-- The README's grants for a deploy role:
GRANT USAGE ON SCHEMA migrate TO priv_deployer;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO priv_deployer;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text), migrate.unregister(text),
      migrate.apply(text), migrate.revert(int), migrate.revert_to(text), migrate.baseline(text, text)
      TO priv_deployer;
SELECT bool_and(NOT has_function_privilege('public', p.oid, 'EXECUTE')) AS public_cannot_change
  FROM pg_proc p WHERE pronamespace = 'migrate'::regnamespace
   AND proname IN ('register', 'apply', 'revert', 'revert_to', 'baseline', 'unregister');
-- A role without the grants: permission denied, nothing changes.
SET ROLE priv_app;
SELECT migrate.register('1', 'one', 'CREATE TABLE priv_t (id int)');
SELECT * FROM migrate.apply();
SELECT * FROM migrate.status();
INSERT INTO migrate.migrations (version, version_parts, name, up_sql, checksum) VALUES ('9', '{9}', 'x', 'SELECT 1', 'x');
RESET ROLE;
-- With USAGE on the schema but no EXECUTE grant: permission denied for the function.
GRANT USAGE ON SCHEMA migrate TO priv_app;
SET ROLE priv_app;
SELECT migrate.register('1', 'one', 'CREATE TABLE priv_t (id int)');
SELECT * FROM migrate.apply();
SELECT * FROM migrate.revert();
SELECT migrate.baseline('1');
SELECT migrate.unregister('1');
SELECT * FROM migrate.status();
-- ...nor does a reading function show what the tables would not (recorded definitions).
SELECT * FROM migrate.schema_diff();
SELECT unacknowledged FROM migrate.drift_status();
RESET ROLE;
SELECT count(*) AS nothing FROM migrate.migrations;
-- The deploy role migrates, as itself, without any privilege on the catalog tables.
SET ROLE priv_deployer;
SELECT migrate.register('1', 'one', 'CREATE TABLE priv_t (id int)', 'DROP TABLE priv_t');
SELECT version FROM migrate.apply();
SELECT version, state, applied_by FROM migrate.status();
SELECT tableowner FROM pg_tables WHERE tablename = 'priv_t';
SELECT version, action, performed_by, role FROM migrate.history;
-- ...but cannot write the catalog directly, nor escalate through a migration.
INSERT INTO migrate.migrations (version, version_parts, name, up_sql, checksum) VALUES ('9', '{9}', 'x', 'SELECT 1', 'x');
UPDATE migrate.migrations SET name = 'x';
DELETE FROM migrate.history;
SELECT migrate.register('2', 'escalate', 'DELETE FROM migrate.history');
SELECT * FROM migrate.apply();
SELECT migrate.register('2', 'escalate', 'CREATE ROLE priv_evil SUPERUSER');
SELECT * FROM migrate.apply();
SELECT migrate.unregister('2');
RESET ROLE;
-- Even the owner cannot edit rows directly: history is append-only, the rest goes through functions.
UPDATE migrate.history SET role = 'x';
DELETE FROM migrate.history;
TRUNCATE migrate.history;
UPDATE migrate.migrations SET applied_seq = NULL;
DELETE FROM migrate.migrations;
SELECT version, state FROM migrate.status();
SELECT count(*) AS history_rows FROM migrate.history;
-- Functions pin search_path; the catalog is dumped by pg_dump.
SELECT p.proname, p.proconfig FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'migrate'::regnamespace AND l.lanname IN ('sql', 'plpgsql') ORDER BY 1;
-- The C functions that deparse (format_type, pg_get_expr...: their output follows search_path).
SELECT p.proname, p.proconfig FROM pg_proc p
 WHERE p.pronamespace = 'migrate'::regnamespace AND p.proname IN ('schema_snapshot', 'schema_snapshot_of', 'snapshot_touched')
 ORDER BY 1;
SELECT c.relname FROM pg_extension e, unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'pg_migrate' ORDER BY 1;
-- migrate.sync() granted for status and check: dry runs only; writing needs register's privilege.
GRANT USAGE ON SCHEMA migrate TO priv_app;
GRANT EXECUTE ON FUNCTION migrate.sync(jsonb, boolean, boolean) TO priv_app;
SET ROLE priv_app;
-- Without SELECT on the catalog it shows nothing of it (names, states, checksums), as status().
SELECT file, action FROM migrate.sync('[{"file": "V50__x.sql", "version": "50", "name": "x", "up": "SELECT 50"}]', dry_run => true);
RESET ROLE;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO priv_app;
SET ROLE priv_app;
SELECT file, action FROM migrate.sync('[{"file": "V50__x.sql", "version": "50", "name": "x", "up": "SELECT 50"}]', dry_run => true);
SELECT file, action FROM migrate.sync('[{"file": "V50__x.sql", "version": "50", "name": "x", "up": "SELECT 50"}]');
RESET ROLE;
REVOKE SELECT ON ALL TABLES IN SCHEMA migrate FROM priv_app;
SELECT count(*) AS registered_50 FROM migrate.migrations WHERE version = '50';
REVOKE ALL ON FUNCTION migrate.sync(jsonb, boolean, boolean) FROM priv_app;
REVOKE USAGE ON SCHEMA migrate FROM priv_app;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
DROP TABLE priv_t;
REVOKE CREATE ON SCHEMA public FROM priv_deployer;
DROP ROLE priv_app, priv_deployer;
-- An extension owner who is no longer a superuser, without USAGE on a schema migrations use:
-- the snapshot after apply, verify() and the revert's check look objects up in the catalogs
-- ("permission denied for schema" from to_regclass() / to_regtype() before 0.13.0).
CREATE ROLE priv_owner SUPERUSER;
CREATE ROLE priv_schema_owner;
CREATE SCHEMA priv_closed AUTHORIZATION priv_schema_owner;
REVOKE ALL ON SCHEMA priv_closed FROM PUBLIC;
SET ROLE priv_owner;
CREATE EXTENSION pg_migrate;
RESET ROLE;
ALTER ROLE priv_owner NOSUPERUSER;
GRANT USAGE ON SCHEMA migrate TO priv_schema_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA migrate TO priv_schema_owner;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO priv_schema_owner;
SET ROLE priv_schema_owner;
CREATE TYPE priv_closed.pair AS (a int);
SELECT migrate.register('1', 'closed schema',
  'CREATE TABLE priv_closed.t (id int, p priv_closed.pair); ALTER TABLE priv_closed.t DROP COLUMN p; DROP TYPE priv_closed.pair',
  'DROP TABLE priv_closed.t; CREATE TYPE priv_closed.pair AS (a int)');
BEGIN;
SELECT version, status FROM migrate.verify();
SELECT version FROM migrate.apply();
COMMIT;
SELECT version, state FROM migrate.status();
SELECT version FROM migrate.revert(1);
SELECT count(*) AS differences FROM migrate.schema_diff();
RESET ROLE;
SELECT count(*) AS differences FROM migrate.schema_diff();
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
DROP SCHEMA priv_closed CASCADE;
DROP ROLE priv_owner, priv_schema_owner;
