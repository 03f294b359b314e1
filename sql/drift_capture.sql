-- Drift capture: every DDL statement run outside migrate.apply/revert is recorded by the
-- extension's event triggers, one row per object, with the text of that statement.
CREATE EXTENSION pg_migrate;
\set show 'SELECT id, event, performed_by, role, command_tag, object_type, object_identity, schema_name, detail, statement, statement_source FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id'
\set ack 'SELECT migrate.acknowledge_drift(''reviewed in test'') AS acknowledged'

-- A fresh session, library not loaded yet: the first statement's text comes from re-parsing
-- the client's query string; the library is loaded by then, so the hook gives the second.
\c
CREATE TABLE drift_b1 (id int) \; CREATE TABLE drift_b2 (id int);
:show;
:ack;
-- Same for a DO block as a session's first DDL: the first inner statement can only be
-- attributed to the enclosing DO statement, the second is exact.
\c
DO $$ BEGIN CREATE TABLE drift_d1 (); CREATE TABLE drift_d2 (); END $$;
:show;
:ack;

-- Per-row metadata.
CREATE TABLE drift_meta (id int);
SELECT backend_pid = pg_backend_pid() AS pid_ok, transaction_id IS NOT NULL AS has_xid,
       captured_at <= clock_timestamp() AS has_time, application_name, client_addr IS NULL AS unix_socket
  FROM migrate.drift WHERE acknowledgement_id IS NULL;
:ack;

-- A batch of three statements: each row carries its own statement. ALTER TABLE with several
-- subcommands is one row with the subcommands (and the table rewrite) in detail.
ALTER TABLE drift_b1 ADD COLUMN x int, ADD COLUMN y int NOT NULL DEFAULT 0, ADD CONSTRAINT drift_b1_y CHECK (y >= 0) \; ALTER TABLE drift_b2 ALTER COLUMN id TYPE bigint \; CREATE INDEX drift_b1_x ON drift_b1 (x);
:show;
:ack;

-- One statement touching several objects: one row each, never duplicates (the sequence is
-- both created and altered by CREATE TABLE ... serial).
CREATE TABLE drift_s (id serial PRIMARY KEY, ref int REFERENCES drift_s);
:show;
SELECT object_identity, count(*) FROM migrate.drift WHERE acknowledgement_id IS NULL
 GROUP BY 1 HAVING count(*) > 1;
:ack;

-- DDL inside functions (dynamic SQL) is drift, with the text of the inner statement.
CREATE FUNCTION drift_make(n text) RETURNS void LANGUAGE plpgsql
AS $$ BEGIN EXECUTE format('CREATE TABLE %I (id int)', n); END $$;
SELECT drift_make('drift_dyn');
:show;
:ack;

-- GRANT/REVOKE (one row per object), COMMENT.
GRANT SELECT ON drift_b1, drift_b2 TO PUBLIC;
REVOKE SELECT ON drift_b2 FROM PUBLIC;
COMMENT ON COLUMN drift_b1.x IS 'the x';
ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC;
:show;
:ack;

-- DROP via sql_drop: the dropped object (and what a CASCADE takes with it), not its
-- internal parts (row type, indexes, sequences owned, toast).
CREATE VIEW drift_v AS SELECT id FROM drift_dyn;
:ack;
DROP TABLE drift_d1, drift_d2;
DROP TABLE drift_s;
DROP TABLE drift_dyn CASCADE;
ALTER TABLE drift_b1 DROP COLUMN x;
DROP FUNCTION drift_make(text);
:show;
:ack;

-- CREATE / DROP INDEX CONCURRENTLY.
CREATE INDEX CONCURRENTLY drift_b1_y_idx ON drift_b1 (y);
DROP INDEX CONCURRENTLY drift_b1_y_idx;
:show;
:ack;

-- Temporary objects are not drift.
CREATE TEMP TABLE drift_tmp (id int PRIMARY KEY);
CREATE INDEX ON drift_tmp (id);
ALTER TABLE drift_tmp ADD COLUMN x int;
CREATE TEMP VIEW drift_tmp_v AS SELECT 1 AS one;
DROP TABLE drift_tmp;
:show;

-- A transaction that rolls back leaves no drift row; a rolled back savepoint neither.
BEGIN;
CREATE TABLE drift_gone (id int);
ROLLBACK;
BEGIN;
SAVEPOINT s;
CREATE TABLE drift_gone (id int);
ROLLBACK TO SAVEPOINT s;
CREATE TABLE drift_kept (id int);
COMMIT;
:show;
:ack;

