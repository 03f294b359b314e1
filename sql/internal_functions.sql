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
-- The same as a plain scan of the keys, for every run of key lengths (found by binary search):
-- a generated object of 3,000 keys of lengths 1 to 40, prefixes of several lengths, one that is
-- a prefix of another, the empty prefix, a prefix longer than every key, none matching.
WITH o AS (SELECT jsonb_object_agg(k, 1) AS j FROM (
             SELECT substr(md5(i::text), 1, 1 + i % 40) AS k FROM generate_series(1, 3000) i) s),
     p(prefixes) AS (VALUES (ARRAY['a']), (ARRAY['ab', 'abc']), (ARRAY['0', '1', 'f']), (ARRAY['']),
                            (ARRAY[repeat('a', 50)]), (ARRAY['zz']), (ARRAY['e4', 'e4d', 'c']))
SELECT p.prefixes,
       (SELECT array_agg(k ORDER BY k) FROM unnest(migrate.snapshot_keys_with_prefix(o.j, p.prefixes)) k)
         IS NOT DISTINCT FROM
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(o.j) k
         WHERE EXISTS (SELECT FROM unnest(p.prefixes) x WHERE starts_with(k, x))) AS same_as_scan,
       cardinality(migrate.snapshot_keys_with_prefix(o.j, p.prefixes)) AS keys
  FROM o, p;
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
