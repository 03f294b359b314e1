-- schema_diff() without a whole snapshot (issue 9, `pg_migrate check` <= 25 ms): the catalog
-- fingerprint recorded with a snapshot proves that no catalog row changed since. Every change
-- the event triggers cannot see must still make schema_diff() compare whole snapshots and
-- report it; a proof must never outlive drift made before or around an apply.
CREATE EXTENSION pg_migrate;
-- The invariant, checked after every step: a proof never holds while the newest recorded
-- snapshot differs from a whole one of the live schema (excluded objects included).
\set contradicted 'SELECT migrate.schema_unchanged() AND EXISTS (SELECT FROM migrate.snapshot_diff(migrate.recorded_snapshot((SELECT max(id) FROM migrate.schema_snapshots)), migrate.schema_snapshot())) AS proof_contradicted;'
SELECT migrate.schema_unchanged() AS unchanged_after_install;
:contradicted

-- An apply keeps the proof: the refresh of what it touched is exact.
SELECT migrate.register('1', 'one table', 'CREATE TABLE public.fp_one (id bigint PRIMARY KEY, note text)',
                        'DROP TABLE public.fp_one');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_after_apply, count(*) AS differences FROM migrate.schema_diff();
:contradicted

-- Trigger-visible drift: recorded, and the proof no longer holds; an acknowledgement records a
-- whole snapshot with a new proof.
CREATE TABLE public.fp_side (id int);
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('fp_side reviewed') > 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;
:contradicted

-- Drift the triggers cannot see (capture off), then an apply: the apply's refresh must not
-- absorb it, so it stays unproven and schema_diff() keeps reporting the column.
SET pg_migrate.drift_capture = off;
ALTER TABLE public.fp_one ADD COLUMN hidden int;
RESET pg_migrate.drift_capture;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.register('2', 'second table', 'CREATE TABLE public.fp_two (id int)', 'DROP TABLE public.fp_two');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_after_apply, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('hidden column reviewed') >= 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;
:contradicted

-- A direct catalog edit (no DDL at all): a new row version, so the proof fails and the whole
-- comparison finds the change; undone, nothing differs although the proof stays broken.
UPDATE pg_catalog.pg_attribute SET attnotnull = true
 WHERE attrelid = 'public.fp_two'::regclass AND attname = 'id';
SELECT migrate.schema_unchanged() AS unchanged, object, change, detail FROM migrate.schema_diff();
:contradicted
UPDATE pg_catalog.pg_attribute SET attnotnull = false
 WHERE attrelid = 'public.fp_two'::regclass AND attname = 'id';
SELECT migrate.schema_unchanged() AS unchanged, count(*) AS differences FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('catalog edit undone') >= 0 AS acknowledged;
-- pg_class rows count by content: a direct edit of a field a snapshot shows is found.
UPDATE pg_catalog.pg_class SET relrowsecurity = true WHERE oid = 'public.fp_two'::regclass;
SELECT migrate.schema_unchanged() AS unchanged, object, change, detail FROM migrate.schema_diff();
:contradicted
UPDATE pg_catalog.pg_class SET relrowsecurity = false WHERE oid = 'public.fp_two'::regclass;
SELECT migrate.acknowledge_drift('pg_class edit undone') >= 0 AS acknowledged;

-- DDL before an apply in the same transaction is not the migrations': no proof afterwards.
BEGIN;
CREATE TABLE public.fp_before (id int);
SELECT migrate.register('3', 'third table', 'CREATE TABLE public.fp_three (id int)', 'DROP TABLE public.fp_three');
SELECT version FROM migrate.apply();
COMMIT;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('fp_before reviewed') > 0 AS acknowledged;

-- The same for a DROP before the apply: the dropped table's rows are gone before the
-- migrations start, so they are not the state the proof was taken of.
CREATE TABLE public.fp_gone (id int);
SELECT migrate.acknowledge_drift('fp_gone reviewed') > 0 AS acknowledged;
BEGIN;
DROP TABLE public.fp_gone;
SELECT migrate.register('4', 'fourth table', 'CREATE TABLE public.fp_four (id int)', 'DROP TABLE public.fp_four');
SELECT version FROM migrate.apply();
COMMIT;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('fp_gone dropped') > 0 AS acknowledged;
SELECT version FROM migrate.revert(1);

-- A revert keeps the proof as an apply does.
SELECT version FROM migrate.revert(1);
SELECT migrate.schema_unchanged() AS unchanged_after_revert, count(*) AS differences FROM migrate.schema_diff();
:contradicted