-- DDL run by apply/revert is not drift; manual DDL in the same transaction is.
SELECT migrate.register('1', 'create mig', 'CREATE TABLE drift_mig (id int); ALTER TABLE drift_b1 ADD COLUMN m int;',
                        'DROP TABLE drift_mig; ALTER TABLE drift_b1 DROP COLUMN m;');
BEGIN;
CREATE TABLE drift_manual (id int);
SELECT version FROM migrate.apply();
COMMIT;
SELECT version FROM migrate.revert();
:show;
:ack;

-- DDL run inside CREATE/ALTER EXTENSION scripts is not drift; the command itself is.
CREATE EXTENSION seg;
DROP EXTENSION seg;
:show;
:ack;
-- A non-superuser's DDL is recorded although the role has no privilege on the drift log,
-- and the role can neither write the log nor turn capture off.
CREATE ROLE drift_dev;
GRANT CREATE ON SCHEMA public TO drift_dev;
SET ROLE drift_dev;
CREATE TABLE drift_devt (id int);
INSERT INTO migrate.drift (role, event, command_tag) VALUES ('x', 'sql_drop', 'X');
UPDATE migrate.drift SET role = 'x';
DELETE FROM migrate.drift;
TRUNCATE migrate.drift;
SET pg_migrate.drift_capture = off;
SELECT migrate.acknowledge_drift('not mine to acknowledge');
DROP TABLE drift_devt;
RESET ROLE;
:show;
-- Even the owner cannot edit or delete drift rows directly.
UPDATE migrate.drift SET role = 'x';
DELETE FROM migrate.drift;
TRUNCATE migrate.drift;
DELETE FROM migrate.schema_snapshots;
:ack;

-- Exclusions: glob patterns on the schema and on the object's (or its table's) name.
INSERT INTO migrate.drift_exclusions (schema_pattern, reason) VALUES ('drift_scratch', 'sandbox');
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern) VALUES ('public', 'drift_tmp_*');
CREATE SCHEMA drift_scratch;
CREATE TABLE drift_scratch.t (id int);
CREATE TABLE drift_tmp_x (id int);
ALTER TABLE drift_tmp_x ADD COLUMN y int;
CREATE INDEX drift_tmp_x_y ON drift_tmp_x (y);
ALTER TABLE drift_tmp_x ADD CONSTRAINT drift_check CHECK (y > 0);
CREATE TABLE drift_tmpx (id int);
-- An index goes with its table whatever its name: on an excluded table it is not captured, on
-- a watched one it is, named like an excluded pattern or not (created, renamed, dropped).
CREATE INDEX watched_name ON drift_tmp_x (id);
CREATE INDEX drift_tmp_on_watched ON drift_tmpx (id);
ALTER INDEX drift_tmp_on_watched RENAME TO drift_tmp_on_watched2;
DROP INDEX drift_tmp_on_watched2, watched_name;
-- DROP INDEX CONCURRENTLY commits as it goes: the table noted as it started still scopes the
-- index (no snapshot has it to fall back on).
CREATE INDEX watched_conc ON drift_tmp_x (y);
DROP INDEX CONCURRENTLY watched_conc;
-- Indexes a cascade drops (with the function of their expression) are scoped by their table as
-- the reference snapshot recorded it.
CREATE FUNCTION drift_f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
CREATE INDEX watched_expr ON drift_tmp_x (drift_f(id));
CREATE INDEX drift_tmp_expr ON drift_tmpx (drift_f(id));
:show;
:ack;
DROP FUNCTION drift_f(int) CASCADE;
DROP TABLE drift_tmp_x;
DROP SCHEMA drift_scratch CASCADE;
:show;
SELECT * FROM migrate.schema_diff();
:ack;

-- schema_diff() scopes an index by its table too (capture off: only the snapshot sees it).
SET pg_migrate.drift_capture = off;
CREATE TABLE drift_tmp_y (id int);
CREATE INDEX not_tmp_name ON drift_tmp_y (id);
CREATE INDEX drift_tmp_hidden ON drift_tmpx (id);
RESET pg_migrate.drift_capture;
SELECT * FROM migrate.schema_diff();
DROP TABLE drift_tmp_y;
DROP INDEX drift_tmp_hidden;
:ack;

