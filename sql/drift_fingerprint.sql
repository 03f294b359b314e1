-- schema_diff() without a whole snapshot (issue 9, `pg_migrate check` <= 25 ms): the catalog
-- fingerprint recorded with a snapshot proves that no catalog row changed since. Every change
-- the event triggers cannot see must still make schema_diff() compare whole snapshots and
-- report it; a proof must never outlive drift made before or around an apply.
CREATE EXTENSION pg_migrate;
SELECT migrate.schema_unchanged() AS unchanged_after_install;

-- An apply keeps the proof: the refresh of what it touched is exact.
SELECT migrate.register('1', 'one table', 'CREATE TABLE public.fp_one (id bigint PRIMARY KEY, note text)',
                        'DROP TABLE public.fp_one');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_after_apply, count(*) AS differences FROM migrate.schema_diff();

-- Trigger-visible drift: recorded, and the proof no longer holds; an acknowledgement records a
-- whole snapshot with a new proof.
CREATE TABLE public.fp_side (id int);
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
SELECT migrate.acknowledge_drift('fp_side reviewed') > 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;

-- Drift the triggers cannot see (capture off), then an apply: the apply's refresh must not
-- absorb it, so it stays unproven and schema_diff() keeps reporting the column.
SET pg_migrate.drift_capture = off;
ALTER TABLE public.fp_one ADD COLUMN hidden int;
RESET pg_migrate.drift_capture;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
SELECT migrate.register('2', 'second table', 'CREATE TABLE public.fp_two (id int)', 'DROP TABLE public.fp_two');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_after_apply, object, change FROM migrate.schema_diff();
SELECT migrate.acknowledge_drift('hidden column reviewed') >= 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;

-- A direct catalog edit (no DDL at all): a new row version, so the proof fails and the whole
-- comparison finds the change; undone, nothing differs although the proof stays broken.
UPDATE pg_catalog.pg_attribute SET attnotnull = true
 WHERE attrelid = 'public.fp_two'::regclass AND attname = 'id';
SELECT migrate.schema_unchanged() AS unchanged, object, change, detail FROM migrate.schema_diff();
UPDATE pg_catalog.pg_attribute SET attnotnull = false
 WHERE attrelid = 'public.fp_two'::regclass AND attname = 'id';
SELECT migrate.schema_unchanged() AS unchanged, count(*) AS differences FROM migrate.schema_diff();
SELECT migrate.acknowledge_drift('catalog edit undone') >= 0 AS acknowledged;

-- DDL before an apply in the same transaction is not the migrations': no proof afterwards.
BEGIN;
CREATE TABLE public.fp_before (id int);
SELECT migrate.register('3', 'third table', 'CREATE TABLE public.fp_three (id int)', 'DROP TABLE public.fp_three');
SELECT version FROM migrate.apply();
COMMIT;
SELECT migrate.schema_unchanged() AS unchanged, object, change FROM migrate.schema_diff();
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
SELECT migrate.acknowledge_drift('fp_gone dropped') > 0 AS acknowledged;
SELECT version FROM migrate.revert(1);

-- A revert keeps the proof as an apply does.
SELECT version FROM migrate.revert(1);
SELECT migrate.schema_unchanged() AS unchanged_after_revert, count(*) AS differences FROM migrate.schema_diff();

-- Rolled-back DDL leaves no row behind.
BEGIN;
CREATE TABLE public.fp_rolled_back (id int);
ROLLBACK;
SELECT migrate.schema_unchanged() AS unchanged_after_rollback;
-- A temporary table is no difference, but its rows fail the proof while it exists; dropped,
-- it leaves none behind once the session's temporary schema (pg_temp_N, which stays) exists.
CREATE TEMP TABLE fp_temp_first (id int);
DROP TABLE fp_temp_first;
SELECT migrate.acknowledge_drift('temporary schema created') >= 0 AS acknowledged;
CREATE TEMP TABLE fp_temp (id int);
SELECT migrate.schema_unchanged() AS unchanged_with_temp_table, count(*) AS differences FROM migrate.schema_diff();
DROP TABLE fp_temp;
SELECT migrate.schema_unchanged() AS unchanged_after_drop;

-- Moving every catalog row (VACUUM FULL) breaks the proof without changing the schema: the
-- whole comparison then runs and finds nothing.
VACUUM FULL pg_catalog.pg_class;
SELECT migrate.schema_unchanged() AS unchanged_after_vacuum_full, count(*) AS differences FROM migrate.schema_diff();

-- pg_migrate.snapshot_proof = off: snapshots are recorded without a proof (schema_diff()
-- compares whole snapshots), and the next one recorded with the setting on has one again.
SELECT migrate.acknowledge_drift('after vacuum full') >= 0 AS acknowledged;
SET pg_migrate.snapshot_proof = off;
SELECT migrate.register('5', 'fifth table', 'CREATE TABLE public.fp_five (id int)', 'DROP TABLE public.fp_five');
SELECT version FROM migrate.apply();
SELECT migrate.schema_unchanged() AS unchanged_without_proof, count(*) AS differences FROM migrate.schema_diff();
RESET pg_migrate.snapshot_proof;
SELECT version FROM migrate.revert(1);
SELECT migrate.schema_unchanged() AS unchanged_after_revert_with_proof;
SELECT migrate.acknowledge_drift('proof again') >= 0 AS acknowledged;
SELECT migrate.schema_unchanged() AS unchanged_after_acknowledge;

-- Only CREATE EXTENSION records the install snapshot.
SELECT migrate.record_install_snapshot();
DROP EXTENSION pg_migrate;
DROP TABLE public.fp_one, public.fp_side, public.fp_two, public.fp_before;