-- Rolled-back DDL leaves no row behind.
BEGIN;
CREATE TABLE public.fp_rolled_back (id int);
ROLLBACK;
SELECT migrate.schema_unchanged() AS unchanged_after_rollback;
:contradicted
-- A temporary table is no difference, but its rows fail the proof while it exists; dropped,
-- it leaves none behind once the session's temporary schema (pg_temp_N, which stays) exists.
CREATE TEMP TABLE fp_temp_first (id int);
DROP TABLE fp_temp_first;
SELECT migrate.acknowledge_drift('temporary schema created') >= 0 AS acknowledged;
CREATE TEMP TABLE fp_temp (id int);
SELECT migrate.schema_unchanged() AS unchanged_with_temp_table, count(*) AS differences FROM migrate.schema_diff();
:contradicted
DROP TABLE fp_temp;
SELECT migrate.schema_unchanged() AS unchanged_after_drop;
:contradicted

-- A new file for a relation (TRUNCATE, CLUSTER, VACUUM FULL, REINDEX) changes only pg_class
-- fields no snapshot shows: the proof holds.
TRUNCATE public.fp_one;
VACUUM FULL public.fp_two;
REINDEX TABLE public.fp_one;
SELECT migrate.schema_unchanged() AS unchanged_after_truncate_and_vacuum_full;
:contradicted
-- Moving every row of a catalog (VACUUM FULL) breaks the proof without changing the schema:
-- the whole comparison then runs and finds nothing.
VACUUM FULL pg_catalog.pg_attribute;
SELECT migrate.schema_unchanged() AS unchanged_after_vacuum_full, count(*) AS differences FROM migrate.schema_diff();
:contradicted

-- pg_migrate.snapshot_proof = off: snapshots are recorded without a proof (schema_diff()
-- compares whole snapshots), and the next one recorded with the setting on has one again.
SELECT migrate.acknowledge_drift('after vacuum full') >= 0 AS acknowledged;
SET pg_migrate.snapshot_proof = off;
SELECT migrate.register('5', 'fifth table', 'CREATE TABLE public.fp_five (id int)', 'DROP TABLE public.fp_five');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_without_proof, count(*) AS differences FROM migrate.schema_diff();
:contradicted
RESET pg_migrate.snapshot_proof;
SELECT version FROM migrate.revert(1);
SELECT migrate.schema_unchanged() AS unchanged_after_revert_with_proof;
:contradicted
SELECT migrate.acknowledge_drift('proof again') >= 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;
:contradicted

-- Migrations whose effect the event triggers do not describe object by object make the
-- snapshot a whole one (and prove that): renaming an enum label reprints every default that
-- uses it; a migration writing a system catalog directly.
SELECT migrate.register('6', 'mood', $$CREATE TYPE public.fp_mood AS ENUM ('ok', 'sad');
CREATE TABLE public.fp_person (id bigint PRIMARY KEY, m public.fp_mood DEFAULT 'ok')$$,
  'DROP TABLE public.fp_person; DROP TYPE public.fp_mood');
SELECT migrate.register('7', 'rename label', $$ALTER TYPE public.fp_mood RENAME VALUE 'ok' TO 'fine'$$,
  $$ALTER TYPE public.fp_mood RENAME VALUE 'fine' TO 'ok'$$);
SELECT migrate.register('8', 'catalog edit', $$CREATE TABLE public.fp_edit (id bigint PRIMARY KEY, note text);
UPDATE pg_catalog.pg_attribute SET attnotnull = true WHERE attrelid = 'public.fp_edit'::regclass AND attname = 'note'$$,
  'DROP TABLE public.fp_edit');
SELECT version FROM migrate.apply();
SELECT reason, snapshot IS NOT NULL AS whole FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 1;
SELECT migrate.schema_unchanged() AS unchanged_after_enum_rename_and_catalog_edit, count(*) AS differences FROM migrate.schema_diff();
:contradicted
SELECT version FROM migrate.revert(3);
SELECT migrate.schema_unchanged() AS unchanged_after_revert;
:contradicted

-- A failed apply inside a savepoint leaves nothing behind for a snapshot recorded later in the
-- transaction: apply_repeatables() after hidden DDL refreshes what the repeatable touched, with
-- a proof of its own start, not of the failed apply's (which would leave the table out and
-- still claim a proof); the hidden table stays a difference.
SELECT action FROM migrate.sync('[{"file": "R__fp_view.sql", "name": "fp_view", "repeatable": true,
  "up": "CREATE OR REPLACE VIEW public.fp_view AS SELECT 1 AS one"}]') WHERE name = 'fp_view';
SELECT name FROM migrate.apply_repeatables();
SELECT migrate.register('9', 'fails', 'CREATE TABLE public.fp_fails (id bigint); SELECT 1/0;', 'DROP TABLE public.fp_fails');
SELECT action FROM migrate.sync('[{"file": "R__fp_view.sql", "name": "fp_view", "repeatable": true,
  "up": "CREATE OR REPLACE VIEW public.fp_view AS SELECT 1 AS one, 2 AS two"}]') WHERE name = 'fp_view';