-- Identities are quoted as snapshot keys are, whatever quote_all_identifiers says (a dropped
-- object's identity, which PostgreSQL computes as it drops it under the session's setting, too)
SET quote_all_identifiers = on;
CREATE TABLE drift_quoted (id int);
ALTER TABLE drift_quoted ADD COLUMN b int;
RESET quote_all_identifiers;
SET quote_all_identifiers = on;
CREATE TABLE "Drift ""Q""" (id int);
DROP TABLE "Drift ""Q""";
ALTER TABLE drift_quoted DROP COLUMN b;
DROP TABLE drift_quoted;
RESET quote_all_identifiers;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE object_identity LIKE '%drift_quoted%' OR object_identity LIKE '%Drift%' ORDER BY id;
:ack;

-- Under session_replication_role = replica the triggers still fire (ENABLE ALWAYS).
SET session_replication_role = replica;
CREATE TABLE drift_repl (id int);
RESET session_replication_role;
:show;
SELECT object, change FROM migrate.schema_diff();
:ack;

-- What no trigger sees: capture switched off by a superuser, a disabled event trigger.
-- schema_diff() compares the live schema with the last recorded snapshot and finds it. (The
-- ALTER EVENT TRIGGER statements themselves fire no event trigger: the hook records them.)
SET pg_migrate.drift_capture = off;
ALTER TABLE drift_repl ADD COLUMN hidden text DEFAULT 'h';
SELECT capture FROM migrate.drift_status();
RESET pg_migrate.drift_capture;
ALTER EVENT TRIGGER migrate_drift_ddl DISABLE;
CREATE INDEX drift_hidden ON drift_repl (hidden);
SELECT capture FROM migrate.drift_status();
ALTER EVENT TRIGGER migrate_drift_ddl ENABLE ALWAYS;
ALTER EVENT TRIGGER migrate_drift_ddl ENABLE REPLICA;
SELECT capture FROM migrate.drift_status();
ALTER EVENT TRIGGER migrate_drift_ddl ENABLE ALWAYS;
:show;
SELECT * FROM migrate.schema_diff();
SELECT unacknowledged, schema_differences, last_snapshot_reason, capture FROM migrate.drift_status();

-- Acknowledging: argument checks, partial acknowledgement up to a drift id, then the rest.
CREATE TABLE drift_a1 ();
CREATE TABLE drift_a2 ();
SELECT migrate.acknowledge_drift(NULL);
SELECT migrate.acknowledge_drift('  ');
SELECT migrate.acknowledge_drift('x', 0);
-- (in a transaction: what it sets to read the schema does not stay for the caller's statements)
BEGIN;
SET LOCAL lock_timeout = 0;
SELECT migrate.acknowledge_drift('first one', (SELECT min(id) FROM migrate.drift WHERE acknowledgement_id IS NULL AND object_identity = 'public.drift_a1'));
SHOW lock_timeout;
COMMIT;
-- The change left unacknowledged stays a difference from the reference.
SELECT unacknowledged, schema_differences, last_snapshot_reason FROM migrate.drift_status();
SELECT object, change FROM migrate.schema_diff();
SELECT migrate.acknowledge_drift('the rest');
SELECT unacknowledged, schema_differences, last_snapshot_reason FROM migrate.drift_status();
SELECT id, acknowledged_by, role, note, up_to IS NOT NULL AS partial, drift_rows
  FROM migrate.drift_acknowledgements ORDER BY id DESC LIMIT 2;
SELECT count(*) AS unacknowledged FROM migrate.drift WHERE acknowledgement_id IS NULL;
-- A schema's row left unacknowledged keeps the schema's own entry, not its tables'.
CREATE TABLE drift_a3 ();
GRANT USAGE ON SCHEMA public TO drift_dev;
SELECT migrate.acknowledge_drift('the table', (SELECT min(id) FROM migrate.drift WHERE acknowledgement_id IS NULL));
SELECT object, change FROM migrate.schema_diff();
REVOKE USAGE ON SCHEMA public FROM drift_dev;
DROP TABLE drift_a3;
SELECT migrate.acknowledge_drift('done') > 0 AS acknowledged;
-- Functions (the row qualifies built-in argument types, the snapshot key does not) and column
-- defaults (the row names "for public.t.c") left unacknowledged stay differences too.
CREATE FUNCTION drift_h(text, varchar) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION drift_dflt() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TABLE drift_a4 (a int DEFAULT drift_dflt());
SELECT migrate.acknowledge_drift('base') > 0 AS acknowledged;
CREATE TABLE drift_a5 ();
ALTER FUNCTION drift_h(text, varchar) SECURITY DEFINER;
DROP FUNCTION drift_dflt() CASCADE;
SELECT object_type, object_identity FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT migrate.acknowledge_drift('the table', (SELECT min(id) FROM migrate.drift WHERE acknowledgement_id IS NULL));
SELECT object, change FROM migrate.schema_diff();
DROP TABLE drift_a4, drift_a5;
DROP FUNCTION drift_h(text, varchar);
SELECT migrate.acknowledge_drift('done') > 0 AS acknowledged;
-- A data refresh is not drift; a domain's constraints go with the domain in exclusions, and
-- '?' is one character, as in schema_diff().
CREATE MATERIALIZED VIEW drift_mv AS SELECT 1 AS x;
CREATE DOMAIN drift_xd AS int;
CREATE TABLE "drift_tmp_é" (a int);
SELECT migrate.acknowledge_drift('setup') > 0 AS acknowledged;
REFRESH MATERIALIZED VIEW drift_mv;
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern, reason)
  VALUES ('public', 'drift_x*', 'test'), ('public', 'drift_tmp_?', 'test');
