-- Drift capture as an attacker would try it (issue 7): no combination of settings, names or
-- roles hides a non-superuser's DDL; leaving the watched space is drift; credentials never
-- reach the log; the protect triggers hold under the replica role; pg_migrate's own objects
-- are not drift.
CREATE EXTENSION pg_migrate;
\set show 'SELECT id, role, command_tag, object_type, object_identity, schema_name, detail, statement FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id'
\set ack 'SELECT migrate.acknowledge_drift(''reviewed in test'') AS acknowledged'
CREATE ROLE tamper_dev LOGIN;
CREATE SCHEMA intr AUTHORIZATION tamper_dev;
:ack;

-- 1. The settings of a dump restore (check_function_bodies off, empty search_path) do not
-- silence capture for a role that could not switch capture off itself.
\c - tamper_dev
SET check_function_bodies = off;
SELECT pg_catalog.set_config('search_path', '', false);
SET application_name = 'pg_restore';
CREATE TABLE intr.t_hidden (id int);
SET pg_migrate.drift_capture = off;
\c - postgres
SELECT object_identity, command_tag, statement, detail FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
-- A restore by such a role is recorded compactly: one row stands for the session's further
-- restore-mode DDL until it is acknowledged (or rolled back); every session gets its own.
\c - tamper_dev
SET check_function_bodies = off;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE intr.t_hidden1 (id int);
CREATE TABLE intr.t_hidden2 (id int);
ALTER TABLE intr.t_hidden ADD COLUMN x int;
\c - postgres
SELECT object_identity, command_tag, statement FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT object, change FROM migrate.schema_diff();
:ack;
\c - tamper_dev
SET check_function_bodies = off;
SELECT pg_catalog.set_config('search_path', '', false);
DROP TABLE intr.t_hidden2;
\c - postgres
SELECT object_identity, command_tag, statement FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
:ack;
-- A rolled back restore row is written again by the next restore-mode DDL.
\c - tamper_dev
SET check_function_bodies = off;
SELECT pg_catalog.set_config('search_path', '', false);
BEGIN;
CREATE TABLE intr.t_gone (id int);
ROLLBACK;
CREATE TABLE intr.t_after_rollback (id int);
\c - postgres
SELECT object_identity, command_tag, statement FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
:ack;
-- Setting pg_migrate.drift_capture before the library is loaded (a placeholder) does not
-- switch capture off for such a role either.
\c - tamper_dev
SET pg_migrate.drift_capture = off;
CREATE TABLE intr.t_placeholder (id int);
SHOW pg_migrate.drift_capture;
\c - postgres
SELECT object_identity, command_tag FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
:ack;
-- A superuser restoring (who could switch capture off anyway) stays quiet.
SET check_function_bodies = off;
SELECT pg_catalog.set_config('search_path', '', false);
CREATE TABLE intr.t_restored (id int);
SELECT count(*) AS superuser_restore_rows FROM migrate.drift WHERE acknowledgement_id IS NULL;
RESET check_function_bodies;
RESET search_path;
RESET application_name;

