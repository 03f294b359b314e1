-- Snapshots after apply and revert refresh only what the migrations touched (issue 8): the
-- recorded snapshot then equals a whole migrate.schema_snapshot() whatever the migrations did,
-- and drift made before an apply stays visible instead of being absorbed by it.
CREATE EXTENSION pg_migrate;
SET pg_migrate.drift_capture = off;  -- about snapshots, not the drift log
\set same 'SELECT (SELECT s.snapshot FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1) = migrate.schema_snapshot() AS recorded_equals_whole, (SELECT count(*) FROM migrate.schema_diff()) AS differences'
CREATE TABLE public.untouched (id int);
SELECT migrate.acknowledge_drift('start');

SELECT migrate.register('1', 'schema and types', $up$
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok');
CREATE TYPE app.pair AS (l int, r text);
CREATE TYPE app.span AS RANGE (subtype = float8);
CREATE DOMAIN app.posint AS int NOT NULL DEFAULT 1 CONSTRAINT posint_positive CHECK (VALUE > 0);
GRANT USAGE ON SCHEMA app TO PUBLIC;
COMMENT ON SCHEMA app IS 'the app';
$up$, $down$ DROP SCHEMA app CASCADE; $down$);
SELECT migrate.register('2', 'tables', $up$
CREATE TABLE app.users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
                        mood app.mood DEFAULT 'ok', score app.posint, CONSTRAINT users_email_key UNIQUE (email));
CREATE TABLE app.orders (id serial PRIMARY KEY, user_id bigint REFERENCES app.users, note text);
CREATE INDEX orders_user ON app.orders (user_id) WHERE note IS NOT NULL;
CREATE TABLE app.events (at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.events_2025 (at date NOT NULL, payload jsonb);
CREATE SEQUENCE app.ticket START 100;
COMMENT ON COLUMN app.users.email IS 'login';
$up$, $down$ DROP TABLE app.events, app.events_2025, app.orders, app.users; DROP SEQUENCE app.ticket; $down$);
SELECT migrate.register('3', 'code', $up$
CREATE VIEW app.active AS SELECT id, email FROM app.users WHERE score > 1;
CREATE MATERIALIZED VIEW app.counts AS SELECT count(*) AS n FROM app.orders WITH NO DATA;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
CREATE FUNCTION app.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE FUNCTION app.add(a numeric) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN a;
CREATE PROCEDURE app.noop() LANGUAGE sql AS $f$ SELECT 1 $f$;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_self ON app.users FOR SELECT USING (email = current_user);
CREATE RULE orders_no_delete AS ON DELETE TO app.orders DO INSTEAD NOTHING;
CREATE INDEX events_at ON app.events (at);
GRANT SELECT ON app.users TO PUBLIC;
GRANT SELECT (note) ON app.orders TO PUBLIC;
$up$, $down$ DROP VIEW app.active; DROP MATERIALIZED VIEW app.counts; DROP TRIGGER users_touch ON app.users;
DROP FUNCTION app.touch(); DROP FUNCTION app.add(int, int); DROP FUNCTION app.add(numeric); DROP PROCEDURE app.noop();
DROP POLICY users_self ON app.users; ALTER TABLE app.users DISABLE ROW LEVEL SECURITY;
DROP RULE orders_no_delete ON app.orders; DROP INDEX app.events_at;
REVOKE SELECT ON app.users FROM PUBLIC; REVOKE SELECT (note) ON app.orders FROM PUBLIC; $down$);
SELECT migrate.register('4', 'changes', $up$
ALTER TABLE app.users ADD COLUMN last_login timestamptz, ALTER COLUMN email DROP NOT NULL;
ALTER TABLE app.orders DROP COLUMN note CASCADE;
ALTER TABLE app.users DROP CONSTRAINT users_email_key;
ALTER TABLE app.events ATTACH PARTITION app.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TYPE app.mood ADD VALUE 'happy';
CREATE TABLE app.pairs OF app.pair;
ALTER TYPE app.pair ADD ATTRIBUTE extra int CASCADE;
ALTER DOMAIN app.posint DROP CONSTRAINT posint_positive;
DROP FUNCTION app.add(numeric);
CREATE OR REPLACE FUNCTION app.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b + 0;
ALTER SEQUENCE app.ticket OWNED BY app.orders.id;
ALTER FUNCTION app.touch() SECURITY DEFINER;
DROP VIEW app.active;
$up$, $down$
ALTER TYPE app.pair DROP ATTRIBUTE extra CASCADE;
DROP TABLE app.pairs;
CREATE VIEW app.active AS SELECT id, email FROM app.users WHERE score > 1;
ALTER FUNCTION app.touch() SECURITY INVOKER;
ALTER SEQUENCE app.ticket OWNED BY NONE;
CREATE OR REPLACE FUNCTION app.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE FUNCTION app.add(a numeric) RETURNS numeric LANGUAGE sql IMMUTABLE RETURN a;
ALTER DOMAIN app.posint ADD CONSTRAINT posint_positive CHECK (VALUE > 0);
ALTER TABLE app.events DETACH PARTITION app.events_2025;
ALTER TABLE app.users ADD CONSTRAINT users_email_key UNIQUE (email);
ALTER TABLE app.orders ADD COLUMN note text;
CREATE INDEX orders_user ON app.orders (user_id) WHERE note IS NOT NULL;
ALTER TABLE app.users DROP COLUMN last_login, ALTER COLUMN email SET NOT NULL;
$down$);
SELECT migrate.register('5', 'renames', $up$
ALTER TABLE app.orders RENAME TO purchases;
ALTER TABLE app.users RENAME COLUMN email TO mail;
$up$, $down$
ALTER TABLE app.users RENAME COLUMN mail TO email;
ALTER TABLE app.purchases RENAME TO orders;
$down$);

