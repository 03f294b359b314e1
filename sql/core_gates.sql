-- The gates pg_migrate.lint_blocks_apply, pg_migrate.require_verified_revert and
-- pg_migrate.out_of_order: a role that is not superuser cannot weaken what the DBA set
-- (ALTER DATABASE/ROLE ... SET, postgresql.conf); it may tighten; a superuser may weaken.
CREATE EXTENSION pg_migrate;
CREATE ROLE gate_deployer LOGIN;
GRANT USAGE ON SCHEMA migrate TO gate_deployer;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO gate_deployer;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text), migrate.unregister(text),
      migrate.apply(text), migrate.revert(int), migrate.revert_to(text), migrate.baseline(text, text),
      migrate.plan(text), migrate.verify(text) TO gate_deployer;
GRANT CREATE ON SCHEMA public TO gate_deployer;
-- The DBA closes the gates for the database.
ALTER DATABASE :"DBNAME" SET pg_migrate.lint_blocks_apply = on;
ALTER DATABASE :"DBNAME" SET pg_migrate.require_verified_revert = on;
ALTER DATABASE :"DBNAME" SET pg_migrate.out_of_order = off;
\c - gate_deployer
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
SHOW pg_migrate.lint_blocks_apply;
-- Weakening is refused, however it is tried.
SET pg_migrate.lint_blocks_apply = off;
SET pg_migrate.require_verified_revert = off;
SET pg_migrate.out_of_order = on;
BEGIN;
SET LOCAL pg_migrate.lint_blocks_apply = off;
ROLLBACK;
SELECT set_config('pg_migrate.require_verified_revert', 'off', false);
SELECT set_config('pg_migrate.out_of_order', 'on', true);
CREATE FUNCTION gate_weak() RETURNS text LANGUAGE sql SET pg_migrate.lint_blocks_apply = off
    AS $$ SELECT current_setting('pg_migrate.lint_blocks_apply') $$;
ALTER ROLE gate_deployer SET pg_migrate.out_of_order = on;
ALTER ROLE gate_deployer SET pg_migrate.require_verified_revert = off;
-- Raising the size from which lint findings are errors turns them into warnings: it weakens
-- lint_blocks_apply as setting it off would (a smaller value is allowed).
SET pg_migrate.lint_large_table_rows = 2000000000;
ALTER ROLE gate_deployer SET pg_migrate.lint_large_table_rows = 2000000000;
SET pg_migrate.lint_large_table_rows = 1000;
SHOW pg_migrate.lint_large_table_rows;
RESET pg_migrate.lint_large_table_rows;
-- ...and the gates hold: RESET goes back to the DBA's value.
RESET pg_migrate.lint_blocks_apply;
SELECT current_setting('pg_migrate.lint_blocks_apply') AS lint_blocks_apply,
       current_setting('pg_migrate.require_verified_revert') AS require_verified_revert,
       current_setting('pg_migrate.out_of_order') AS out_of_order;