-- 2. Leaving the watched space is drift. README's exclusions:
INSERT INTO migrate.drift_exclusions (schema_pattern, reason) VALUES ('scratch', 'analysts'' sandbox');
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern) VALUES ('public', 'tmp_*');
CREATE SCHEMA scratch;
CREATE SCHEMA watched;
CREATE TABLE public.ledger (id int);
CREATE TABLE public.ledger2 (id int);
CREATE TABLE public.ledger3 (id int);
CREATE INDEX ledger3_id ON public.ledger3 (id);
CREATE FUNCTION public.calc() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TYPE public.mood AS ENUM ('ok');
CREATE TABLE public.tmp_a (id int);
:ack;
ALTER TABLE public.ledger RENAME TO tmp_ledger;
DROP TABLE public.tmp_ledger;
ALTER TABLE public.ledger2 SET SCHEMA scratch;
DROP TABLE scratch.ledger2;
ALTER INDEX public.ledger3_id RENAME TO tmp_ledger3_id;
ALTER FUNCTION public.calc() RENAME TO tmp_calc;
ALTER TYPE public.mood SET SCHEMA scratch;
DROP SCHEMA scratch CASCADE;
ALTER SCHEMA watched RENAME TO scratch;
:show;
:ack;
-- Moves inside the excluded space, and changes to excluded objects, stay quiet.
ALTER TABLE public.tmp_a RENAME TO tmp_b;
ALTER TABLE public.tmp_b RENAME COLUMN id TO id2;
ALTER TABLE public.tmp_b SET SCHEMA scratch;
DROP TABLE scratch.tmp_b;
:show;
DROP TABLE public.ledger3;
DROP FUNCTION public.tmp_calc();
DROP SCHEMA scratch;
DELETE FROM migrate.drift_exclusions;
:ack;

-- 3. Credentials never reach the drift log (README "What is redacted"); a monitoring role
-- reads it with the README's grants.
CREATE FOREIGN DATA WRAPPER tamper_fdw;
CREATE SERVER tamper_srv FOREIGN DATA WRAPPER tamper_fdw OPTIONS (host 'db1', password 'srv-secret', api_token 'tok');
CREATE USER MAPPING FOR tamper_dev SERVER tamper_srv OPTIONS (user 'app', password 's3cret');
ALTER USER MAPPING FOR tamper_dev SERVER tamper_srv OPTIONS (SET password 'n3w''secret', ADD sslkey '/k');
ALTER SERVER tamper_srv OPTIONS (SET password 'srv-2', SET host 'db2');
CREATE TABLE public.conn (dsn text DEFAULT 'host=db1 password=in-default user=x');
COMMENT ON TABLE public.conn IS 'postgresql://app:uri-secret@db1/app';
CREATE FUNCTION public.connect() RETURNS text LANGUAGE sql
  AS $f$ SELECT 'dbname=app password=in-body' $f$;
DO $$ BEGIN
  EXECUTE 'ALTER USER MAPPING FOR tamper_dev SERVER tamper_srv OPTIONS (SET user ''dyn-secret'')';
END $$;
CREATE SUBSCRIPTION tamper_sub CONNECTION 'host=db1 dbname=app password=sub-secret'
  PUBLICATION p WITH (connect = false);
ALTER SUBSCRIPTION tamper_sub CONNECTION 'host=db2 password=sub-secret2';
ALTER SUBSCRIPTION tamper_sub SET (slot_name = NONE);
DROP SUBSCRIPTION tamper_sub;
-- A new session (library not loaded): the DO block's first statement is recorded with the
-- enclosing DO text; the body is redacted too.
\c
DO $$ BEGIN
  CREATE USER MAPPING FOR PUBLIC SERVER tamper_srv OPTIONS (password 'do-secret');
  EXECUTE 'CREATE ROLE tamper_tmp PASSWORD ''role-secret''';
  CREATE TABLE public.after_role ();
