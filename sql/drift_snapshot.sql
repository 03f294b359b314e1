-- schema_snapshot(): canonical jsonb description of the user schemas; snapshot_diff();
-- snapshots recorded by apply, revert, baseline and acknowledge_drift; schema_diff().
CREATE EXTENSION pg_migrate;
SET pg_migrate.drift_capture = off;  -- this test is about snapshots, not the drift log

-- The extension's own objects and system schemas are not part of the snapshot.
SELECT k FROM jsonb_object_keys(migrate.schema_snapshot()) k ORDER BY k;

-- Every kind of object, in schema snap_a.
CREATE SCHEMA snap_a;
CREATE TYPE snap_a.mood AS ENUM ('sad', 'ok');
CREATE TYPE snap_a.pair AS (l int, r text);
CREATE TYPE snap_a.span AS RANGE (subtype = float8);
CREATE DOMAIN snap_a.posint AS int NOT NULL DEFAULT 1 CONSTRAINT posint_positive CHECK (VALUE > 0);
CREATE TABLE snap_a.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL COLLATE "C",
    mood snap_a.mood DEFAULT 'ok',
    score snap_a.posint,
    twice int GENERATED ALWAYS AS (score * 2) STORED,
    CONSTRAINT users_email_key UNIQUE (email)
);
CREATE TABLE snap_a.orders (id serial PRIMARY KEY, user_id bigint REFERENCES snap_a.users, note text)
    WITH (fillfactor = 90);
