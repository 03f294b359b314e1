-- migrate.plan: a dry run of the pending migrations that reports locks, rewrites, durations
-- and lint findings per statement, and leaves nothing behind.
CREATE EXTENSION pg_migrate;
CREATE TABLE plan_t (id int PRIMARY KEY, v text);
INSERT INTO plan_t SELECT g, 'x' FROM generate_series(1, 100) g;
ANALYZE plan_t;
CREATE VIEW plan_rows AS
  SELECT version, line, statement, status, locks, rewrites, duration_ms >= 0 AS timed, findings, error
    FROM migrate.plan();

-- nothing pending: no rows
SELECT * FROM migrate.plan();

SELECT migrate.register('1', 'reshape', $$ALTER TABLE plan_t ADD COLUMN r float8 DEFAULT random();
CREATE TABLE plan_new (id bigint PRIMARY KEY, t_id int);
CREATE INDEX plan_new_t ON plan_new (t_id);
ALTER TABLE plan_t ALTER COLUMN v TYPE varchar(20);
SET search_path = nowhere;
SET lock_timeout = 0;
SELECT 1$$) \gset
SELECT migrate.register('2', 'index', $$CREATE INDEX plan_t_v ON public.plan_t (v);
ALTER TABLE public.plan_t ADD COLUMN note text;
ALTER TABLE public.plan_t ALTER COLUMN v TYPE text;
INSERT INTO public.plan_t (id, v) VALUES (1000, 'y');
-- pg_migrate:ignore require-concurrent-index-creation
CREATE INDEX ON public.plan_new (id);
ALTER TABLE public.plan_new ADD CONSTRAINT fk FOREIGN KEY (t_id) REFERENCES public.plan_t (id)$$) \gset
\x
SELECT * FROM plan_rows;
\x
-- nothing persisted: no table, no column, no index, nothing applied, no history, settings back
SELECT to_regclass('plan_new') AS plan_new, to_regclass('plan_t_v') AS plan_t_v;
SELECT attname FROM pg_attribute WHERE attrelid = 'plan_t'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'plan_t'::regclass AND attname = 'v';
SELECT count(*) FROM plan_t;
SELECT version, state FROM migrate.status();
SELECT count(*) AS history FROM migrate.history;
SHOW search_path;
SHOW lock_timeout;

-- up to a target, as apply(target) would
SELECT version, line, status FROM migrate.plan('1');
SELECT migrate.plan('9');

-- a failing statement is reported; the rest of the plan is skipped, not run
SELECT migrate.register('3', 'breaks', $$INSERT INTO plan_t (id, v) VALUES (1, 'dup');
CREATE TABLE plan_never ();$$) \gset
SELECT version, line, status, error FROM migrate.plan() WHERE version = '3';
SELECT to_regclass('plan_never');
SELECT migrate.unregister('3');

-- inside a transaction the plan leaves the caller's work alone and can be repeated
BEGIN;
INSERT INTO plan_t VALUES (500, 'kept');
SELECT count(*) AS planned FROM migrate.plan();
SELECT count(*) AS planned_again FROM migrate.plan();
SELECT v FROM plan_t WHERE id = 500;
ROLLBACK;

-- after apply, plan has nothing left to do; the applied effects are real
SELECT version FROM migrate.apply();
SELECT * FROM migrate.plan();
SELECT to_regclass('plan_new') IS NOT NULL AS plan_new_exists;

-- on its own, CREATE INDEX takes a SHARE lock (writes blocked, reads go on)
SET client_min_messages = error;  -- the table's size changed since ANALYZE: keep the output stable
SELECT migrate.register('5', 'index alone', 'CREATE INDEX plan_t_w ON plan_t (v)') \gset
RESET client_min_messages;
SELECT version, status, locks, rewrites, findings FROM migrate.plan();
SELECT migrate.unregister('5');

-- out-of-order pending migrations are refused as apply refuses them
SELECT migrate.register('1.5', 'late', 'SELECT 1') \gset
SELECT * FROM migrate.plan();
SET pg_migrate.out_of_order = on;
SELECT version, status FROM migrate.plan();
RESET pg_migrate.out_of_order;
SELECT migrate.unregister('1.5');

-- plan cannot be called from inside a migration
SELECT migrate.register('4', 'nested', 'SELECT * FROM migrate.plan()') \gset
SELECT version FROM migrate.apply();
SELECT migrate.unregister('4');
-- what a script prepares through dynamic SQL (EXECUTE in a DO block) goes too: after plan(),
-- verify() and apply(); the session's own statement stays
PREPARE mine AS SELECT 1;
SELECT migrate.register('6', 'dynamic', $m$DO $d$ BEGIN EXECUTE 'PREPARE plan_dyn AS SELECT 6'; END $d$; CREATE TABLE plan_dyn_t (a int);$m$, 'DROP TABLE plan_dyn_t');
SELECT version, status FROM migrate.plan();
SELECT version, status FROM migrate.verify('6');
SELECT name FROM pg_prepared_statements ORDER BY name;
SELECT version FROM migrate.apply('6');
SELECT name FROM pg_prepared_statements ORDER BY name;
SELECT version FROM migrate.revert();
SELECT migrate.unregister('6');
DEALLOCATE mine;