END $$;
DROP ROLE tamper_tmp;
DROP TABLE public.after_role;
-- Escapes spell the option name (decoded as the parser decodes them), and a query string that
-- changes standard_conforming_strings before the statement (scanned under the other setting).
CREATE SERVER tamper_srv2 FOREIGN DATA WRAPPER tamper_fdw OPTIONS (U&"pass\0077ord" 'uesc-secret');
ALTER SERVER tamper_srv2 OPTIONS (SET U&"pass!0077ord" UESCAPE '!' 'uesc2-secret');
DO E'BEGIN CREATE USER MAPPING FOR tamper_dev SERVER tamper_srv2 OPTIONS (\x70assword ''hex-secret''); END';
SET standard_conforming_strings = on;
SET standard_conforming_strings = off \; ALTER USER MAPPING FOR tamper_dev SERVER tamper_srv2 OPTIONS (ADD path 'C:\', SET password 'scs-secret');
RESET standard_conforming_strings;
-- A body the grammar's lexer refuses (a bad Unicode escape) is still scanned for credentials.
SET check_function_bodies = off;
CREATE FUNCTION public.bad_escape() RETURNS void LANGUAGE sql AS $f$ SELECT 'host=x password=esc-secret'; SELECT U&'\zz' $f$;
CREATE FUNCTION public.bad_escape2() RETURNS void LANGUAGE sql AS $f$ SELECT U&'\zz'; ALTER SERVER tamper_srv2 OPTIONS (SET U&"pass\0077ord" 'mixed-secret') $f$;
RESET check_function_bodies;
DROP FUNCTION public.bad_escape();
DROP FUNCTION public.bad_escape2();
SELECT command_tag, statement, statement_source FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT count(*) AS leaked FROM migrate.drift
 WHERE statement ~ '(s3cret|n3w|srv-secret|srv-2|in-default|uri-secret|in-body|dyn-secret|''tok''|sub-secret|do-secret|role-secret|uesc-secret|uesc2-secret|mixed-secret|hex-secret|scs-secret|esc-secret)';
:ack;
DROP FUNCTION public.connect();
DROP TABLE public.conn;
DROP SERVER tamper_srv CASCADE;
DROP SERVER tamper_srv2 CASCADE;
DROP FOREIGN DATA WRAPPER tamper_fdw;
:ack;

-- 4. Not even the owner (a superuser here) erases history or drift under the replica role:
-- every trigger on pg_migrate's tables is ENABLE ALWAYS.
SELECT migrate.register('1', 'one', 'CREATE TABLE public.r1 (id int)', 'DROP TABLE public.r1');
SELECT version FROM migrate.apply();
CREATE TABLE public.r2 (id int);
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM migrate.history;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
TRUNCATE migrate.drift;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE migrate.migrations SET up_sql = 'SELECT 1';
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM migrate.drift;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
TRUNCATE migrate.history, migrate.migrations;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM migrate.schema_snapshots;
ROLLBACK;
SELECT count(*) AS history_rows FROM migrate.history;
SELECT count(*) AS drift_rows FROM migrate.drift WHERE object_identity = 'public.r2';
SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relnamespace = 'migrate'::regnamespace AND NOT t.tgisinternal AND t.tgenabled <> 'A'
 ORDER BY 1, 2;
-- drift_status() reports a protect trigger that is not ENABLE ALWAYS (DDL on pg_migrate's own
-- tables is not drift, so this is where it shows).
ALTER TABLE migrate.history DISABLE TRIGGER protect;
SELECT capture FROM migrate.drift_status();
ALTER TABLE migrate.history ENABLE REPLICA TRIGGER protect;
SELECT capture FROM migrate.drift_status();
ALTER TABLE migrate.history ENABLE ALWAYS TRIGGER protect;
SELECT capture FROM migrate.drift_status();
-- ...and what the owner could drop, add or replace with every trigger still ENABLE ALWAYS.
-- (capture off: the drift ids later in this file stay as they are)
BEGIN;
SET LOCAL pg_migrate.drift_capture = off;
DROP TRIGGER protect ON migrate.history;
CREATE TRIGGER protect BEFORE INSERT ON migrate.history FOR EACH ROW EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.history ENABLE ALWAYS TRIGGER protect;
DROP TRIGGER protect_truncate ON migrate.drift;
SET LOCAL pg_migrate.drift_capture = on;
SELECT capture FROM migrate.drift_status();
ROLLBACK;
BEGIN;
SET LOCAL pg_migrate.drift_capture = off;
CREATE FUNCTION public.tamper_skip() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER skip_rows BEFORE INSERT ON migrate.drift FOR EACH ROW EXECUTE FUNCTION public.tamper_skip();
CREATE RULE keep_nothing AS ON INSERT TO migrate.drift_acknowledgements DO INSTEAD NOTHING;
ALTER TABLE migrate.drift ENABLE ROW LEVEL SECURITY;
-- named like pg_migrate's own, calling its function, but elsewhere or otherwise
CREATE TRIGGER invalidate_cache BEFORE INSERT ON migrate.history FOR EACH ROW EXECUTE FUNCTION migrate.drift_exclusions_changed();
DROP TRIGGER protect ON migrate.runs;
CREATE TRIGGER protect BEFORE UPDATE OR DELETE ON migrate.runs FOR EACH ROW WHEN (false) EXECUTE FUNCTION migrate.protect_catalog();
ALTER TABLE migrate.runs ENABLE ALWAYS TRIGGER protect;
SET LOCAL pg_migrate.drift_capture = on;
SELECT capture FROM migrate.drift_status();
ROLLBACK;
BEGIN;
SET LOCAL pg_migrate.drift_capture = off;
CREATE OR REPLACE FUNCTION migrate.drift_capture_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE OR REPLACE FUNCTION migrate.protect_catalog() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
ALTER FUNCTION migrate.drift_capture_drop() SET pg_migrate.drift_capture = off;
SET LOCAL pg_migrate.drift_capture = on;
SELECT capture FROM migrate.drift_status();
ROLLBACK;
-- The ddl_command_start trigger fires for the tags the install script gives it (every DROP,
-- CREATE EXTENSION, the ALTER TABLE family): one tag fewer, or another trigger given tags, is a
-- change (a catalog update, as only a superuser could make it).
BEGIN;
UPDATE pg_catalog.pg_event_trigger SET evttags = pg_catalog.array_remove(evttags, 'DROP TABLE')
 WHERE evtname = 'migrate_drift_start';
UPDATE pg_catalog.pg_event_trigger SET evttags = '{COMMENT}' WHERE evtname = 'migrate_drift_ddl';
SELECT capture FROM migrate.drift_status();
ROLLBACK;
SELECT pg_catalog.cardinality(evttags) AS start_tags FROM pg_catalog.pg_event_trigger WHERE evtname = 'migrate_drift_start';
SELECT capture FROM migrate.drift_status();
SELECT version FROM migrate.revert();
DROP TABLE public.r2;
:ack;

-- 5. pg_migrate's own objects are not the user's schema: README's deploy and monitoring
-- setup leaves no drift, and neither does updating the extension.
CREATE ROLE deployer;
CREATE ROLE monitoring;
GRANT USAGE ON SCHEMA migrate TO deployer;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO deployer;
GRANT EXECUTE ON FUNCTION migrate.register(text, text, text, text), migrate.unregister(text),
      migrate.apply(text), migrate.revert(int), migrate.revert_to(text),
      migrate.baseline(text, text) TO deployer;
GRANT USAGE ON SCHEMA migrate TO monitoring;
GRANT SELECT ON ALL TABLES IN SCHEMA migrate TO monitoring;
GRANT EXECUTE ON FUNCTION migrate.acknowledge_drift(text, bigint) TO monitoring;
COMMENT ON TABLE migrate.drift IS 'reviewed daily';
CREATE INDEX drift_by_role ON migrate.drift (role);
DROP INDEX migrate.drift_by_role;
-- The CI gate passes right after the setup.
SELECT unacknowledged = 0 AND schema_differences = 0 AS ci_gate_passes FROM migrate.drift_status();
:show;
-- A grant on the user's own schema is drift (make it a migration, or acknowledge it).
GRANT CREATE ON SCHEMA public TO deployer;
SELECT object_type, object_identity, statement FROM migrate.drift WHERE acknowledgement_id IS NULL;
:ack;
REVOKE CREATE ON SCHEMA public FROM deployer;
:ack;
-- Moving an object into pg_migrate's schema is leaving the watched space.
CREATE TABLE public.into_migrate (id int);
:ack;
ALTER TABLE public.into_migrate SET SCHEMA migrate;
DROP TABLE migrate.into_migrate;
:show;
:ack;
-- CREATE EXTENSION and ALTER EXTENSION ... UPDATE of pg_migrate are not drift.
DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate VERSION '0.1.0';
CREATE TABLE public.before_update (id int);
ALTER EXTENSION pg_migrate UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pg_migrate';
SELECT command_tag, object_identity FROM migrate.drift ORDER BY id;
DROP TABLE public.before_update;
REVOKE ALL ON SCHEMA migrate FROM deployer, monitoring;
DROP ROLE deployer;
DROP ROLE monitoring;

-- 6. A migration does not write pg_migrate's tables, even applied by the owner or a superuser,
-- whom the protect triggers let through: an exclusion added by a migration would hide what it
-- or later DDL does. Refused when registered (by name), and at run time whatever the path (a
-- function); the owner's own INSERT outside migrations still works.
SELECT migrate.register('1', 'exclude', 'CREATE TABLE public.t6 (id int); INSERT INTO migrate.drift_exclusions (schema_pattern) VALUES (''public'')');
SELECT migrate.register('1', 'forget', 'TRUNCATE migrate.drift_exclusions');
SELECT migrate.register('1', 'quiet', 'UPDATE migrate.drift SET statement = NULL');
CREATE FUNCTION public.sneak_exclusion() RETURNS void LANGUAGE sql
  AS $$ INSERT INTO migrate.drift_exclusions (schema_pattern) VALUES ('public') $$;
SELECT migrate.register('1', 'sneak', 'CREATE TABLE public.t6 (id int); SELECT public.sneak_exclusion()');
SELECT version FROM migrate.apply();
SELECT version, line, status FROM migrate.plan();
SELECT count(*) AS exclusions, to_regclass('public.t6') AS t6 FROM migrate.drift_exclusions;
SELECT migrate.unregister('1');
INSERT INTO migrate.drift_exclusions (schema_pattern, reason) VALUES ('scratch', 'outside migrations');
SELECT schema_pattern FROM migrate.drift_exclusions;
DELETE FROM migrate.drift_exclusions;
-- ...nor through a deferred trigger it creates, which fires at commit, after its statements;
-- reading pg_migrate's tables (also with a row lock) is fine.
CREATE FUNCTION public.sneak_exclusion_trigger() RETURNS trigger LANGUAGE plpgsql
  AS $$BEGIN INSERT INTO migrate.drift_exclusions (schema_pattern) VALUES ('public'); RETURN NULL; END$$;
SELECT migrate.register('1', 'deferred', $m$
CREATE TABLE public.t6 (id int);
CREATE CONSTRAINT TRIGGER t6_later AFTER INSERT ON public.t6 DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION public.sneak_exclusion_trigger();
INSERT INTO public.t6 VALUES (1);
SELECT count(*) FROM (SELECT FROM migrate.migrations FOR UPDATE) locked;
$m$);
SELECT version FROM migrate.apply();
SELECT count(*) AS exclusions, to_regclass('public.t6') AS t6 FROM migrate.drift_exclusions;
SELECT migrate.unregister('1');
-- ...and only until that transaction ends, PREPARE TRANSACTION included
SELECT migrate.register('1', 'prepared', 'CREATE TABLE public.t7 (id int)');
BEGIN;
SELECT version FROM migrate.apply();
PREPARE TRANSACTION 'tamper_prepared';
INSERT INTO migrate.drift_exclusions (schema_pattern, reason) VALUES ('later', 'a transaction of its own');
DELETE FROM migrate.drift_exclusions WHERE schema_pattern = 'later';
ROLLBACK PREPARED 'tamper_prepared';
SELECT migrate.unregister('1');
DROP FUNCTION public.sneak_exclusion_trigger();
DROP FUNCTION public.sneak_exclusion();

-- Clean up.
DROP EXTENSION pg_migrate;
DROP SCHEMA intr CASCADE;
DROP ROLE tamper_dev;