SELECT migrate.register('2', 'no down', 'CREATE TABLE gate_t2 (id int)');
SELECT version FROM migrate.apply();
-- Tightening (or restating) is allowed.
SET pg_migrate.lint_blocks_apply = on;
SET pg_migrate.out_of_order = off;
SELECT set_config('pg_migrate.require_verified_revert', 'on', true);
\c - postgres
-- A superuser may weaken them.
SET pg_migrate.lint_blocks_apply = off;
SET pg_migrate.require_verified_revert = off;
SET pg_migrate.out_of_order = on;
SELECT version FROM migrate.apply();
SELECT version FROM migrate.revert();
RESET ALL;
-- The DBA weakens one for the deploy role: that is the DBA's value for the role.
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" SET pg_migrate.require_verified_revert = off;
\c - gate_deployer
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
SHOW pg_migrate.require_verified_revert;
SET pg_migrate.require_verified_revert = off;
SET pg_migrate.lint_blocks_apply = off;
SELECT migrate.register('3', 'no down either', 'CREATE TABLE gate_t3 (id int)');
SELECT version FROM migrate.apply();
-- Without a DBA value, the deploy role sets the gates freely.
\c - postgres
ALTER DATABASE :"DBNAME" RESET ALL;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET ALL;
\c - gate_deployer
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
SET pg_migrate.require_verified_revert = on;
SELECT version FROM migrate.apply();
SET pg_migrate.require_verified_revert = off;
SET pg_migrate.lint_blocks_apply = on;
SET pg_migrate.lint_blocks_apply = off;
SET pg_migrate.out_of_order = on;
SHOW pg_migrate.out_of_order;
-- But never stores a weak value for later sessions.
ALTER ROLE gate_deployer SET pg_migrate.out_of_order = on;
ALTER ROLE gate_deployer SET pg_migrate.lint_blocks_apply = on;
-- Nor removes a strict stored value (a DBA's, or one it stored: RESET weakens it); RESET ALL
-- neither, where one is strict.
ALTER ROLE gate_deployer RESET pg_migrate.lint_blocks_apply;
ALTER ROLE gate_deployer SET pg_migrate.lint_blocks_apply TO DEFAULT;
\c - postgres
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" SET pg_migrate.require_verified_revert = on;
\c - gate_deployer
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET ALL;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET pg_migrate.require_verified_revert;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET pg_migrate.out_of_order;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" SET pg_migrate.require_verified_revert = DEFAULT;
\c - postgres
ALTER ROLE gate_deployer RESET pg_migrate.lint_blocks_apply;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET ALL;
-- Before pg_migrate's library is loaded in a session (it is not in session_preload_libraries
-- here), a SET cannot be checked yet: it is checked when the first pg_migrate function loads
-- the library, and a weakening value is then discarded with a WARNING.
\c - postgres
ALTER DATABASE :"DBNAME" SET pg_migrate.require_verified_revert = on;
\c - gate_deployer
SET pg_migrate.require_verified_revert = off;
SELECT migrate.register('4', 'no down', 'CREATE TABLE gate_t4 (id int)');
SHOW pg_migrate.require_verified_revert;
SELECT version FROM migrate.apply();
-- A connection option is refused the same way when the library loads (SHOW then gives the
-- built-in default), and the DBA's value is what pg_migrate uses.
\c "dbname=contrib_regression user=gate_deployer options='-c pg_migrate.require_verified_revert=off'"
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
SHOW pg_migrate.require_verified_revert;
SELECT version FROM migrate.apply();
-- The row threshold the DBA stored for the database and the role holds the same way: a
-- connection option raising it is read as the DBA's value; a deploy role may neither store a
-- raised one (for any database: it would stand as the DBA's) nor remove a stored smaller one.
\c - postgres
ALTER DATABASE :"DBNAME" SET pg_migrate.lint_blocks_apply = on;
ALTER DATABASE :"DBNAME" SET pg_migrate.lint_large_table_rows = 10000;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" SET pg_migrate.lint_large_table_rows = 5000;
CREATE TABLE gate_rows AS SELECT g AS id FROM generate_series(1, 20000) g;
ANALYZE gate_rows;
\c "dbname=contrib_regression user=gate_deployer options='-c pg_migrate.lint_large_table_rows=100000'"
SELECT rule, severity FROM migrate.lint('CREATE INDEX ON gate_rows (id)');
\c "dbname=contrib_regression user=gate_deployer"
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
SHOW pg_migrate.lint_large_table_rows;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET pg_migrate.lint_large_table_rows;
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET ALL;
SET pg_migrate.lint_blocks_apply = off;
RESET pg_migrate.lint_blocks_apply;
ALTER ROLE gate_deployer SET pg_migrate.lint_large_table_rows = 200000;
ALTER ROLE gate_deployer SET pg_migrate.lint_large_table_rows = 1000;
ALTER ROLE gate_deployer RESET pg_migrate.lint_large_table_rows;
-- A value stored for another database counts too (a role's value outranks a database's).
\c - postgres
ALTER ROLE gate_deployer IN DATABASE template1 SET pg_migrate.lint_large_table_rows = 500;
\c "dbname=contrib_regression user=gate_deployer"
SELECT migrate.checksum('') IS NOT NULL AS library_loaded;
ALTER ROLE gate_deployer IN DATABASE template1 SET pg_migrate.lint_large_table_rows = 700;
\c - postgres
ALTER ROLE gate_deployer IN DATABASE template1 RESET ALL;
\c - postgres
ALTER ROLE gate_deployer IN DATABASE :"DBNAME" RESET ALL;
DROP TABLE gate_rows;
ALTER DATABASE :"DBNAME" RESET ALL;
DROP TABLE IF EXISTS gate_t2, gate_t3;
DROP EXTENSION pg_migrate;
DROP SCHEMA migrate;
REVOKE CREATE ON SCHEMA public FROM gate_deployer;
DROP ROLE gate_deployer;