CREATE INDEX orders_user ON snap_a.orders (user_id) WHERE note IS NOT NULL;
CREATE TABLE snap_a.events (at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE snap_a.events_2024 PARTITION OF snap_a.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE UNLOGGED TABLE snap_a.cache (k text);
CREATE SEQUENCE snap_a.ticket START 100 INCREMENT 5;
CREATE VIEW snap_a.active AS SELECT id, email FROM snap_a.users WHERE score > 1;
CREATE MATERIALIZED VIEW snap_a.counts AS SELECT count(*) AS n FROM snap_a.orders WITH NO DATA;
CREATE FUNCTION snap_a.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE FUNCTION snap_a.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE PROCEDURE snap_a.noop() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON snap_a.users FOR EACH ROW EXECUTE FUNCTION snap_a.touch();
ALTER TABLE snap_a.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_self ON snap_a.users FOR SELECT USING (email = current_user);
CREATE RULE orders_no_delete AS ON DELETE TO snap_a.orders DO INSTEAD NOTHING;
COMMENT ON TABLE snap_a.users IS 'people';
COMMENT ON COLUMN snap_a.users.email IS 'login';
CREATE TEMP TABLE snap_temp (id int);  -- never in a snapshot

SELECT key, value FROM jsonb_each(migrate.schema_snapshot()) WHERE key LIKE '% snap_a.%' OR key = 'schema snap_a' ORDER BY key;

-- Stable under reordering and independent of OIDs: the same schema built in another order
-- (and after other objects came and went) gives the same snapshot.
CREATE TEMP TABLE snap_before AS SELECT migrate.schema_snapshot() AS s;
DROP SCHEMA snap_a CASCADE;
CREATE TABLE public.snap_noise (id int);
DROP TABLE public.snap_noise;
CREATE SCHEMA snap_a;
CREATE DOMAIN snap_a.posint AS int NOT NULL DEFAULT 1 CONSTRAINT posint_positive CHECK (VALUE > 0);
CREATE TYPE snap_a.span AS RANGE (subtype = float8);
CREATE TYPE snap_a.mood AS ENUM ('sad', 'ok');
CREATE TABLE snap_a.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL COLLATE "C",
    mood snap_a.mood DEFAULT 'ok',
    score snap_a.posint,
    twice int GENERATED ALWAYS AS (score * 2) STORED
);
ALTER TABLE snap_a.users ADD CONSTRAINT users_email_key UNIQUE (email);
COMMENT ON COLUMN snap_a.users.email IS 'login';
COMMENT ON TABLE snap_a.users IS 'people';
CREATE FUNCTION snap_a.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON snap_a.users FOR EACH ROW EXECUTE FUNCTION snap_a.touch();
CREATE POLICY users_self ON snap_a.users FOR SELECT USING (email = current_user);
ALTER TABLE snap_a.users ENABLE ROW LEVEL SECURITY;
CREATE UNLOGGED TABLE snap_a.cache (k text);
CREATE TYPE snap_a.pair AS (l int, r text);
CREATE TABLE snap_a.orders (id serial PRIMARY KEY, user_id bigint, note text) WITH (fillfactor = 90);
ALTER TABLE snap_a.orders ADD FOREIGN KEY (user_id) REFERENCES snap_a.users;
CREATE INDEX orders_user ON snap_a.orders (user_id) WHERE note IS NOT NULL;
CREATE RULE orders_no_delete AS ON DELETE TO snap_a.orders DO INSTEAD NOTHING;
CREATE MATERIALIZED VIEW snap_a.counts AS SELECT count(*) AS n FROM snap_a.orders WITH NO DATA;
CREATE VIEW snap_a.active AS SELECT id, email FROM snap_a.users WHERE score > 1;
CREATE SEQUENCE snap_a.ticket START 100 INCREMENT 5;
CREATE PROCEDURE snap_a.noop() LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION snap_a.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b;
CREATE TABLE snap_a.events (at date NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE snap_a.events_2024 PARTITION OF snap_a.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT (SELECT s FROM snap_before) = migrate.schema_snapshot() AS same_snapshot;
SELECT * FROM migrate.snapshot_diff((SELECT s FROM snap_before), migrate.schema_snapshot());

-- snapshot_diff: one row per changed entry, naming each attribute that changed.
ALTER TABLE snap_a.users ALTER COLUMN email DROP NOT NULL;
ALTER TABLE snap_a.users ALTER COLUMN mood SET DEFAULT 'sad';
ALTER TABLE snap_a.orders ALTER COLUMN note TYPE varchar(200);
ALTER TABLE snap_a.orders ADD COLUMN total numeric(10,2);
ALTER TABLE snap_a.users DROP CONSTRAINT users_email_key;
DROP INDEX snap_a.orders_user;
CREATE INDEX orders_user ON snap_a.orders (user_id);
CREATE OR REPLACE VIEW snap_a.active AS SELECT id, email FROM snap_a.users WHERE score > 2;
ALTER SEQUENCE snap_a.ticket INCREMENT 10;
CREATE OR REPLACE FUNCTION snap_a.add(a int, b int DEFAULT 1) RETURNS int LANGUAGE sql IMMUTABLE RETURN a + b + 0;
ALTER FUNCTION snap_a.touch() SECURITY DEFINER;
ALTER TABLE snap_a.users DISABLE TRIGGER users_touch;
ALTER POLICY users_self ON snap_a.users USING (true);
ALTER TYPE snap_a.mood ADD VALUE 'happy';
ALTER DOMAIN snap_a.posint DROP CONSTRAINT posint_positive;
GRANT SELECT ON snap_a.users TO PUBLIC;
COMMENT ON TABLE snap_a.users IS 'customers';
DROP MATERIALIZED VIEW snap_a.counts;
SELECT * FROM migrate.snapshot_diff((SELECT s FROM snap_before), migrate.schema_snapshot());

-- NULL counts as an empty snapshot; identical snapshots differ in nothing.
SELECT count(*) AS all_added FROM migrate.snapshot_diff(NULL, migrate.schema_snapshot()) WHERE change = 'added';
SELECT count(*) = (SELECT count(*) FROM jsonb_object_keys(migrate.schema_snapshot())) AS every_entry
  FROM migrate.snapshot_diff(migrate.schema_snapshot(), NULL) WHERE change = 'removed';
SELECT count(*) FROM migrate.snapshot_diff(migrate.schema_snapshot(), migrate.schema_snapshot());
SELECT * FROM migrate.snapshot_diff('[]', '{}');
SELECT * FROM migrate.snapshot_diff('{}', '"text"');
SELECT * FROM migrate.snapshot_diff('null', NULL);
SELECT count(*) FROM migrate.snapshot_diff(NULL, NULL);

-- Extension members are left out; the extension itself is an entry.
CREATE EXTENSION seg SCHEMA snap_a;
SELECT object, change, detail FROM migrate.snapshot_diff((SELECT s FROM snap_before), migrate.schema_snapshot())
 WHERE object LIKE '%seg%';
DROP EXTENSION seg;
DROP SCHEMA snap_a CASCADE;

-- Recorded snapshots: one at install, then after apply, revert, baseline and acknowledgement.
SELECT id, reason, taken_by FROM migrate.schema_snapshots ORDER BY id;
SELECT * FROM migrate.schema_diff() WHERE object LIKE '%snap%';
SELECT migrate.register('1', 'create snap_t', 'CREATE TABLE snap_t (id int);', 'DROP TABLE snap_t;');
SELECT version FROM migrate.apply();
SELECT object FROM migrate.schema_diff();
SELECT snapshot ? 'table public.snap_t' AS has_snap_t FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 1;
ALTER TABLE snap_t ADD COLUMN extra int;   -- capture is off: only schema_diff sees this
SELECT * FROM migrate.schema_diff();
SELECT version FROM migrate.revert();
SELECT * FROM migrate.schema_diff();
SELECT migrate.acknowledge_drift('snap_t removed by revert, extra column with it');
SELECT * FROM migrate.schema_diff();
SELECT id, reason FROM migrate.schema_snapshots ORDER BY id;

-- Only the newest pg_migrate.drift_snapshots_kept snapshots are kept.
SET pg_migrate.drift_snapshots_kept = 2;
SELECT migrate.acknowledge_drift('prune');
SELECT id, reason FROM migrate.schema_snapshots ORDER BY id;
RESET pg_migrate.drift_snapshots_kept;

DROP EXTENSION pg_migrate;
CREATE EXTENSION pg_migrate;
SELECT migrate.baseline('5', 'adopted');
SELECT id, reason FROM migrate.schema_snapshots ORDER BY id;
DROP EXTENSION pg_migrate;

-- An install snapshot inserted outside CREATE EXTENSION is a restored dump's (0.9.0): the
-- database's own install snapshot and its proof give way to it (a restore brings it with the
-- id it had in the source). The trigger function is not callable directly.
CREATE EXTENSION pg_migrate;
SELECT migrate.install_snapshot_restored();
INSERT INTO migrate.schema_snapshots (id, reason, snapshot)
  SELECT 1, 'install', migrate.recorded_snapshot(s.id) FROM migrate.schema_snapshots s WHERE s.reason = 'install';