-- Drift made before the applies, on an object no migration touches: it stays visible.
ALTER TABLE public.untouched ADD COLUMN hidden int;
SELECT object, change FROM migrate.schema_diff();
ALTER TABLE public.untouched DROP COLUMN hidden;
:same;

SELECT version FROM migrate.apply('1');
:same;
SELECT version FROM migrate.apply('2');
:same;
SELECT version FROM migrate.apply('3');
:same;
SELECT version FROM migrate.apply('4');
:same;
-- Renames: the snapshot is taken whole.
SELECT version FROM migrate.apply('5');
:same;
SELECT version FROM migrate.revert();
:same;
-- Drift before an apply is not absorbed by it (capture off: only schema_diff() sees it).
ALTER TABLE public.untouched ADD COLUMN hidden int;
SELECT version FROM migrate.revert();
SELECT object, change FROM migrate.schema_diff();
ALTER TABLE public.untouched DROP COLUMN hidden;
:same;
SELECT version FROM migrate.revert();
:same;
SELECT version FROM migrate.revert();
:same;
SELECT version FROM migrate.revert();
:same;
SELECT version FROM migrate.apply();
:same;
SELECT count(*) FROM migrate.revert(5);
:same;

SELECT count(*) FROM (SELECT migrate.unregister(v) FROM unnest(ARRAY['5', '4', '3', '2', '1']) v) u;

-- What plan() ran and rolled back in the same transaction (a DROP TABLE) loses nothing: the
-- dropped table still exists, so its entries are taken afresh.
CREATE TABLE public.keepme (id int PRIMARY KEY, note text);
SELECT migrate.acknowledge_drift('keepme');
SET client_min_messages = error;
SELECT migrate.register('20', 'drops keepme', 'DROP TABLE public.keepme', 'CREATE TABLE public.keepme (id int)');
SELECT migrate.register('21', 'other', 'CREATE TABLE public.other21 (id int)', 'DROP TABLE public.other21');
RESET client_min_messages;
BEGIN;
SELECT version, status FROM migrate.plan();
SELECT migrate.unregister('20');
SELECT version FROM migrate.apply();
COMMIT;
:same;
SELECT version FROM migrate.revert();
SELECT migrate.unregister('21');
DROP TABLE public.keepme;
SELECT migrate.acknowledge_drift('keepme dropped');

-- CALL migrate.run() runs its units in transactions of their own (and in workers): the
-- snapshot it records is a whole one, and includes what they built.
CREATE TABLE public.runme (a int);
SELECT migrate.acknowledge_drift('runme') IS NOT NULL AS acknowledged;
SET client_min_messages = error;
SELECT migrate.register('30', 'concurrent index',
                        E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY runme_a ON public.runme (a);',
                        E'-- pg_migrate:no-transaction\nDROP INDEX CONCURRENTLY public.runme_a;');
RESET client_min_messages;
CALL migrate.run();
:same;
CALL migrate.run_revert(1);
:same;
SELECT migrate.unregister('30');
DROP TABLE public.runme;
SELECT migrate.acknowledge_drift('runme dropped') IS NOT NULL AS acknowledged;

-- A large schema: after apply and revert the rows are incremental (changes against the last
-- full snapshot), and recorded_snapshot() gives the same snapshot a whole one would.
CREATE SCHEMA big;
DO $$ BEGIN
  FOR i IN 1..200 LOOP
    EXECUTE format('CREATE TABLE big.t_%s (id int PRIMARY KEY, note text)', i);
    EXECUTE format('COMMENT ON TABLE big.t_%s IS %L', i,
                   (SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 25) g));
  END LOOP;
