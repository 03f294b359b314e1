-- A migration runs as the calling role, and its settings do not leak.
CREATE EXTENSION pg_migrate;
CREATE ROLE settings_other NOLOGIN;
CREATE SCHEMA settings_s;
SELECT migrate.register('1', 'changes settings', $$
SET search_path = settings_s;
SET work_mem = '77MB';
SET LOCAL statement_timeout = '123s';
SELECT set_config('application_name', 'from-migration', false);
CREATE TABLE in_settings_s (id int);
SET ROLE settings_other;
$$);
SELECT migrate.register('2', 'sees clean settings', $m$
DO $$
BEGIN
  IF current_setting('work_mem') = '77MB' THEN RAISE EXCEPTION 'work_mem leaked'; END IF;
  IF current_setting('search_path') LIKE '%settings_s%' THEN RAISE EXCEPTION 'search_path leaked'; END IF;
  IF current_user <> 'postgres' AND current_user <> session_user THEN RAISE EXCEPTION 'role leaked: %', current_user; END IF;
  IF current_setting('statement_timeout') = '123s' THEN RAISE EXCEPTION 'statement_timeout leaked'; END IF;
END $$;
CREATE TABLE in_caller_path (who text DEFAULT current_user);
INSERT INTO in_caller_path DEFAULT VALUES;
$m$);
SET application_name = 'caller';
SELECT version, name FROM migrate.apply();
SHOW work_mem;
SHOW search_path;
SHOW application_name;
SHOW statement_timeout;
SELECT current_user = session_user AS same_role;
SELECT to_regclass('settings_s.in_settings_s') IS NOT NULL AS created_in_its_path,
       to_regclass('public.in_caller_path') IS NOT NULL AS created_in_callers_path;
SELECT who = current_user AS ran_as_caller FROM in_caller_path;
-- Migrations run with the lock_timeout of pg_migrate.lock_timeout.
SELECT migrate.register('3', 'shows lock_timeout', $$CREATE TABLE seen_lock_timeout AS SELECT current_setting('lock_timeout') AS v$$);
SET pg_migrate.lock_timeout = '250ms';
SELECT version FROM migrate.apply();
SELECT v FROM seen_lock_timeout;
SHOW lock_timeout;
-- Settings are under a reserved prefix.
SET pg_migrate.no_such_setting = 1;
SET pg_migrate.lock_retries = -1;
RESET pg_migrate.lock_timeout;
DROP EXTENSION pg_migrate;
DROP TABLE settings_s.in_settings_s, in_caller_path, seen_lock_timeout;
DROP SCHEMA settings_s;
DROP ROLE settings_other;
RESET application_name;