BEGIN;
SAVEPOINT before_apply;
SELECT version FROM migrate.apply();
ROLLBACK TO SAVEPOINT before_apply;
SET LOCAL pg_migrate.drift_capture = off;
CREATE TABLE public.fp_hidden (id int);
SELECT name FROM migrate.apply_repeatables();
COMMIT;
SELECT reason, snapshot IS NOT NULL AS whole FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 1;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.unregister('9');

-- An apply that creates most of the schema's relations (a first deploy) records a whole
-- snapshot instead of refreshing each one, but only when the proof holds: after drift the
-- whole snapshot would take the hidden column in.
SELECT count(*) AS applied_before FROM migrate.apply();
SELECT migrate.acknowledge_drift('before the large applies') >= 0 AS acknowledged;
SET pg_migrate.drift_capture = off;
CREATE TABLE public.fp_large_hidden (id int);
RESET pg_migrate.drift_capture;
SELECT count(migrate.register((100 + i)::text, 'many ' || i, format('CREATE TABLE public.fp_many_%s (id int)', i),
                              format('DROP TABLE public.fp_many_%s', i)))
  FROM generate_series(1, 300) i;
SELECT count(*) AS applied FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
:contradicted
SELECT migrate.acknowledge_drift('hidden table reviewed') >= 0 AS acknowledged;
-- With the proof holding: the same snapshot as a refresh, proven.
SELECT count(migrate.register((1000 + i)::text, 'more ' || i, format('CREATE TABLE public.fp_more_%s (id int)', i),
                              format('DROP TABLE public.fp_more_%s', i)))
  FROM generate_series(1, 650) i;
SELECT count(*) AS applied FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_after_large_apply, count(*) AS differences FROM migrate.schema_diff();
:contradicted

-- The page cache (0.4.0): apply and the other writers keep each settled catalog page's LSN and
-- sum; the fingerprint reads a page whose LSN is unchanged from it (each proof above was
-- recorded through one state of the cache and checked through a later one). Only pg_migrate
-- writes it: a forged sum for an unchanged page would hide drift.
-- Its validity row (catalog 0): the WAL position from which the entries hold, timeline, database.
SELECT count(*) FILTER (WHERE catalog <> 0) > 10 AS chunks_cached,
       bool_and(length(pages) % 20 = 0) FILTER (WHERE catalog <> 0) AS whole_entries,
       count(*) FILTER (WHERE catalog = 0 AND chunk = 0 AND length(pages) = 16) = 1 AS validity_row,
       bool_and(system_identifier = (SELECT system_identifier FROM pg_control_system())) AS this_cluster
  FROM migrate.catalog_page_sums;
SELECT migrate.schema_unchanged() AS unchanged_with_cache;
\set VERBOSITY terse
UPDATE migrate.catalog_page_sums SET pages = set_byte(pages, 12, (get_byte(pages, 12) + 1) % 256)
 WHERE catalog = 'pg_catalog.pg_class'::regclass;
DELETE FROM migrate.catalog_page_sums;
INSERT INTO migrate.catalog_page_sums SELECT catalog, chunk + 1000, filenode, system_identifier, hash_version, pages
  FROM migrate.catalog_page_sums LIMIT 1;
TRUNCATE migrate.catalog_page_sums;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM migrate.catalog_page_sums;
ROLLBACK;
\set VERBOSITY default
SELECT migrate.schema_unchanged() AS unchanged_after_refused_writes;
-- A page changed since it was cached is read again: hidden DDL is found.
SET pg_migrate.drift_capture = off;
CREATE TABLE public.fp_large_after_cache (id int);
RESET pg_migrate.drift_capture;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
DROP TABLE public.fp_large_after_cache;

-- Only CREATE EXTENSION records the install snapshot.
SELECT migrate.record_install_snapshot();
DROP EXTENSION pg_migrate;
DROP TABLE public.fp_one, public.fp_side, public.fp_two, public.fp_before, public.fp_hidden,
  public.fp_three, public.fp_four, public.fp_five;
DROP VIEW public.fp_view;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT relname FROM pg_class WHERE relname ~ '^fp_(many|more|large)_' AND relnamespace = 'public'::regnamespace LOOP
    EXECUTE format('DROP TABLE public.%I', r.relname);
  END LOOP;
END
$$;
DROP TABLE public.fp_person, public.fp_edit;  -- applied again before the large applies
DROP TYPE public.fp_mood;
SELECT count(*) AS left_behind FROM pg_class WHERE relname LIKE 'fp\_%' AND relnamespace = 'public'::regnamespace;