END $$;
SELECT migrate.acknowledge_drift('large schema');
\set recorded 'SELECT s.id, s.reason, s.snapshot IS NULL AS incremental, s.base_id IS NOT NULL AS has_base, migrate.recorded_snapshot(s.id) = migrate.schema_snapshot() AS equals_whole, (SELECT count(*) FROM migrate.schema_diff()) AS differences FROM migrate.schema_snapshots s ORDER BY s.id DESC LIMIT 1'
SET client_min_messages = error;  -- lint's warnings are not the point here
SELECT migrate.register('10', 'big change', $up$
CREATE TABLE big.extra (id int REFERENCES big.t_1, label text);
ALTER TABLE big.t_2 ADD COLUMN added int;
ALTER TABLE big.t_3 DROP COLUMN note;
COMMENT ON TABLE big.t_4 IS 'short';
DROP TABLE big.t_5;
$up$, $down$
CREATE TABLE big.t_5 (id int PRIMARY KEY, note text);
COMMENT ON TABLE big.t_4 IS NULL;
ALTER TABLE big.t_3 ADD COLUMN note text;
ALTER TABLE big.t_2 DROP COLUMN added;
DROP TABLE big.extra;
$down$);
SELECT migrate.register('11', 'another', 'CREATE INDEX t_6_note ON big.t_6 (note)', 'DROP INDEX big.t_6_note');
RESET client_min_messages;
SELECT version FROM migrate.apply('10');
:recorded;
SELECT version FROM migrate.apply('11');
:recorded;
-- recorded_entry() reads one entry of a recorded row without composing it: what the composed
-- snapshot has, for every key of the incremental row and of its full base row, and NULL for a
-- key the row removed, one it never had, and no row.
SELECT s.incremental, count(*) AS keys,
       count(*) FILTER (WHERE migrate.recorded_entry(s.id, k) IS DISTINCT FROM migrate.recorded_snapshot(s.id) -> k) AS different
  FROM (SELECT id, snapshot IS NULL AS incremental FROM migrate.schema_snapshots
         WHERE id = (SELECT max(id) FROM migrate.schema_snapshots)
            OR id = (SELECT base_id FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 1)) s,
       jsonb_object_keys(migrate.recorded_snapshot(s.id)) k
 GROUP BY s.incremental ORDER BY s.incremental;
SELECT migrate.recorded_entry(max(id), 'table big.t_5') IS NULL AS removed,
       migrate.recorded_entry(max(id), 'table big.nothing') IS NULL AS never,
       migrate.recorded_entry(NULL, 'table big.t_1') IS NULL AS null_id,
       migrate.recorded_entry(-1, 'table big.t_1') IS NULL AS no_row,
       migrate.recorded_entry(max(id), 'table big.t_2') IS NOT NULL AS present
  FROM migrate.schema_snapshots;
-- Full rows are decompressed once per transaction and at most two are kept; a row not yet
-- written, or rolled back, is never answered from that cache.
BEGIN;
SELECT count(*) >= 3 AS three_full_rows FROM migrate.schema_snapshots WHERE snapshot IS NOT NULL;
SELECT count(migrate.recorded_entry(f.id, 'table big.t_1')) > 0 AS read
  FROM (SELECT id FROM migrate.schema_snapshots WHERE snapshot IS NOT NULL) f, generate_series(1, 100);
SELECT total_bytes < 20000000 AS memory_bounded FROM pg_backend_memory_contexts WHERE name = 'TopTransactionContext';
SELECT max(id) + 1 AS next_id FROM migrate.schema_snapshots \gset
SELECT migrate.recorded_keys_with_prefix(:next_id, '{"table big.t_1"}') IS NULL AS not_yet;
SAVEPOINT s;
SELECT migrate.acknowledge_drift('a full row') IS NOT NULL AS acknowledged;
SELECT max(id) = :next_id AS that_row, cardinality(migrate.recorded_keys_with_prefix(:next_id, '{"table big.t_1"}')) AS keys,
       migrate.recorded_entry(:next_id, 'table big.t_1') IS NOT NULL AS entry
  FROM migrate.schema_snapshots;
ROLLBACK TO SAVEPOINT s;
SELECT migrate.recorded_keys_with_prefix(:next_id, '{"table big.t_1"}') IS NULL AS rolled_back,
       migrate.recorded_entry(:next_id, 'table big.t_1') IS NULL AS entry_rolled_back;
ROLLBACK;
-- The revert check (core) reads incremental rows too: a down script that leaves the table.
SELECT migrate.register('13', 'sneaky', 'CREATE TABLE big.sneaky (id int)', 'SELECT 1');
SELECT version FROM migrate.apply('13');
SELECT version FROM migrate.revert();
:recorded;
DROP TABLE big.sneaky;
SELECT migrate.unregister('13');
SELECT migrate.acknowledge_drift('sneaky dropped by hand') IS NOT NULL AS acknowledged;
-- A migration without DDL refreshes nothing.
SELECT migrate.register('12', 'data only', 'SELECT 1', 'SELECT 1');
SELECT version FROM migrate.apply('12');
:recorded;
SELECT version FROM migrate.revert();
:recorded;
-- Pruning keeps the full row the kept incremental rows are based on.
SET pg_migrate.drift_snapshots_kept = 1;
SELECT version FROM migrate.revert();
:recorded;
SELECT reason, snapshot IS NULL AS incremental FROM migrate.schema_snapshots ORDER BY id;
RESET pg_migrate.drift_snapshots_kept;
SELECT version FROM migrate.revert();
:recorded;
SELECT migrate.acknowledge_drift('full again');
:recorded;
SET client_min_messages = warning;
DROP SCHEMA big CASCADE;
RESET client_min_messages;