SELECT id, reason FROM migrate.schema_snapshots ORDER BY id;
SELECT snapshot_id IS NULL AS proof_forgotten FROM migrate.catalog_state;
SELECT count(*) AS differences FROM migrate.schema_diff();
-- The snapshot does not depend on the session's output settings: the same entries whoever
-- takes it (before, DateStyle or quote_all_identifiers changed every default or key).
CREATE TABLE public.out_settings (d date DEFAULT '2020-01-31', i interval DEFAULT '1 day 02:00',
                                  f float8 DEFAULT 0.1, b bytea DEFAULT '\x00ff', "Mixed" int,
                                  t timestamptz DEFAULT '2024-01-01 00:00+00');
CREATE TEMP TABLE snap_default AS SELECT migrate.schema_snapshot() AS s;
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = sql_standard;
SET extra_float_digits = 3;
SET bytea_output = escape;
SET quote_all_identifiers = on;
SET TimeZone = 'Asia/Tokyo';
SELECT (SELECT s FROM snap_default) = migrate.schema_snapshot() AS same_snapshot;
SELECT current_setting('DateStyle') AS datestyle, current_setting('quote_all_identifiers') AS quote_all;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
RESET quote_all_identifiers;
RESET TimeZone;
SELECT (SELECT s FROM snap_default)->'column public.out_settings.d' AS d_entry,
       (SELECT s FROM snap_default)->'column public.out_settings.t' AS t_entry;
DROP TABLE public.out_settings, snap_default;

DROP EXTENSION pg_migrate;