ALTER DOMAIN drift_xd ADD CONSTRAINT c CHECK (VALUE > 0);
COMMENT ON CONSTRAINT c ON DOMAIN drift_xd IS 'hi';
ALTER DOMAIN drift_xd DROP CONSTRAINT c;
ALTER TABLE "drift_tmp_é" ADD COLUMN b int;
SELECT count(*) AS captured FROM migrate.drift WHERE acknowledgement_id IS NULL;
DELETE FROM migrate.drift_exclusions WHERE reason = 'test';
DROP MATERIALIZED VIEW drift_mv;
DROP DOMAIN drift_xd;
DROP TABLE "drift_tmp_é";
SELECT migrate.acknowledge_drift('done') > 0 AS acknowledged;

-- Statements PostgreSQL runs without firing event triggers are recorded by the ProcessUtility
-- hook: EXPLAIN ANALYZE of CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW (as a role
-- without privileges beyond CREATE on a schema), REASSIGN OWNED, event trigger DDL. Not: a plain
-- EXPLAIN (nothing is created), IF NOT EXISTS of an existing table, a temporary table, a
-- rolled-back statement.
CREATE ROLE drift_unfired_team;
GRANT drift_unfired_team TO drift_dev;
SET ROLE drift_dev;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE TABLE public.drift_ex1 AS SELECT 1 AS a;
EXPLAIN (ANALYZE true, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT 1 AS b INTO public.drift_ex2;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE MATERIALIZED VIEW public.drift_ex3 AS SELECT 1 AS c;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE TABLE IF NOT EXISTS public.drift_ex1 AS SELECT 1 AS a;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) CREATE TEMP TABLE drift_ex_tmp AS SELECT 1 AS a;
EXPLAIN (COSTS OFF) CREATE TABLE public.drift_ex4 AS SELECT 1 AS a;
REASSIGN OWNED BY drift_dev TO drift_unfired_team;
REASSIGN OWNED BY drift_dev TO drift_unfired_team;  -- owns nothing any more: no row
RESET ROLE;
CREATE FUNCTION public.drift_evt() RETURNS event_trigger LANGUAGE plpgsql AS $$BEGIN END$$;
CREATE EVENT TRIGGER drift_evt ON ddl_command_end EXECUTE FUNCTION public.drift_evt();
ALTER EVENT TRIGGER drift_evt DISABLE;
ALTER EVENT TRIGGER drift_evt RENAME TO drift_evt2;
DROP EVENT TRIGGER drift_evt2;
DROP EVENT TRIGGER IF EXISTS drift_evt2;
BEGIN;
CREATE EVENT TRIGGER drift_rolled_back ON ddl_command_end EXECUTE FUNCTION public.drift_evt();
ROLLBACK;
SELECT role, command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP TABLE public.drift_ex1, public.drift_ex2;
DROP MATERIALIZED VIEW public.drift_ex3;
DROP FUNCTION public.drift_evt();
DROP TABLE pg_temp.drift_ex_tmp;
DROP ROLE drift_unfired_team;
SELECT migrate.acknowledge_drift('unfired') > 0 AS acknowledged;