-- What a column change reprints elsewhere: views with column aliases or USING joins, a view
-- over a set-returning function of a composite type, a policy; and statements whose effect the
-- event triggers do not describe object by object (a table turned into a view by a _RETURN
-- rule, catalog writes inside EXPLAIN ANALYZE or PREPARE). Each refresh equals a whole
-- snapshot.
CREATE SCHEMA dep;
CREATE TABLE dep.al (a int, b int);
CREATE VIEW dep.alv AS SELECT x.p FROM dep.al x(p);
CREATE TABLE dep.ja (k int, x int);
CREATE TABLE dep.jb (k int, y int);
CREATE TABLE dep.jc (y int, z int);
CREATE VIEW dep.jv AS SELECT * FROM dep.ja JOIN dep.jb USING (k) JOIN dep.jc USING (y);
CREATE TYPE dep.ct AS (a int, b int);
CREATE FUNCTION dep.f() RETURNS SETOF dep.ct LANGUAGE sql AS 'SELECT 1, 2';
CREATE VIEW dep.fv AS SELECT a FROM dep.f();
CREATE TABLE dep.tt (a int, b int);
CREATE FUNCTION dep.g() RETURNS SETOF dep.tt LANGUAGE sql AS 'SELECT 1, 2';
CREATE VIEW dep.gv AS SELECT a FROM dep.g();
CREATE TABLE dep.pol (id int);
ALTER TABLE dep.pol ENABLE ROW LEVEL SECURITY;
CREATE POLICY pol_al ON dep.pol USING (EXISTS (SELECT FROM dep.al x(p) WHERE x.p = id));
CREATE TABLE dep.tv (a int, b text);
CREATE TABLE dep.edit (id int, note text);
SELECT migrate.acknowledge_drift('dep') IS NOT NULL AS acknowledged;
SELECT migrate.register('40', 'add column under aliased views and a policy', 'ALTER TABLE dep.al ADD COLUMN c int', 'ALTER TABLE dep.al DROP COLUMN c');
SELECT migrate.register('41', 'add column under a USING join', 'ALTER TABLE dep.ja ADD COLUMN y int', 'ALTER TABLE dep.ja DROP COLUMN y');
SELECT migrate.register('42', 'drop attribute under an SRF view', 'ALTER TYPE dep.ct DROP ATTRIBUTE b', 'ALTER TYPE dep.ct ADD ATTRIBUTE b int');
SELECT migrate.register('43', 'drop column under an SRF view', 'ALTER TABLE dep.tt DROP COLUMN b', 'ALTER TABLE dep.tt ADD COLUMN b int');
SELECT migrate.register('44', 'table to view', $$CREATE RULE "_RETURN" AS ON SELECT TO dep.tv DO INSTEAD SELECT 1 AS a, 'x'::text AS b$$, 'SELECT 1');
SELECT migrate.register('45', 'catalog write in EXPLAIN ANALYZE', $$EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) UPDATE pg_catalog.pg_attribute SET attnotnull = true WHERE attrelid = 'dep.edit'::regclass AND attname = 'id'$$, 'SELECT 1');
SELECT migrate.register('46', 'catalog write in PREPARE', $$PREPARE fix AS UPDATE pg_catalog.pg_attribute SET attnotnull = true WHERE attrelid = 'dep.edit'::regclass AND attname = 'note'; EXECUTE fix; DEALLOCATE fix$$, 'SELECT 1');
SELECT version FROM migrate.apply('40');
:same;
SELECT version FROM migrate.apply('41');
:same;
SELECT version FROM migrate.apply('42');
:same;
SELECT version FROM migrate.apply('43');
:same;
SET client_min_messages = error;
SELECT version FROM migrate.apply('44');
RESET client_min_messages;
:same;
SELECT version FROM migrate.apply('45');
:same;
SELECT version FROM migrate.apply('46');
:same;
-- A migration of CREATE TABLE and CREATE INDEX only: the relations they create are noted as
-- they are created (object access hook), not read from the event trigger's command list.
SET client_min_messages = error;
SELECT count(migrate.unregister(version)) AS unregistered FROM migrate.status() WHERE state = 'pending';
SELECT migrate.register('47', 'base for creates', $up$
CREATE SCHEMA oat;
CREATE TYPE oat.pt AS (x int, y int);
CREATE TABLE oat.parent (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE oat.dflt PARTITION OF oat.parent DEFAULT;
CREATE INDEX parent_id ON oat.parent (id);
CREATE TABLE oat.base (id int PRIMARY KEY, note text DEFAULT 'n' CHECK (note <> ''));
COMMENT ON COLUMN oat.base.note IS 'a note';
CREATE TABLE oat.inh_parent (a int);
$up$, 'DROP SCHEMA oat CASCADE');
SELECT migrate.register('48', 'creates only', $up$
CREATE TABLE oat.p2024 PARTITION OF oat.parent FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE oat.child (b int) INHERITS (oat.inh_parent);
CREATE TABLE oat.copy (LIKE oat.base INCLUDING ALL);
CREATE TABLE oat.typed OF oat.pt (PRIMARY KEY (x));
CREATE TABLE oat.refs (id serial PRIMARY KEY, base_id int REFERENCES oat.base ON DELETE CASCADE,
                       g int GENERATED ALWAYS AS (id * 2) STORED, ident bigint GENERATED BY DEFAULT AS IDENTITY);
CREATE TABLE IF NOT EXISTS oat.base (id int);
CREATE UNLOGGED TABLE oat.u (id int) WITH (fillfactor = 70);
CREATE INDEX parent_at ON oat.parent (at);
CREATE UNIQUE INDEX copy_note ON oat.copy (note) WHERE note IS NOT NULL;
CREATE INDEX IF NOT EXISTS parent_at ON oat.parent (at);
$up$, $down$ DROP TABLE oat.p2024, oat.child, oat.copy, oat.typed, oat.refs, oat.u; DROP INDEX oat.parent_at; $down$);
SELECT version FROM migrate.apply('47');
:same;
SELECT version FROM migrate.apply('48');
:same;
SELECT count(*) AS created FROM pg_class WHERE relnamespace = 'oat'::regnamespace AND relname IN ('p2024', 'child', 'copy', 'typed', 'refs', 'u', 'parent_at', 'copy_note');
SELECT version FROM migrate.revert(1);
:same;
RESET client_min_messages;
-- quote_all_identifiers on in the applying session: dropped objects' keys are quoted as the
-- snapshot's are (before, the recorded snapshot kept them)
CREATE TABLE public.qa_gone (id int, v int);
CREATE TABLE public.qa_keep (id int, w int);
CREATE FUNCTION public.qa_f() RETURNS int LANGUAGE sql AS 'SELECT 1';
SELECT migrate.register('49', 'drops', 'DROP TABLE public.qa_gone; ALTER TABLE public.qa_keep DROP COLUMN w; DROP FUNCTION public.qa_f()', 'SELECT 1') IS NOT NULL AS registered;
SELECT count(migrate.unregister(version)) >= 0 AS cleared FROM migrate.status() WHERE state = 'pending' AND version <> '49';
SELECT migrate.acknowledge_drift('qa') IS NOT NULL AS acknowledged;
SET quote_all_identifiers = on;
SELECT version FROM migrate.apply('49');
RESET quote_all_identifiers;
:same;
SELECT migrate.schema_unchanged() AS proven;
-- Internal (foreign-key) triggers switched off are in the tables' entries: a table's own keys
-- by name, the keys referencing it counted (renaming the other table changes nothing there).
-- The snapshot recorded after a migration that renames, adds, rebuilds or drops a key, or
-- renames or drops the referencing table, still equals a whole one.
SET client_min_messages = warning;
SELECT count(migrate.unregister(version)) >= 0 AS cleared FROM migrate.status() WHERE state = 'pending';
RESET client_min_messages;
CREATE TABLE public.fk_parent (id int PRIMARY KEY);
CREATE TABLE public.fk_child (id int, pid int REFERENCES public.fk_parent);
CREATE TABLE public.fk_other (x int);
SELECT migrate.acknowledge_drift('fk') IS NOT NULL AS acknowledged;
SELECT migrate.register('50', 'switch off', 'ALTER TABLE public.fk_parent DISABLE TRIGGER ALL; ALTER TABLE public.fk_child DISABLE TRIGGER ALL', 'ALTER TABLE public.fk_parent ENABLE TRIGGER ALL; ALTER TABLE public.fk_child ENABLE TRIGGER ALL') IS NOT NULL AS registered;
SELECT migrate.register('51', 'rename child', 'ALTER TABLE public.fk_child RENAME TO fk_kid', 'ALTER TABLE public.fk_kid RENAME TO fk_child') IS NOT NULL AS registered;
SELECT migrate.register('52', 'rename key', 'ALTER TABLE public.fk_kid RENAME CONSTRAINT fk_child_pid_fkey TO kid_fk', 'ALTER TABLE public.fk_kid RENAME CONSTRAINT kid_fk TO fk_child_pid_fkey') IS NOT NULL AS registered;
SELECT migrate.register('53', 'add key', 'ALTER TABLE public.fk_other ADD CONSTRAINT other_fk FOREIGN KEY (x) REFERENCES public.fk_parent; ALTER TABLE public.fk_other DISABLE TRIGGER ALL', 'ALTER TABLE public.fk_other DROP CONSTRAINT other_fk; ALTER TABLE public.fk_other ENABLE TRIGGER ALL') IS NOT NULL AS registered;
-- ALTER COLUMN ... TYPE rebuilds the key: its triggers on the referenced table come back enabled.
SELECT migrate.register('54', 'widen', 'ALTER TABLE public.fk_kid ALTER COLUMN pid TYPE bigint', 'ALTER TABLE public.fk_kid ALTER COLUMN pid TYPE int') IS NOT NULL AS registered;
SELECT migrate.register('55', 'drop kid', 'DROP TABLE public.fk_kid', NULL) IS NOT NULL AS registered;
\set fk_states 'SELECT key, s.snapshot->key->>''internal_triggers'' AS internal_triggers FROM migrate.schema_snapshot() AS s(snapshot), unnest(ARRAY[''table public.fk_parent'', ''table public.fk_child'', ''table public.fk_kid'', ''table public.fk_other'']) key WHERE s.snapshot ? key ORDER BY key'
SELECT version FROM migrate.apply('50');
:same;
:fk_states;
SELECT version FROM migrate.apply('51');
:same;
SELECT version FROM migrate.apply('52');
:same;
SELECT version FROM migrate.apply('53');
:same;
:fk_states;
SELECT version FROM migrate.revert(1);
:same;
SELECT version FROM migrate.apply('53');
SELECT version FROM migrate.apply('54');
:same;
:fk_states;
SELECT version FROM migrate.apply('55');
:same;
:fk_states;
-- Switched off by hand with capture off: found by schema_diff() alone.
SET pg_migrate.drift_capture = off;
ALTER TABLE public.fk_parent DISABLE TRIGGER ALL;
SELECT object, change, detail FROM migrate.schema_diff();
ALTER TABLE public.fk_parent ENABLE TRIGGER ALL;
RESET pg_migrate.drift_capture;
-- A partition's copy of its parent's trigger has an entry while it fires otherwise (before, a
-- partition's trigger disabled on its own was not described); attaching a partition whose
-- foreign key matches the parent's makes that key part of the parent's (its entry goes).
CREATE FUNCTION public.fk_audit() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TABLE public.fk_pt (id int, pid int REFERENCES public.fk_parent) PARTITION BY RANGE (id);
CREATE TABLE public.fk_pt1 PARTITION OF public.fk_pt FOR VALUES FROM (0) TO (10);
CREATE TABLE public.fk_pt2 (id int, pid int CONSTRAINT pt2_fk REFERENCES public.fk_parent);
CREATE TRIGGER audit BEFORE INSERT ON public.fk_pt FOR EACH ROW EXECUTE FUNCTION public.fk_audit();
SELECT migrate.acknowledge_drift('partitions') IS NOT NULL AS acknowledged;
SELECT migrate.register('56', 'partition trigger off', 'ALTER TABLE public.fk_pt1 DISABLE TRIGGER audit', 'ALTER TABLE public.fk_pt1 ENABLE TRIGGER audit') IS NOT NULL AS registered;
SELECT migrate.register('57', 'attach', 'ALTER TABLE public.fk_pt ATTACH PARTITION public.fk_pt2 FOR VALUES FROM (10) TO (20)', 'ALTER TABLE public.fk_pt DETACH PARTITION public.fk_pt2') IS NOT NULL AS registered;
SELECT version FROM migrate.apply('56');
:same;
SELECT key, s.snapshot->key AS entry FROM migrate.schema_snapshot() AS s(snapshot), jsonb_object_keys(s.snapshot) key WHERE key LIKE 'trigger public.fk_pt%';
SELECT version FROM migrate.apply('57');
:same;
SELECT count(*) AS pt2_fk_entries FROM migrate.schema_snapshot() AS s(snapshot), jsonb_object_keys(s.snapshot) key WHERE key = 'constraint public.fk_pt2.pt2_fk';
SELECT version FROM migrate.revert(2);
:same;
SELECT migrate.schema_unchanged() AS proven;
-- Detaching a partition drops its copies of the parent's triggers without an sql_drop event:
-- the entry of one that fired otherwise goes with them.
SELECT migrate.register('56.5', 'detach', 'ALTER TABLE public.fk_pt DETACH PARTITION public.fk_pt1', 'ALTER TABLE public.fk_pt ATTACH PARTITION public.fk_pt1 FOR VALUES FROM (0) TO (10)') IS NOT NULL AS registered;
SELECT version FROM migrate.apply('56');
SELECT version FROM migrate.apply('56.5');
:same;
-- Reverted together, both are right: 56 added the trigger's entry, 56.5 removed it, and it is
-- judged once, against the state before 56 (no leftover reported for 56.5).
SELECT version FROM migrate.revert(2);
:same;
SELECT count(*) AS leftovers_reported FROM migrate.history WHERE version IN ('56', '56.5') AND action = 'revert' AND detail ? 'leftovers';
SELECT migrate.unregister('56.5') IS NOT NULL AS unregistered;
-- verify() sees a down script that leaves the partition's trigger off.
SELECT count(migrate.unregister(v)) AS unregistered FROM unnest('{56,57}'::text[]) v;
SELECT migrate.register('58', 'forgets', 'ALTER TABLE public.fk_pt1 DISABLE TRIGGER audit', 'SELECT 1') IS NOT NULL AS registered;
SELECT version, status, object, change FROM migrate.verify('58');
SELECT migrate.unregister('58') IS NOT NULL AS unregistered;
-- The referenced table's entry does not name an excluded referencing table: renaming it is
-- no difference.
INSERT INTO migrate.drift_exclusions (schema_pattern, name_pattern) VALUES ('public', 'fk_tmp_*');
CREATE TABLE public.fk_tmp_child (pid int REFERENCES public.fk_parent);
ALTER TABLE public.fk_parent DISABLE TRIGGER ALL;
SELECT migrate.acknowledge_drift('excluded') IS NOT NULL AS acknowledged;
ALTER TABLE public.fk_tmp_child RENAME TO fk_tmp_child2;
SELECT object, change, detail FROM migrate.schema_diff();
DELETE FROM migrate.drift_exclusions WHERE name_pattern = 'fk_tmp_*';
-- A migration CALL migrate.run() runs in transactions of its own, and repeatables, keep drift
-- made before them visible (before, the whole snapshot recorded after them took it in).
SET client_min_messages = warning;
SELECT count(migrate.unregister(version)) >= 0 AS cleared FROM migrate.status() WHERE state = 'pending';
RESET client_min_messages;
CREATE TABLE public.run_watched (i int);
SELECT migrate.acknowledge_drift('runs') IS NOT NULL AS acknowledged;
SET pg_migrate.drift_capture = off;
CREATE TABLE public.run_hidden (i int);
ALTER TABLE public.run_watched ADD COLUMN j int;
RESET pg_migrate.drift_capture;
SELECT object, change FROM migrate.schema_diff();
SELECT migrate.register('60', 'split', E'CREATE TABLE public.run_split (i int);\nCOMMIT;\nALTER TABLE public.run_hidden ADD COLUMN k int;',
                        'DROP TABLE public.run_split; ALTER TABLE public.run_hidden DROP COLUMN k') IS NOT NULL AS registered;
SELECT migrate.register('61', 'in a run, in one transaction', 'CREATE TABLE public.run_tx (i int)', 'DROP TABLE public.run_tx') IS NOT NULL AS registered;
CALL migrate.run();
SELECT object, change FROM migrate.schema_diff();
SELECT count(*) AS rows FROM migrate.sync('[{"file": "R__run_view.sql", "name": "run_view", "repeatable": true, "up": "CREATE OR REPLACE VIEW public.run_view AS SELECT 1 AS x;"}]');
SELECT name FROM migrate.apply_repeatables();
SELECT object, change FROM migrate.schema_diff();
SET pg_migrate.snapshot_proof = off;
SELECT object, change FROM migrate.schema_diff();
RESET pg_migrate.snapshot_proof;
-- A split migration stopped part way and finished by a later call keeps the drift made before
-- its run started visible too: the run keeps what differed (0.11.0). Not once acknowledge_drift()
-- made the live schema the reference meanwhile: that drift was acknowledged.
SELECT migrate.acknowledge_drift('resumed runs') IS NOT NULL AS acknowledged;
SET pg_migrate.drift_capture = off;
ALTER TABLE public.run_watched ADD COLUMN before_resumed int;
RESET pg_migrate.drift_capture;
SELECT migrate.register('62', 'split, stopped', E'CREATE TABLE public.run_resumed (i int);\nCOMMIT;\nSELECT 1/0;',
                        'DROP TABLE public.run_resumed') IS NOT NULL AS registered;
\set VERBOSITY terse
CALL migrate.run();
\set VERBOSITY default
SELECT pg_catalog.jsonb_object_keys(preexisting -> 'entries') AS kept FROM migrate.runs;
-- (a callback's snapshot meanwhile, as afterMigrateError after the failed run, changes nothing)
SELECT migrate.run_callback('afterMigrateError', 'CREATE TABLE public.run_cb_log (i int)', NULL) >= 0 AS ran;
SELECT migrate.register('62', 'split, stopped', E'CREATE TABLE public.run_resumed (i int);\nCOMMIT;\nSELECT 1;',
                        'DROP TABLE public.run_resumed') IS NOT NULL AS registered;
\c
CALL migrate.run();
SELECT object, change FROM migrate.schema_diff();
SELECT migrate.register('63', 'split, stopped', E'CREATE TABLE public.run_resumed2 (i int);\nCOMMIT;\nSELECT 1/0;',
                        'DROP TABLE public.run_resumed2') IS NOT NULL AS registered;
\set VERBOSITY terse
CALL migrate.run();
\set VERBOSITY default
SELECT migrate.acknowledge_drift('meanwhile') IS NOT NULL AS acknowledged;
SELECT migrate.register('63', 'split, stopped', E'CREATE TABLE public.run_resumed2 (i int);\nCOMMIT;\nSELECT 1;',
                        'DROP TABLE public.run_resumed2') IS NOT NULL AS registered;
CALL migrate.run();
SELECT object, change FROM migrate.schema_diff();
-- What differs from the newest snapshot (acknowledge_drift up to an entry, a run starting while
-- drift exists) builds the live and the recorded snapshot once each, not again for every key
-- (as subqueries of STABLE functions they were pulled up into the per-key filter: quadratic).
CREATE TABLE public.many_keys (a int, b int, c int, d int, e int, f int, g int, h int);
COMMENT ON TABLE public.many_keys IS 'drift';
SET track_functions = 'all';
BEGIN;
SELECT migrate.acknowledge_drift('up to one entry', (SELECT min(id) FROM migrate.drift WHERE acknowledgement_id IS NULL)) IS NOT NULL AS acknowledged;
SELECT funcname, calls FROM pg_stat_xact_user_functions
 WHERE schemaname = 'migrate' AND funcname IN ('schema_snapshot', 'recorded_snapshot') ORDER BY 1;
ROLLBACK;
RESET track_functions;
DROP TABLE public.many_keys;
-- What an ALTER TABLE renames or drops without an event: the index ADD CONSTRAINT ... USING
-- INDEX renames, the sequence DROP IDENTITY drops, a partition's constraint its parent's new
-- primary key takes over. The refreshed snapshot kept their old entries (schema_diff() then
-- reported them as removed after any later change).
CREATE TABLE public.ui (id int NOT NULL); CREATE UNIQUE INDEX ui_idx ON public.ui (id);
CREATE TABLE public.di (id int GENERATED ALWAYS AS IDENTITY);
CREATE TABLE public.qp (id int NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE public.qp1 PARTITION OF public.qp FOR VALUES FROM (0) TO (10);
ALTER TABLE public.qp1 ADD CONSTRAINT qp1_pkey PRIMARY KEY (id);
SELECT migrate.acknowledge_drift('alter setup') IS NOT NULL AS acknowledged;
SELECT migrate.register('70', 'renamed and dropped inside', $m$
ALTER TABLE public.ui ADD CONSTRAINT ui_pk PRIMARY KEY USING INDEX ui_idx;
ALTER TABLE public.di ALTER COLUMN id DROP IDENTITY;
ALTER TABLE public.qp ADD PRIMARY KEY (id);
$m$, $m$
ALTER TABLE public.qp DROP CONSTRAINT qp_pkey;
ALTER TABLE public.qp1 ADD CONSTRAINT qp1_pkey PRIMARY KEY (id);
ALTER TABLE public.di ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;
ALTER TABLE public.ui DROP CONSTRAINT ui_pk;
CREATE UNIQUE INDEX ui_idx ON public.ui (id);
$m$) IS NOT NULL AS registered;
SELECT version FROM migrate.apply();
:recorded;
SELECT version FROM migrate.revert();
:recorded;
SELECT migrate.unregister('70');
DROP TABLE public.ui, public.di, public.qp;
-- A migration whose snapshot is taken whole (a rename, SET SCHEMA) keeps the drift made before
-- it visible, as the incremental refresh does: a column added with capture off (no drift row)
-- and a captured index stay differences after apply and after revert, until acknowledged.
SELECT migrate.acknowledge_drift('before the whole-snapshot migration') IS NOT NULL AS acknowledged;
CREATE TABLE public.wh_m (id bigint PRIMARY KEY, v text);
CREATE TABLE public.wh_t (id bigint);
SELECT migrate.acknowledge_drift('tables of the test') IS NOT NULL AS acknowledged;
SET pg_migrate.drift_capture = off;
ALTER TABLE public.wh_t ADD COLUMN hidden int;
RESET pg_migrate.drift_capture;
CREATE INDEX wh_manual ON public.wh_t (id);
SELECT migrate.register('80', 'rename', 'ALTER TABLE public.wh_m RENAME COLUMN v TO v2',
                        'ALTER TABLE public.wh_m RENAME COLUMN v2 TO v') IS NOT NULL AS registered;
SELECT version FROM migrate.apply();
SELECT object, change FROM migrate.schema_diff();
SELECT version FROM migrate.revert();
SELECT object, change FROM migrate.schema_diff();
SELECT migrate.unregister('80');
SELECT migrate.acknowledge_drift('kept drift reviewed') IS NOT NULL AS acknowledged;
SELECT count(*) AS differences FROM migrate.schema_diff();
DROP TABLE public.wh_m, public.wh_t;
SELECT migrate.acknowledge_drift('test tables dropped') IS NOT NULL AS acknowledged;

-- With the event trigger that follows migrations disabled, nothing tells the refresh what they
-- touched: the apply takes the whole snapshot, and its table is in it.
ALTER EVENT TRIGGER migrate_drift_ddl DISABLE;
SELECT migrate.register('81', 'unfollowed', 'CREATE TABLE public.unfollowed (id int)',
                        'DROP TABLE public.unfollowed') IS NOT NULL AS registered;
SELECT version FROM migrate.apply();
ALTER EVENT TRIGGER migrate_drift_ddl ENABLE ALWAYS;
SELECT migrate.recorded_snapshot((SELECT max(id) FROM migrate.schema_snapshots)) ? 'table public.unfollowed'
       AS recorded;
SELECT object, change FROM migrate.schema_diff();
SELECT version FROM migrate.revert();
SELECT migrate.unregister('81');

SET client_min_messages = warning;
DROP VIEW public.run_view;
DROP TABLE public.run_resumed, public.run_resumed2, public.run_cb_log;
DROP TABLE public.run_watched, public.run_hidden, public.run_split, public.run_tx;
DROP TABLE public.fk_pt, public.fk_pt2, public.fk_tmp_child2, public.fk_other, public.fk_parent;
DROP FUNCTION public.fk_audit();
DROP TABLE public.qa_keep;
DROP SCHEMA dep CASCADE;
DROP SCHEMA oat CASCADE;
RESET client_min_messages;

DROP TABLE public.untouched;
DROP EXTENSION pg_migrate;