-- a dry run rolls back; the statements it prepared are deallocated too (a rollback does not)
PREPARE mine AS SELECT 1;
SELECT migrate.register('4', 'prepares', 'PREPARE plan_p AS SELECT 2; EXECUTE plan_p');
SELECT migrate.register('5', 'prepares too', 'PREPARE plan_p AS SELECT 3; EXECUTE plan_p');
SELECT version, status FROM migrate.plan();
SELECT version, status FROM migrate.plan();
SELECT name FROM pg_prepared_statements;
-- a failed verification's statement is removed with its rollback
SELECT migrate.register('6', 'fails', 'PREPARE plan_q AS SELECT 4; SELECT 1/0', 'SELECT 1');
SELECT version, status FROM migrate.verify('6');
SELECT count(*) AS prepared_left FROM pg_prepared_statements WHERE name = 'plan_q';
SELECT migrate.unregister('6');
-- a repeatable that fails leaves its statement (the error ends the call); the next call removes
-- it, but not a statement of the session's own that took the name meanwhile
SELECT action FROM migrate.sync('[{"file": "R__p.sql", "name": "p", "repeatable": true, "up": "PREPARE plan_r AS SELECT 5; SELECT 1/0;"}]') WHERE file = 'R__p.sql';
SELECT * FROM migrate.apply_repeatables();
DEALLOCATE plan_r;
PREPARE plan_r AS SELECT 'the session''s own';
SELECT version, status FROM migrate.plan('5');
EXECUTE plan_r;
DEALLOCATE ALL;
SELECT migrate.unregister('5');
SELECT migrate.unregister('4');

-- past 500 locks held (a long script: the dry run keeps every lock it takes) each statement
-- reads its locks on the relations it names (and their indexes and partitions), not the
-- whole lock table: the same report as with a few locks
CREATE TEMP TABLE plan_tail_script AS SELECT E'\nALTER TABLE public.plan_t ADD COLUMN z int;'
  || E'\nCREATE INDEX plan_t_z ON public.plan_t (z);\nCOMMENT ON TABLE public.plan_t IS \'planned\';'
  || E'\nCREATE POLICY plan_p ON public.plan_t USING (true);\nREINDEX TABLE public.plan_t;'
  || E'\nCREATE FUNCTION public.plan_f() RETURNS int LANGUAGE sql AS \'SELECT 1\';'
  || E'\nALTER TABLE public.plan_t ALTER COLUMN z TYPE bigint;\nDROP POLICY plan_p ON public.plan_t;' AS tail;
SET client_min_messages = error;  -- (lint's warnings)
SELECT migrate.register('4', 'many tables', (SELECT string_agg(format('CREATE TABLE public.plan_many_%s (id bigint PRIMARY KEY);', i), E'\n')
                                              FROM generate_series(1, 300) i) || tail, NULL) IS NOT NULL AS registered
  FROM plan_tail_script;
CREATE TEMP TABLE plan_tail AS SELECT line - 300 AS n, locks, rewrites FROM migrate.plan('4') WHERE line > 300;
SELECT migrate.unregister('4');
SELECT migrate.register('4', 'few tables', 'CREATE TABLE public.plan_few (id bigint PRIMARY KEY);' || tail, NULL) IS NOT NULL AS registered
  FROM plan_tail_script;
RESET client_min_messages;
SELECT t.n, t.locks, t.rewrites, t.locks = p.locks AND t.rewrites = p.rewrites AS same_as_with_few_locks
  FROM plan_tail t JOIN (SELECT line - 1 AS n, locks, rewrites FROM migrate.plan('4') WHERE line > 1) p USING (n) ORDER BY n;
SELECT (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid()) < 100 AS locks_released;
SELECT migrate.unregister('4');
DROP TABLE plan_tail, plan_tail_script;

-- ALTER COLUMN ... TYPE that rebuilds an index without rewriting the table (timestamp ->
-- timestamptz under UTC): the index is dropped and built again under its name; rewrites names it.
CREATE TABLE plan_ts (id int, ts timestamp);
CREATE INDEX plan_ts_ts ON plan_ts (ts);
SET TimeZone = 'UTC';
SELECT migrate.register('5', 'timestamptz', 'ALTER TABLE plan_ts ALTER COLUMN ts TYPE timestamptz;') IS NOT NULL AS registered;
SELECT line, rewrites FROM migrate.plan('5');
SELECT migrate.unregister('5');
RESET TimeZone;
DROP TABLE plan_ts;

DROP VIEW plan_rows;
DROP EXTENSION pg_migrate;
DROP TABLE plan_new, plan_t;