-- Renames and moves name the object's previous name; ATTACH / DETACH PARTITION give the
-- partition a row of its own. An acknowledgement up to an earlier row keeps the differences of
-- those objects under both names (a schema's: also of what is in it).
CREATE SCHEMA drift_s5;
CREATE TABLE drift_s5.t (id int);
CREATE TABLE public.drift_ren1 (id int);
CREATE TABLE public.drift_part (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE public.drift_part4 (id int, k int);
CREATE FUNCTION public.drift_trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER drift_tr BEFORE INSERT ON public.drift_part4 FOR EACH ROW EXECUTE FUNCTION public.drift_trg();
CREATE FUNCTION public.drift_fx(int) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE INDEX drift_ix ON public.drift_part4 (id);
ALTER TABLE public.drift_part4 ADD CONSTRAINT drift_c CHECK (id > 0);
CREATE TABLE public.drift_cols (c int);
SELECT migrate.acknowledge_drift('rename setup') > 0 AS acknowledged;
CREATE TABLE public.drift_z3 (x int);
ALTER FUNCTION public.drift_fx(int) RENAME TO drift_fy;
ALTER INDEX public.drift_ix RENAME TO drift_ix2;
ALTER TABLE public.drift_part4 RENAME CONSTRAINT drift_c TO drift_c2;
ALTER TABLE public.drift_cols RENAME COLUMN c TO c2;
ALTER TABLE public.drift_part4 ENABLE REPLICA TRIGGER drift_tr;
ALTER TABLE public.drift_part4 ENABLE ALWAYS TRIGGER drift_tr;
ALTER SCHEMA drift_s5 RENAME TO drift_s6;
ALTER TABLE public.drift_ren1 RENAME TO drift_ren2;
ALTER TABLE public.drift_ren2 SET SCHEMA drift_s6;
ALTER TABLE public.drift_part ATTACH PARTITION public.drift_part4 FOR VALUES FROM (30) TO (40);
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT migrate.acknowledge_drift('only the table', (SELECT min(id) FROM migrate.drift WHERE acknowledgement_id IS NULL));
SELECT object, change FROM migrate.schema_diff();
DROP SCHEMA drift_s6 CASCADE;
DROP TABLE public.drift_part, public.drift_z3, public.drift_cols;
DROP FUNCTION public.drift_trg();
DROP FUNCTION public.drift_fy(int);
SELECT migrate.acknowledge_drift('renames') > 0 AS acknowledged;

-- A statement the hook did not see (the library loads with it) is found by parsing the query
-- string again, which warned a second time of a backslash in a literal under
-- standard_conforming_strings = off: one warning, the statement's own.
\c
SET standard_conforming_strings = off;
DO 'BEGIN CREATE TABLE public.drift_esc (id int); END' \; SELECT 'a\'b' AS quoted;
RESET standard_conforming_strings;
SELECT count(*) AS captured FROM migrate.drift WHERE object_identity = 'public.drift_esc';
DROP TABLE public.drift_esc;
-- Dropping the extension removes its event triggers; DDL is not captured any more.
-- ALTER EXTENSION ... SET SCHEMA moves it (not a rename); ATTACH PARTITION names the partition
-- as it resolves, schema-qualified (the name as written may be ambiguous); a CASCADE through an
-- extension records the user's objects it takes along, not the extension's members; DROP
-- SCHEMA ... CASCADE of an extension's schema records the extension, not each member; the
-- partitions of a dropped partitioned table are named.
CREATE SCHEMA drift_ext_a;
CREATE SCHEMA drift_ext_b;
CREATE EXTENSION seg SCHEMA drift_ext_a;
SELECT migrate.acknowledge_drift('set up') > 0 AS acknowledged;
ALTER EXTENSION seg SET SCHEMA drift_ext_b;
CREATE TABLE drift_ext_a.drift_pp (k int) PARTITION BY RANGE (k);
CREATE TABLE drift_ext_a.drift_pc (k int);
CREATE TABLE drift_ext_b.drift_pc (k int);
SET search_path = drift_ext_b, drift_ext_a;
ALTER TABLE drift_pp ATTACH PARTITION drift_pc FOR VALUES FROM (0) TO (10);
RESET search_path;
CREATE TABLE drift_ext_a.drift_segs (id int, s drift_ext_b.seg);
CREATE VIEW drift_ext_a.drift_segv AS SELECT id, s FROM drift_ext_a.drift_segs;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL AND command_tag IN ('ALTER EXTENSION', 'ALTER TABLE') ORDER BY id;
SELECT migrate.acknowledge_drift('moves') > 0 AS acknowledged;
DROP EXTENSION seg CASCADE;
DROP TABLE drift_ext_a.drift_pp;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
CREATE EXTENSION seg SCHEMA drift_ext_b;
SELECT migrate.acknowledge_drift('drops') > 0 AS acknowledged;
DROP SCHEMA drift_ext_b CASCADE;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP SCHEMA drift_ext_a CASCADE;
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- An ALTER TABLE whose subcommands PostgreSQL reports as two commands (those after a serial
-- column's sequence): one row naming every subcommand.
CREATE TABLE drift_sx (a int);
SELECT migrate.acknowledge_drift('sx') > 0 AS acknowledged;
ALTER TABLE drift_sx ADD COLUMN b int, ADD COLUMN c serial, ADD COLUMN d int;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP TABLE drift_sx;
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- DDL a volatile default's function runs while ALTER TABLE rewrites the table: its own row;
-- the rewrite is the ALTER TABLE's.
CREATE FUNCTION drift_side() RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE 'CREATE TABLE IF NOT EXISTS drift_side_t (x int)'; RETURN 1; END$$;
CREATE TABLE drift_host (id int);
INSERT INTO drift_host VALUES (1);
SELECT migrate.acknowledge_drift('host') > 0 AS acknowledged;
ALTER TABLE drift_host ADD COLUMN v int DEFAULT drift_side();
SELECT command_tag, object_type, object_identity, detail, statement FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP TABLE drift_host, drift_side_t;
DROP FUNCTION drift_side();
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- CREATE EXTENSION ... CASCADE: the extensions it installs besides the named one have rows.
CREATE EXTENSION earthdistance CASCADE;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP EXTENSION earthdistance, cube;
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- In a new session (the library not loaded yet), a CREATE TABLE AS in a string of several
-- statements is its own statement ('parse'), not the one enclosing it.
\c
SELECT 1 \; CREATE TABLE drift_ctas AS SELECT 1 AS a;
SELECT object_identity, statement, statement_source FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP TABLE drift_ctas;
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- A session's first DDL that runs user code loads the library as it starts: the DDL that code
-- runs is seen by the hook, and so recorded with its own text.
CREATE FUNCTION drift_mk() RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE 'CREATE TABLE drift_inner (a int)'; RETURN 1; END$$;
\c
CREATE TABLE drift_outer AS SELECT drift_mk() AS v;
-- The first statement of a new session whose tree running it changes (CREATE SCHEMA names its
-- tables' schema in them) is found by its position, not by a later statement equal to it now.
\c
CREATE SCHEMA drift_sch CREATE TABLE t () \; DROP SCHEMA drift_sch CASCADE \; CREATE SCHEMA drift_sch CREATE TABLE drift_sch.t ();
SELECT command_tag, object_identity, statement, statement_source FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
DROP TABLE drift_outer, drift_inner;
DROP SCHEMA drift_sch CASCADE;
DROP FUNCTION drift_mk();
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
-- While pg_migrate's schema is renamed, capture is off in this session as in a new one (no
-- migrate.drift by that name), not writing into the renamed table.
BEGIN;
CREATE TABLE drift_before_rename ();
ALTER SCHEMA migrate RENAME TO drift_renamed;
CREATE TABLE drift_while_renamed ();
ALTER SCHEMA drift_renamed RENAME TO migrate;
SELECT object_identity FROM migrate.drift WHERE acknowledgement_id IS NULL ORDER BY id;
ROLLBACK;
-- CLUSTER ... USING marks the index in pg_index (fires no event trigger): a row when it changes
-- which index that is, none when the table was clustered on it already.
CREATE TABLE drift_cl (id int PRIMARY KEY, b int);
CREATE INDEX drift_cl_b ON drift_cl (b);
CLUSTER drift_cl USING drift_cl_pkey;
SELECT migrate.acknowledge_drift('clustered') > 0 AS acknowledged;
CLUSTER drift_cl USING drift_cl_pkey;
CLUSTER drift_cl;
CLUSTER drift_cl USING drift_cl_b;
SELECT command_tag, object_type, object_identity, detail FROM migrate.drift
 WHERE acknowledgement_id IS NULL ORDER BY id;
SELECT object, change FROM migrate.schema_diff();
DROP TABLE drift_cl;
SELECT migrate.acknowledge_drift('cleaned up') > 0 AS acknowledged;
DROP EXTENSION pg_migrate;
SELECT count(*) FROM pg_event_trigger;
DROP TABLE drift_b1, drift_b2, drift_meta, drift_kept, drift_manual, drift_tmpx, drift_repl, drift_a1, drift_a2;
ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM drift_dev;
DROP ROLE drift_dev;
