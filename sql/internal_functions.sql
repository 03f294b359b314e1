-- pg_migrate's internal functions (event triggers, triggers, helpers of the snapshot refresh):
-- called directly they refuse clearly or answer as documented, and write nothing.
CREATE EXTENSION pg_migrate;
CREATE TABLE if_t (id int);
SELECT migrate.acknowledge_drift('setup') >= 0 AS acknowledged;
SELECT migrate.library_loaded();
-- Trigger and event trigger functions are PostgreSQL's to call.
SELECT migrate.drift_capture_start();
SELECT migrate.drift_capture_ddl();
SELECT migrate.drift_capture_drop();
SELECT migrate.drift_capture_rewrite();
SELECT migrate.protect_catalog();
SELECT migrate.drift_exclusions_changed();
-- Exclusions: what migrate.drift_exclusions lists (wildcards * and ?; LIKE's own characters
-- are literal), nothing else.
SELECT migrate.drift_excluded('public', 'if_t') AS before_any;
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern) VALUES ('tmp_*', '*'), ('public', 'if_?');
SELECT migrate.drift_excluded('tmp_x', 'anything') AS by_schema, migrate.drift_excluded('public', 'if_t') AS by_name,
       migrate.drift_excluded('public', 'if_tt') AS one_character, migrate.drift_excluded('tmp%', 'x') AS like_is_literal,
       migrate.drift_excluded(NULL, 'if_t') AS null_schema;
DELETE FROM migrate.drift_exclusions;
-- Snapshot helpers: keys by prefix, a snapshot restricted to keys, the keys two recorded
-- snapshots differ in.
SELECT migrate.snapshot_keys_with_prefix('{"table public.a": 1, "table public.ab": 2, "column public.a.x": 3}'::jsonb,
                                         ARRAY['table public.a']) AS keys;
SELECT k FROM jsonb_object_keys(migrate.schema_snapshot_for_keys(
  ARRAY(SELECT k FROM jsonb_object_keys(migrate.schema_snapshot()) k WHERE k LIKE '%if_t%'))) k ORDER BY k;
SELECT max(id) AS before FROM migrate.schema_snapshots \gset
SELECT migrate.register('1', 'one', 'ALTER TABLE if_t ADD COLUMN note text', 'ALTER TABLE if_t DROP COLUMN note');
SELECT version FROM migrate.apply();
SELECT max(id) AS after FROM migrate.schema_snapshots \gset
SELECT migrate.recorded_snapshot_diff_keys(:before, :after) AS differs ORDER BY 1;
-- record_refreshed_snapshot() is the apply's: not for other roles.
CREATE ROLE if_user;
GRANT USAGE ON SCHEMA migrate TO if_user;
SET ROLE if_user;
SELECT migrate.record_refreshed_snapshot('x', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}');
SELECT migrate.drift_excluded('public', 'if_t');
RESET ROLE;
REVOKE USAGE ON SCHEMA migrate FROM if_user;
DROP ROLE if_user;
SELECT count(*) AS unacknowledged_drift FROM migrate.drift WHERE acknowledgement_id IS NULL;
DROP TABLE if_t;
DROP EXTENSION pg_migrate;
