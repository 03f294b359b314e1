-- Lint gaps found on real histories (issue 8): each case fails without its fix.
CREATE EXTENSION pg_migrate;
CREATE TABLE gap_big (id bigint PRIMARY KEY, status text, n int);
INSERT INTO gap_big SELECT g, 'new', g FROM generate_series(1, 5000) g;
CREATE INDEX gap_big_n ON gap_big (n);
ANALYZE gap_big;
SET pg_migrate.lint_large_table_rows = 1000;
CREATE FUNCTION gap_rules_of(script text) RETURNS TABLE(line int, rule text, severity text)
  LANGUAGE sql AS $$ SELECT line, rule, severity FROM migrate.lint(script) $$;

-- changing-column-type: a target type the catalog does not know yet cannot be proven
-- rewrite-free; nor a column added earlier in the script.
SELECT line, rule, severity, message FROM migrate.lint($$CREATE TYPE gap_status AS ENUM ('new', 'old');
ALTER TABLE gap_big ALTER COLUMN status TYPE gap_status USING status::gap_status;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_big ADD COLUMN flag int;
ALTER TABLE gap_big ALTER COLUMN flag TYPE bigint;$$);
-- known types: the existing rules (int -> bigint rewrites; varchar widening does not)
SELECT * FROM gap_rules_of($$ALTER TABLE gap_big ALTER COLUMN n TYPE bigint;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_big ALTER COLUMN status TYPE text;$$);

-- DROP TABLE IF EXISTS; CREATE TABLE IF NOT EXISTS: the table is new, the old size does not count.
SELECT * FROM gap_rules_of($$DROP TABLE IF EXISTS gap_big;
CREATE TABLE IF NOT EXISTS gap_big (id bigint PRIMARY KEY, n int);
CREATE INDEX ON gap_big (n);$$);
-- without the DROP, CREATE TABLE IF NOT EXISTS is a no-op and the index is built on the big table
SELECT * FROM gap_rules_of($$CREATE TABLE IF NOT EXISTS gap_big (id bigint PRIMARY KEY, n int);
CREATE INDEX ON gap_big (n);$$);

-- CREATE INDEX IF NOT EXISTS of an existing index builds nothing; of a new one it does.
SELECT * FROM gap_rules_of($$CREATE INDEX IF NOT EXISTS gap_big_n ON gap_big (n);$$);
SELECT * FROM gap_rules_of($$CREATE INDEX IF NOT EXISTS gap_big_id_n ON gap_big (id, n);$$);

-- REINDEX without CONCURRENTLY blocks writes.
SELECT line, rule, severity, message FROM migrate.lint($$REINDEX TABLE gap_big;
REINDEX INDEX gap_big_n;$$);
SELECT * FROM gap_rules_of($$CREATE TABLE gap_new (id bigint);
CREATE INDEX gap_new_id ON gap_new (id);
REINDEX TABLE gap_new;
REINDEX INDEX gap_new_id;$$);
SELECT * FROM gap_rules_of($$REINDEX (CONCURRENTLY) TABLE gap_big;$$);

-- Names resolve by schema (attack: a table of the same name in another schema, created or
-- dropped earlier in the script, hid the big one from every rule and from the gate).
CREATE SCHEMA gap_app;
CREATE TABLE gap_app.big (id int, s text);
INSERT INTO gap_app.big SELECT g, 'x' FROM generate_series(1, 5000) g;
ANALYZE gap_app.big;
SELECT * FROM gap_rules_of($$CREATE SCHEMA gap_tmp; CREATE TABLE gap_tmp.gap_big (id int);
CREATE INDEX ON gap_big (n);
ALTER TABLE gap_big ALTER COLUMN n TYPE bigint;$$);
SELECT * FROM gap_rules_of($$DROP TABLE IF EXISTS gap_app.gap_big;
CREATE TABLE IF NOT EXISTS gap_big (id int);
CREATE INDEX ON gap_big (n);$$);
-- the script's own SET search_path (to its end, or to RESET)
SELECT line, rule, severity, message FROM migrate.lint($$SET search_path = gap_app, public;
CREATE INDEX ON big (s);
ALTER TABLE big ALTER COLUMN id TYPE bigint;
RESET search_path;
CREATE INDEX ON big (s);$$);
-- a split script's SET lasts to the end of its part: each part runs with its own settings
SELECT * FROM gap_rules_of($$SET search_path = gap_app, public;
CREATE INDEX ON big (s);
COMMIT;
CREATE INDEX ON big (s);$$);
-- a non-transactional script's SET lasts for its own statement
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
SET search_path = gap_app;
CREATE INDEX CONCURRENTLY ON big (s);
LOCK TABLE big;$$);
-- a renamed or moved table is still the big table under its new name
SELECT * FROM gap_rules_of($$ALTER TABLE gap_big RENAME TO gap_big2;
CREATE INDEX ON gap_big2 (n);
ALTER TABLE gap_big2 ADD COLUMN t uuid DEFAULT gen_random_uuid();$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_big SET SCHEMA gap_app;
CREATE INDEX ON gap_app.gap_big (n);
CREATE INDEX ON gap_big (n);$$);
DROP SCHEMA gap_app CASCADE;
-- ADD COLUMN of a domain type rewrites the table when the domain has constraints, or (without
-- a DEFAULT clause) a volatile default of its own
CREATE DOMAIN gap_posint AS int CHECK (VALUE > 0);
CREATE DOMAIN gap_vuuid AS uuid DEFAULT gen_random_uuid();
CREATE DOMAIN gap_plain AS text;
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE gap_big ADD COLUMN p gap_posint;
ALTER TABLE gap_big ADD COLUMN u gap_vuuid;
ALTER TABLE gap_big ADD COLUMN u2 gap_vuuid DEFAULT NULL;
ALTER TABLE gap_big ADD COLUMN pl gap_plain;$$);
DROP DOMAIN gap_posint, gap_vuuid, gap_plain;
-- a partitioned table: CONCURRENTLY is refused there, the hint says what works; ON ONLY builds nothing
CREATE TABLE gap_events (at date, id int) PARTITION BY RANGE (at);
SELECT line, severity, hint FROM migrate.lint($$CREATE INDEX ON gap_events (id);
CREATE INDEX gap_events_only ON ONLY gap_events (id);$$);
DROP TABLE gap_events;
-- a syntax error's column counts characters, not bytes
SELECT message FROM migrate.lint($$SELECT 'ééééé'; ALTER TABEL x;$$);

-- Real apply agrees: the drop-and-recreate script runs with lint_blocks_apply on.
SET pg_migrate.lint_blocks_apply = on;
SELECT migrate.register('1', 'recreate', $$DROP TABLE IF EXISTS gap_big;
CREATE TABLE IF NOT EXISTS gap_big (id bigint PRIMARY KEY, n int);
CREATE INDEX ON gap_big (n);$$);
SELECT version FROM migrate.apply();
RESET pg_migrate.lint_blocks_apply;

-- An ALTER TABLE naming what the script creates earlier: each subcommand is checked on its own
-- (one that cannot be resolved hid the others), and a default calling a function that may be
-- volatile (nextval of a new sequence, a new function) rewrites the table.
CREATE TABLE gap_parent (id int PRIMARY KEY);
SELECT * FROM gap_rules_of($$CREATE SEQUENCE gap_seq;
ALTER TABLE gap_big ADD COLUMN s bigint DEFAULT nextval('gap_seq');$$);
SELECT * FROM gap_rules_of($$CREATE FUNCTION gap_code() RETURNS text LANGUAGE sql VOLATILE AS 'SELECT 1::text';
ALTER TABLE gap_big ADD COLUMN code text DEFAULT gap_code(), ADD CONSTRAINT gap_fk FOREIGN KEY (n) REFERENCES gap_parent;$$);
SELECT * FROM gap_rules_of($$CREATE TYPE gap_mood AS ENUM ('ok');
ALTER TABLE gap_big ADD COLUMN m gap_mood NOT NULL DEFAULT 'ok'::gap_mood, ALTER COLUMN n TYPE bigint;$$);
-- a constant of a new type, or a call of a function that is not volatile: no rewrite
SELECT * FROM gap_rules_of($$CREATE TYPE gap_mood AS ENUM ('ok');
ALTER TABLE gap_big ADD COLUMN m gap_mood DEFAULT 'ok'::gap_mood, ADD COLUMN k int DEFAULT abs(-1);$$);
-- What the script notes about a table holds whatever its spelling: public.gap_big is gap_big.
SELECT * FROM gap_rules_of($$ALTER TABLE public.gap_big ADD CONSTRAINT gap_nn CHECK (status IS NOT NULL) NOT VALID;
COMMIT;
ALTER TABLE gap_big VALIDATE CONSTRAINT gap_nn;
ALTER TABLE gap_big ALTER COLUMN status SET NOT NULL;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE public.gap_big ADD CONSTRAINT gap_fk2 FOREIGN KEY (n) REFERENCES gap_parent NOT VALID;
ALTER TABLE gap_big VALIDATE CONSTRAINT gap_fk2;$$);
DROP TABLE gap_parent;
-- DROP INDEX and REINDEX INDEX find the index through the script's own SET search_path.
CREATE SCHEMA gap_s;
CREATE TABLE gap_s.big (id int);
INSERT INTO gap_s.big SELECT g FROM generate_series(1, 5000) g;
CREATE INDEX gap_s_big_id ON gap_s.big (id);
ANALYZE gap_s.big;
SELECT * FROM gap_rules_of($$SET search_path = gap_s, public;
DROP INDEX gap_s_big_id;
REINDEX INDEX gap_s_big_id;$$);
DROP SCHEMA gap_s CASCADE;
-- A temporary table hides a table of its name for unqualified names only.
SELECT * FROM gap_rules_of($$CREATE TEMP TABLE gap_big (id int);
CREATE INDEX ON gap_big (id);
ALTER TABLE public.gap_big ALTER COLUMN n TYPE bigint;
CREATE INDEX ON public.gap_big (status);$$);

-- PRIMARY KEY USING INDEX sets its columns NOT NULL (a scan); SET NOT NULL proven by a CHECK
-- that implies it, as PostgreSQL proves it; timestamp -> timestamptz rewrites unless the
-- session's time zone is UTC.
CREATE TABLE gap_acc (id int, created timestamp, status text);
INSERT INTO gap_acc SELECT g, now(), 'x' FROM generate_series(1, 5000) g;
CREATE UNIQUE INDEX gap_acc_id ON gap_acc (id);
ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_status CHECK (status IS NOT NULL AND status <> '');
ANALYZE gap_acc;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_pkey PRIMARY KEY USING INDEX gap_acc_id;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ALTER COLUMN id SET NOT NULL;
ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_pkey PRIMARY KEY USING INDEX gap_acc_id;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ALTER COLUMN status SET NOT NULL;$$);
-- ...but not once the script drops that CHECK (also one it added and validated itself), or
-- the NOT NULL; nor for a new column under the name of one renamed away
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc DROP CONSTRAINT gap_acc_status;
ALTER TABLE gap_acc ALTER COLUMN status SET NOT NULL;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc RENAME CONSTRAINT gap_acc_status TO gap_acc_s;
ALTER TABLE gap_acc DROP CONSTRAINT gap_acc_s;
ALTER TABLE gap_acc ALTER COLUMN status SET NOT NULL;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_id_nn CHECK (id IS NOT NULL);
ALTER TABLE gap_acc DROP CONSTRAINT gap_acc_id_nn;
ALTER TABLE gap_acc ALTER COLUMN id SET NOT NULL;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc RENAME COLUMN status TO status_old;
ALTER TABLE gap_acc ADD COLUMN status text;
ALTER TABLE gap_acc ALTER COLUMN status SET NOT NULL;$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc RENAME COLUMN status TO state;
ALTER TABLE gap_acc ALTER COLUMN state SET NOT NULL;$$);
-- a NOT NULL dropped, then the column renamed: not NOT NULL under its new name either; a CHECK
-- dropped after SET NOT NULL leaves the column NOT NULL
ALTER TABLE gap_acc ALTER COLUMN created SET NOT NULL;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ALTER COLUMN created DROP NOT NULL;
ALTER TABLE gap_acc RENAME COLUMN created TO made;
ALTER TABLE gap_acc ALTER COLUMN made SET NOT NULL;$$);
ALTER TABLE gap_acc ALTER COLUMN created DROP NOT NULL;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_nn CHECK (id IS NOT NULL) NOT VALID;
ALTER TABLE gap_acc VALIDATE CONSTRAINT gap_acc_nn;
ALTER TABLE gap_acc ALTER COLUMN id SET NOT NULL;
ALTER TABLE gap_acc DROP CONSTRAINT gap_acc_nn;
ALTER TABLE gap_acc ADD CONSTRAINT gap_acc_pkey PRIMARY KEY USING INDEX gap_acc_id;$$);
SET timezone = 'UTC';
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ALTER COLUMN created TYPE timestamptz;$$);
SET timezone = 'Europe/Paris';
SELECT * FROM gap_rules_of($$ALTER TABLE gap_acc ALTER COLUMN created TYPE timestamptz;$$);
RESET timezone;
DROP TABLE gap_acc;

-- A partitioned table: what PostgreSQL refuses there is a finding, and no hint suggests it.
CREATE TABLE gap_ev (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE gap_ev1 PARTITION OF gap_ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO gap_ev SELECT g, '2024-06-01' FROM generate_series(1, 5000) g;
CREATE INDEX gap_ev_at ON gap_ev (at);
ANALYZE gap_ev1;
SELECT line, rule, message FROM migrate.lint(E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY gap_ev_id ON gap_ev (id);\nDROP INDEX CONCURRENTLY gap_ev_at;\nCREATE INDEX CONCURRENTLY gap_ev1_id ON gap_ev1 (id);');
SELECT line, rule, hint FROM migrate.lint($$DROP INDEX gap_ev_at;
ALTER TABLE gap_ev ADD CONSTRAINT gap_ev_u UNIQUE (id, at);$$);
DROP TABLE gap_ev;

-- Statistics older than the data (analyzed empty, then loaded): sized by its files now; a
-- renamed table is named by its new name; COMMIT in a non-transactional script.
CREATE TABLE gap_stale (id int) WITH (autovacuum_enabled = off);  -- its statistics stay stale
ANALYZE gap_stale;
INSERT INTO gap_stale SELECT g FROM generate_series(1, 5000) g;
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE gap_stale ADD COLUMN w int NOT NULL;$$);
SELECT line, rule, message FROM migrate.lint($$ALTER TABLE gap_stale RENAME TO gap_renamed;
CREATE INDEX ON gap_renamed (id);$$);
SELECT line, rule, hint FROM migrate.lint(E'-- pg_migrate:no-transaction\nCOMMIT;');
DROP TABLE gap_stale;

-- pg_temp named in the path is searched in its place; PRIMARY KEY USING INDEX of an index the
-- script builds; a partitioned table's stale statistics; lone-CR line ends; the script's own
-- SET TimeZone; a transactional script's CONCURRENTLY on a partitioned table reported once.
SELECT * FROM gap_rules_of($$SET search_path = public, pg_temp;
CREATE TEMP TABLE gap_big (id int);
ALTER TABLE gap_big ALTER COLUMN n TYPE bigint;$$);
CREATE TABLE gap_nullable (id int);
INSERT INTO gap_nullable SELECT g FROM generate_series(1, 5000) g;
ANALYZE gap_nullable;
SELECT * FROM gap_rules_of(E'-- pg_migrate:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY gap_nullable_id ON gap_nullable (id);\nALTER TABLE gap_nullable ADD CONSTRAINT gap_nullable_pkey PRIMARY KEY USING INDEX gap_nullable_id;');
DROP TABLE gap_nullable;
CREATE TABLE gap_pstale (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE gap_pstale1 PARTITION OF gap_pstale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') WITH (autovacuum_enabled = off);
ANALYZE gap_pstale;
INSERT INTO gap_pstale SELECT g, '2024-06-01' FROM generate_series(1, 5000) g;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_pstale ADD COLUMN z int NOT NULL;$$);
SELECT * FROM gap_rules_of(E'ALTER TABLE gap_big DROP COLUMN n;\r-- pg_migrate:ignore ban-drop-column\rALTER TABLE gap_big DROP COLUMN status;');
SET timezone = 'UTC';
CREATE TABLE gap_ts (t timestamp);
INSERT INTO gap_ts SELECT now() FROM generate_series(1, 5000);
ANALYZE gap_ts;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_ts ALTER COLUMN t TYPE timestamptz;$$);
SELECT * FROM gap_rules_of($$SET timezone = 'Europe/Paris';
ALTER TABLE gap_ts ALTER COLUMN t TYPE timestamptz;$$);
RESET timezone;
DROP TABLE gap_ts;
CREATE INDEX gap_pstale_at ON gap_pstale (at);
SELECT * FROM gap_rules_of($$DROP INDEX CONCURRENTLY gap_pstale_at;$$);
DROP TABLE gap_pstale;

-- ADD COLUMN of a domain the script creates: its constraints (also added by ALTER DOMAIN) or a
-- volatile default rewrite the table, as when the domain is in the catalog (0 findings); a
-- domain without either does not.
SELECT * FROM gap_rules_of($$CREATE DOMAIN gap_pos AS int CHECK (VALUE > 0);
ALTER TABLE gap_big ADD COLUMN p gap_pos;$$);
SELECT * FROM gap_rules_of($$CREATE DOMAIN gap_pos AS int;
ALTER DOMAIN gap_pos ADD CONSTRAINT positive CHECK (VALUE > 0);
ALTER TABLE gap_big ADD COLUMN p gap_pos;$$);
SELECT * FROM gap_rules_of($$CREATE DOMAIN gap_at AS timestamptz DEFAULT clock_timestamp();
ALTER TABLE gap_big ADD COLUMN at gap_at;$$);
SELECT * FROM gap_rules_of($$CREATE DOMAIN gap_plain AS int;
ALTER TABLE gap_big ADD COLUMN p gap_plain;$$);

-- lint runs no user code: a table owner's CHECK calling an immutable function (which calls a
-- volatile one) is not folded to prove SET NOT NULL; the finding stays, nothing ran
CREATE TABLE gap_ran (what text);
CREATE FUNCTION gap_vol(text) RETURNS void LANGUAGE sql VOLATILE AS $$INSERT INTO gap_ran VALUES ($1)$$;
CREATE FUNCTION gap_imm(text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$BEGIN PERFORM gap_vol($1); RETURN true; END$$;
CREATE TABLE gap_planted (c int, CHECK (gap_imm('lint ran it')));
SELECT rule FROM migrate.lint('ALTER TABLE gap_planted ALTER COLUMN c SET NOT NULL');
SELECT count(*) AS ran FROM gap_ran;
DROP TABLE gap_planted, gap_ran;
DROP FUNCTION gap_imm(text), gap_vol(text);

-- A helper's review against real histories:
CREATE TABLE gap_t (id int, note text, other int, at timestamp, t time, iv interval, vc varchar(20));
INSERT INTO gap_t SELECT g, 'x', g, now(), now()::time, '1 day' FROM generate_series(1, 5000) g;
CREATE TABLE gap_u (id int, v int);
INSERT INTO gap_u SELECT g, g FROM generate_series(1, 5000) g;
ANALYZE gap_t, gap_u;
-- VALIDATE of a CHECK an earlier migration added NOT VALID proves SET NOT NULL after it
ALTER TABLE gap_t ADD CONSTRAINT gap_note_nn CHECK (note IS NOT NULL) NOT VALID;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_t VALIDATE CONSTRAINT gap_note_nn;
ALTER TABLE gap_t ALTER COLUMN note SET NOT NULL;$$);
-- ...per table (the same constraint name on two tables), and every column of an AND
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_u ADD CONSTRAINT gap_nn CHECK (v IS NOT NULL AND id IS NOT NULL) NOT VALID;
ALTER TABLE gap_t ADD CONSTRAINT gap_nn CHECK (other IS NOT NULL) NOT VALID;
ALTER TABLE gap_u VALIDATE CONSTRAINT gap_nn;
ALTER TABLE gap_u ALTER COLUMN v SET NOT NULL;
ALTER TABLE gap_u ALTER COLUMN id SET NOT NULL;
ALTER TABLE gap_t ALTER COLUMN other SET NOT NULL;$$);
-- IF NOT EXISTS / IF EXISTS that do nothing; SET NOT NULL of a column added NOT NULL
SELECT * FROM gap_rules_of($$ALTER TABLE gap_t ADD COLUMN IF NOT EXISTS note uuid DEFAULT gen_random_uuid();
ALTER TABLE gap_t ADD COLUMN IF NOT EXISTS id int NOT NULL;
ALTER TABLE gap_t DROP COLUMN IF EXISTS nonexistent;
ALTER TABLE gap_t ADD COLUMN y int NOT NULL DEFAULT 0;
ALTER TABLE gap_t ALTER COLUMN y SET NOT NULL;$$);
-- precisions that rewrite nothing (the maximum, interval's), a domain without constraints:
-- only interval(3) and the constrained domain rewrite
CREATE DOMAIN gap_plain_text AS text;
CREATE DOMAIN gap_short_text AS text CHECK (length(VALUE) < 10);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_t ALTER COLUMN at TYPE timestamp(6);
ALTER TABLE gap_t ALTER COLUMN t TYPE time(6);
ALTER TABLE gap_t ALTER COLUMN iv TYPE interval(6);
ALTER TABLE gap_t ALTER COLUMN note TYPE gap_plain_text;
ALTER TABLE gap_t ALTER COLUMN iv TYPE interval(3);
ALTER TABLE gap_t ALTER COLUMN note TYPE gap_short_text;$$);
-- what register refuses of a script as a whole, lint reports (CI's lint passed these)
SELECT line, rule, message FROM migrate.lint($$-- pg_migrate:batch 500
UPDATE gap_u SET v = 0 WHERE v IS NULL;$$);
SELECT line, rule, message FROM migrate.lint($$-- pg_migrate:no-transaction
SELECT 1;
-- pg_migrate:bacth 500
UPDATE gap_u SET v = 0 WHERE v IS NULL;$$);
SELECT line, rule, message FROM migrate.lint($$-- pg_migrate:no-transaction
-- pg_migrate:batch 500
UPDATE gap_u SET v = 0 FROM gap_t WHERE gap_u.id = gap_t.id AND v IS NULL;$$);
-- an index the script drops is built again by CREATE INDEX IF NOT EXISTS; CREATE TABLE IF NOT
-- EXISTS ... AS of a table that exists creates nothing (later statements meet the big table)
CREATE INDEX gap_u_v ON gap_u (v);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS gap_u_v;
CREATE INDEX IF NOT EXISTS gap_u_v ON gap_u (v, id);$$);
SELECT * FROM gap_rules_of($$CREATE TABLE IF NOT EXISTS gap_u AS SELECT 1 AS id, 2 AS v;
CREATE INDEX ON gap_u (id);$$);
-- a type change that rewrites no table but rebuilds the indexes of the column (a new operator
-- class or collation); varchar(n) -> text keeps them
CREATE INDEX gap_t_at ON gap_t (at);
CREATE INDEX gap_t_note ON gap_t (note);
CREATE INDEX gap_t_vc ON gap_t (vc);
SET timezone = 'UTC';
SELECT line, rule, message FROM migrate.lint($$ALTER TABLE gap_t ALTER COLUMN at TYPE timestamptz;$$);
SELECT line, rule, message FROM migrate.lint($$ALTER TABLE gap_t ALTER COLUMN note TYPE text COLLATE "C";$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_t ALTER COLUMN vc TYPE text;$$);
RESET timezone;
-- rows changed by a data-modifying WITH query or a MERGE, in the migration's one transaction
SELECT line, rule, message, hint FROM migrate.lint($$WITH gone AS (DELETE FROM gap_u WHERE v < 100 RETURNING *) SELECT count(*) FROM gone;
MERGE INTO gap_u u USING gap_t t ON u.id = t.id WHEN MATCHED THEN UPDATE SET v = t.other;$$);
-- A CHECK added NOT VALID and validated by the next migration: apply() runs every pending
-- migration in one transaction, so the VALIDATE scans under the ADD's lock (the catalog row
-- is this transaction's). Committed in between, it is the recipe, and no finding.
BEGIN;
ALTER TABLE gap_u ADD CONSTRAINT gap_v_positive CHECK (v > 0) NOT VALID;
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE gap_u VALIDATE CONSTRAINT gap_v_positive;$$);
ROLLBACK;
-- a NOT VALID constraint this transaction only altered (ALTER CONSTRAINT) was not added by it
ALTER TABLE gap_u ADD CONSTRAINT gap_v_nonneg CHECK (v >= 0) NOT VALID;
BEGIN;
COMMENT ON CONSTRAINT gap_v_nonneg ON gap_u IS 'touched';
ALTER TABLE gap_u RENAME CONSTRAINT gap_v_nonneg TO gap_v_nonneg2;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_u VALIDATE CONSTRAINT gap_v_nonneg2;$$);
ROLLBACK;
ALTER TABLE gap_u DROP CONSTRAINT gap_v_nonneg;
SET pg_migrate.lint_blocks_apply = on;
SELECT migrate.register('10', 'add check', 'ALTER TABLE gap_u ADD CONSTRAINT gap_v_positive CHECK (v > 0) NOT VALID');
SELECT migrate.register('11', 'validate check', 'ALTER TABLE gap_u VALIDATE CONSTRAINT gap_v_positive');
SELECT version FROM migrate.apply();
SELECT version FROM migrate.apply('10');
SELECT version FROM migrate.apply();
RESET pg_migrate.lint_blocks_apply;
-- Partitions: ATTACH PARTITION scans the table it attaches unless a validated CHECK may prove
-- the bound; a new partition (ATTACH, CREATE TABLE ... PARTITION OF) scans the default partition.
CREATE TABLE gap_log (at date NOT NULL, n int) PARTITION BY RANGE (at);
CREATE TABLE gap_log_default PARTITION OF gap_log DEFAULT;
INSERT INTO gap_log SELECT date '2020-01-01' + g % 300, g FROM generate_series(1, 5000) g;
CREATE TABLE gap_log_2030 (at date NOT NULL, n int);
INSERT INTO gap_log_2030 SELECT date '2030-01-01' + g % 300, g FROM generate_series(1, 5000) g;
ANALYZE gap_log_default, gap_log_2030;
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT line, rule, severity, message FROM migrate.lint($$CREATE TABLE gap_log_2031 PARTITION OF gap_log FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');$$);
-- the recipe: a CHECK on each (added earlier, or validated earlier in the script): no scan finding
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_in_2030 CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
-- The script's CHECK is a proof only if it implies the bound, as a catalog one: an unrelated
-- CHECK added earlier proves nothing (both scans reported), nor does one too wide for the bound
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_n_positive CHECK (n > 0);
ALTER TABLE gap_log_default ADD CONSTRAINT gap_n_positive_d CHECK (n > 0);
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_after_2029 CHECK (at >= '2029-01-01');
ALTER TABLE gap_log_default ADD CONSTRAINT gap_before_2031 CHECK (at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
-- the recipe for the default partition, and ADD ... NOT VALID then VALIDATE (here in a
-- non-transactional script, one statement per transaction): proofs, no scan finding
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_log_default ADD CONSTRAINT gap_before_2031 CHECK (at < '2031-01-01') NOT VALID;
ALTER TABLE gap_log_default VALIDATE CONSTRAINT gap_before_2031;
CREATE TABLE gap_log_2031 PARTITION OF gap_log FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');$$);
-- a CHECK calling a function of the user's is not evaluated (counted as a possible proof: not
-- reported), and the function did not run
CREATE TABLE gap_ran3 (what text);
CREATE FUNCTION gap_in_range(d date) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
    AS $$BEGIN INSERT INTO gap_ran3 VALUES ('check'); RETURN d >= '2030-01-01'; END$$;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_fn CHECK (gap_in_range(at));
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT count(*) AS ran FROM gap_ran3;
DROP FUNCTION gap_in_range(date);
DROP TABLE gap_ran3;
-- (review) A CHECK's literals are coerced by type input functions; an array or composite of a
-- domain runs the domain's CHECK there: not cooked, nothing runs (a possible proof).
CREATE TABLE gap_ran4 (what text);
CREATE FUNCTION gap_noisy(i int) RETURNS boolean LANGUAGE plpgsql
    AS $$BEGIN INSERT INTO gap_ran4 VALUES ('domain'); RETURN true; END$$;
CREATE DOMAIN gap_noisy_int AS int CHECK (gap_noisy(VALUE));
CREATE TYPE gap_noisy_pair AS (a gap_noisy_int, b int);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT c1 CHECK (n = ANY ('{1,2}'::gap_noisy_int[]));
ALTER TABLE gap_log_2030 ADD CONSTRAINT c2 CHECK ((n, 1)::text <> '(5,1)'::gap_noisy_pair::text);$$);
SELECT count(*) AS ran FROM gap_ran4;
-- ... nor does an immutable function of a catalog CHECK: not evaluated, that CHECK may be the
-- proof (PostgreSQL folds it), and the attached table's scan is not reported
CREATE SEQUENCE gap_lim_calls;
CREATE FUNCTION gap_lim(d date) RETURNS date LANGUAGE plpgsql IMMUTABLE
    AS $$BEGIN PERFORM nextval('gap_lim_calls'); RETURN d; END$$;
ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_lim_c CHECK (at < gap_lim('2100-01-01'));
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS calls_before FROM gap_lim_calls;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS calls_after FROM gap_lim_calls;
ALTER TABLE gap_log_2030 DROP CONSTRAINT gap_lim_c;
DROP FUNCTION gap_lim(date);
DROP SEQUENCE gap_lim_calls;
DROP TYPE gap_noisy_pair;
DROP DOMAIN gap_noisy_int;
DROP FUNCTION gap_noisy(int);
DROP TABLE gap_ran4;
-- Weak implication, as PostgreSQL: a range CHECK does not prove the range partition's
-- IS NOT NULL on a nullable key column (gap_nn_2030.at); with SET NOT NULL earlier in the script it does
CREATE TABLE gap_nn_2030 (at date, n int);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_nn_2030 ADD CONSTRAINT gap_nn_in CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_nn_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_nn_2030 ALTER COLUMN at SET NOT NULL;
ALTER TABLE gap_nn_2030 ADD CONSTRAINT gap_nn_in CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_nn_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
DROP TABLE gap_nn_2030;
-- (second review) Operators are resolved as the parser resolves them: a user's operator of the
-- same name on other types (as citext or PostGIS bring) does not make a CHECK uncookable, nor
-- does a column of the user's type the CHECK does not name; a catalog CHECK the script drops,
-- or a NOT NULL, proves nothing; a default partition detached earlier is not scanned
CREATE FUNCTION gap_pge(point, point) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR >= (LEFTARG = point, RIGHTARG = point, FUNCTION = gap_pge);
CREATE DOMAIN gap_email AS text CHECK (VALUE LIKE '%@%');
CREATE TABLE gap_c6 (at date NOT NULL, n int, e gap_email);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_c6 ADD CONSTRAINT gap_c6_pos CHECK (n >= 0 AND at >= '2030-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_c6 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
DROP TABLE gap_c6;
DROP OPERATOR >= (point, point);
DROP FUNCTION gap_pge(point, point);
DROP DOMAIN gap_email;
CREATE TABLE gap_c2 (at date, n int, CONSTRAINT gap_c2_in CHECK (at >= '2030-01-01' AND at < '2031-01-01'));
ALTER TABLE gap_c2 ALTER COLUMN at SET NOT NULL;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_c2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_c2 DROP CONSTRAINT gap_c2_in;
ALTER TABLE gap_log ATTACH PARTITION gap_c2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_c2 ALTER COLUMN at DROP NOT NULL;
ALTER TABLE gap_log ATTACH PARTITION gap_c2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log DETACH PARTITION gap_log_default;
ALTER TABLE gap_log ATTACH PARTITION gap_c2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
DROP TABLE gap_c2;
-- an unnamed NOT VALID CHECK proving NOT NULL, validated by its generated name: SET NOT NULL
-- then scans nothing
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_u ADD CHECK (v IS NOT NULL) NOT VALID;
ALTER TABLE gap_u VALIDATE CONSTRAINT gap_u_v_check;
ALTER TABLE gap_u ALTER COLUMN v SET NOT NULL;$$);
-- what the script notes by a table's name follows a rename: a NOT NULL it set, a default
-- partition it created (renamed and dropped: DETACH ... CONCURRENTLY is allowed), the
-- partitioned table it created one for (renamed: still refused)
CREATE TABLE gap_n1 (at date, n int);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_n1 ALTER COLUMN at SET NOT NULL;
ALTER TABLE gap_n1 ADD CONSTRAINT gap_n1_in CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_n1 RENAME TO gap_n2;
ALTER TABLE gap_log ATTACH PARTITION gap_n2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
DROP TABLE gap_n1;
CREATE TABLE gap_s (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE gap_s_1 PARTITION OF gap_s FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_s_def PARTITION OF gap_s DEFAULT;
ALTER TABLE gap_s_def RENAME TO gap_s_def_old;
DROP TABLE gap_s_def_old;
ALTER TABLE gap_s DETACH PARTITION gap_s_1 CONCURRENTLY;$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_s_def PARTITION OF gap_s DEFAULT;
ALTER TABLE gap_s RENAME TO gap_s_new;
ALTER TABLE gap_s_new DETACH PARTITION gap_s_1 CONCURRENTLY;$$);
DROP TABLE gap_s;
-- DETACH ... CONCURRENTLY leaves the partition a CHECK of its bound: attached again, no scan
CREATE TABLE gap_s2 (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE gap_s2_1 PARTITION OF gap_s2 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
INSERT INTO gap_s2 SELECT date '2030-01-01' + g % 300 FROM generate_series(1, 5000) g;
ANALYZE gap_s2_1;
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_s2 DETACH PARTITION gap_s2_1 CONCURRENTLY;
ALTER TABLE gap_s2 ATTACH PARTITION gap_s2_1 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_s2 DETACH PARTITION gap_s2_1 CONCURRENTLY;
ALTER TABLE gap_s2 ATTACH PARTITION gap_s2_1 FOR VALUES FROM ('2029-01-01') TO ('2030-06-01');$$);
DROP TABLE gap_s2;
-- a partitioned table attached: PostgreSQL checks each of its partitions on its own (none: no scan)
CREATE TABLE gap_sp (at date NOT NULL, n int) PARTITION BY LIST (n);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_sp FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
CREATE TABLE gap_sp_1 PARTITION OF gap_sp (CHECK (at >= '2030-01-01' AND at < '2031-01-01')) FOR VALUES IN (1);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_sp FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
CREATE TABLE gap_sp_2 PARTITION OF gap_sp FOR VALUES IN (2);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_sp FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
DROP TABLE gap_sp;
-- (third review) a partitioned table's partitions are listed, not sorted: a key with the user's
-- operator class is not compared (its function did not run); what the script added to a
-- partition counts; ATTACH to a table that is not partitioned fails, nothing is scanned; a CHECK
-- nested too deep to cook is an error caught, not a crash
CREATE TABLE gap_ran5 (what text);
CREATE FUNCTION gap_cmp(int, int) RETURNS int LANGUAGE plpgsql
    AS $$BEGIN INSERT INTO gap_ran5 VALUES ('cmp'); RETURN btint4cmp($1, $2); END$$;
CREATE OPERATOR CLASS gap_int_ops FOR TYPE int USING btree AS OPERATOR 1 <, OPERATOR 2 <=,
    OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >, FUNCTION 1 gap_cmp(int, int);
CREATE TABLE gap_up (at date NOT NULL, n int) PARTITION BY RANGE (n gap_int_ops);
CREATE TABLE gap_up1 PARTITION OF gap_up FOR VALUES FROM (0) TO (10);
CREATE TABLE gap_up2 PARTITION OF gap_up FOR VALUES FROM (10) TO (20);
TRUNCATE gap_ran5;  -- (creating the partitions compared their bounds)
SELECT * FROM gap_rules_of($$ALTER TABLE gap_up1 ADD CONSTRAINT gap_up1_in CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_up2 ADD CONSTRAINT gap_up2_in CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_up FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT count(*) AS ran FROM gap_ran5;
-- (fourth review) nor when the operator class is an ancestor's: the partition constraint of a
-- grandparent's default partition is built from the grandparent's sorted bounds
CREATE TABLE gap_up_d PARTITION OF gap_up (CHECK (at < '2000-01-01')) DEFAULT PARTITION BY RANGE (at);
CREATE TABLE gap_up_d1 PARTITION OF gap_up_d FOR VALUES FROM ('1990-01-01') TO ('2000-01-01');
CREATE TABLE gap_up_new (at date NOT NULL, n int);
TRUNCATE gap_ran5;
\c
SET pg_migrate.lint_large_table_rows = 1000;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_up_d ATTACH PARTITION gap_up_new FOR VALUES FROM ('1980-01-01') TO ('1990-01-01');$$);
SELECT count(*) AS ran FROM gap_ran5;
DROP TABLE gap_up, gap_ran5, gap_up_new;
DROP OPERATOR CLASS gap_int_ops USING btree;
DROP OPERATOR FAMILY gap_int_ops USING btree;
DROP FUNCTION gap_cmp(int, int);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_u ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT rule, severity FROM migrate.lint((SELECT 'ALTER TABLE gap_u ADD CONSTRAINT gap_deep CHECK ('
    || string_agg('v', ' + ') || ' > 0) NOT VALID;' FROM generate_series(1, 200000)));
-- an unnamed CHECK takes the name of one the script dropped, as PostgreSQL names it: the
-- VALIDATE in the same transaction is that new constraint's
CREATE TABLE gap_t4 (a int, CHECK (a > -5));
SELECT * FROM gap_rules_of($$ALTER TABLE gap_t4 DROP CONSTRAINT gap_t4_a_check;
ALTER TABLE gap_t4 ADD CHECK (a > 0) NOT VALID;
ALTER TABLE gap_t4 VALIDATE CONSTRAINT gap_t4_a_check;$$);
DROP TABLE gap_t4;
-- a partition key of an enum type (its input and operators are built in) is proven too
CREATE TYPE gap_state AS ENUM ('a', 'b');
CREATE TABLE gap_e (s gap_state NOT NULL) PARTITION BY LIST (s);
CREATE TABLE gap_e_b (s gap_state NOT NULL CHECK (s = 'b'));
SELECT * FROM gap_rules_of($$ALTER TABLE gap_e ATTACH PARTITION gap_e_b FOR VALUES IN ('b');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_e ATTACH PARTITION gap_e_b FOR VALUES IN ('a');$$);
DROP TABLE gap_e, gap_e_b;
DROP TYPE gap_state;
-- A proof follows its table through a rename; a dropped one proves nothing; an unnamed NOT
-- VALID CHECK is validated by the name PostgreSQL gives it
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 RENAME TO gap_log_y2030;
ALTER TABLE gap_log_y2030 ADD CONSTRAINT c CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log ATTACH PARTITION gap_log_y2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log_2030 ADD CONSTRAINT c CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log_2030 DROP CONSTRAINT c;
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_log_2030 ADD CHECK (at >= '2030-01-01' AND at < '2031-01-01') NOT VALID;
ALTER TABLE gap_log_2030 VALIDATE CONSTRAINT gap_log_2030_at_check;
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');$$);
ALTER TABLE gap_log_2030 ADD CONSTRAINT gap_in_2030 CHECK (at >= '2030-01-01' AND at < '2031-01-01');
ALTER TABLE gap_log_default ADD CONSTRAINT gap_before_2030 CHECK (at < '2030-01-01');
SELECT * FROM gap_rules_of($$ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
CREATE TABLE gap_log_2031 PARTITION OF gap_log FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');$$);
-- (PostgreSQL agrees here: at DEBUG1 it says both partition constraints are implied by existing
-- constraints, and scans neither table.)
ALTER TABLE gap_log ATTACH PARTITION gap_log_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
-- a new default partition, or a partitioned table without one: nothing to scan
SELECT * FROM gap_rules_of($$CREATE TABLE gap_log_2031 PARTITION OF gap_log FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');
CREATE TABLE gap_other (at date) PARTITION BY RANGE (at);
CREATE TABLE gap_other_default PARTITION OF gap_other DEFAULT;$$);
-- The proof is PostgreSQL's (PartConstraintImpliedByRelConstraint): a CHECK that does not imply
-- the bound proves nothing. Here every table has an unrelated CHECK (the partitioned table's,
-- which its default partition inherits and ATTACH requires), and both scans are still reported.
CREATE TABLE gap_cl (at date NOT NULL, n int, CHECK (n >= 0)) PARTITION BY RANGE (at);
CREATE TABLE gap_cl_default PARTITION OF gap_cl DEFAULT;
INSERT INTO gap_cl SELECT date '2020-01-01' + g % 300, g FROM generate_series(1, 5000) g;
CREATE TABLE gap_cl_2030 (at date NOT NULL, n int CHECK (n >= 0));
INSERT INTO gap_cl_2030 SELECT date '2030-01-01' + g % 300, g FROM generate_series(1, 5000) g;
ANALYZE gap_cl_default, gap_cl_2030;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_cl ATTACH PARTITION gap_cl_2030 FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
CREATE TABLE gap_cl_2031 PARTITION OF gap_cl FOR VALUES FROM ('2031-01-01') TO ('2032-01-01');$$);
-- an invalid bound: the statement fails, lint does not guess
SELECT * FROM gap_rules_of($$ALTER TABLE gap_cl ATTACH PARTITION gap_cl_2030 FOR VALUES IN (1);$$);
-- a bound that calls a function is not evaluated (lint runs no code the script names): both
-- scans are assumed, and the function did not run
CREATE TABLE gap_ran2 (what text);
CREATE FUNCTION gap_bound() RETURNS date LANGUAGE plpgsql AS $$BEGIN INSERT INTO gap_ran2 VALUES ('bound'); RETURN '2035-01-01'; END$$;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_cl ATTACH PARTITION gap_cl_2030 FOR VALUES FROM (gap_bound()) TO ('2036-01-01');$$);
SELECT count(*) AS ran FROM gap_ran2;
DROP FUNCTION gap_bound();
DROP TABLE gap_cl, gap_cl_2030, gap_ran2;
-- DETACH PARTITION without CONCURRENTLY locks the partitioned table ACCESS EXCLUSIVE; with it,
-- in a non-transactional script, it does not, but only from a partitioned table without a
-- default partition: gap_log has one, and PostgreSQL refuses the statement.
SELECT line, rule, severity, message FROM migrate.lint($$ALTER TABLE gap_log DETACH PARTITION gap_log_2030;$$);
SELECT line, rule, severity, message FROM migrate.lint($$-- pg_migrate:no-transaction
ALTER TABLE gap_log DETACH PARTITION gap_log_2030 CONCURRENTLY;$$);
ALTER TABLE gap_log DETACH PARTITION gap_log_2030 CONCURRENTLY;
-- the default partition detached (not concurrently) earlier in the script: allowed; so is a
-- table without a default partition; one the script gives a default partition is not
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_log DETACH PARTITION gap_log_default;
ALTER TABLE gap_log DETACH PARTITION gap_log_2030 CONCURRENTLY;$$);
CREATE TABLE gap_nd (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE gap_nd_2030 PARTITION OF gap_nd FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_nd DETACH PARTITION gap_nd_2030 CONCURRENTLY;$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_nd_default PARTITION OF gap_nd DEFAULT;
ALTER TABLE gap_nd DETACH PARTITION gap_nd_2030 CONCURRENTLY;$$);
-- (review) renaming or moving the default partition keeps it one; a default partition the
-- script creates and then detaches or drops does not count; one attached to a table the script
-- creates does
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
ALTER TABLE gap_log_default RENAME TO gap_log_other;
ALTER TABLE gap_log DETACH PARTITION gap_log_2030 CONCURRENTLY;$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_nd_default PARTITION OF gap_nd DEFAULT;
ALTER TABLE gap_nd DETACH PARTITION gap_nd_default;
ALTER TABLE gap_nd DETACH PARTITION gap_nd_2030 CONCURRENTLY;$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_nd_default PARTITION OF gap_nd DEFAULT;
DROP TABLE gap_nd_default;
ALTER TABLE gap_nd DETACH PARTITION gap_nd_2030 CONCURRENTLY;$$);
SELECT * FROM gap_rules_of($$-- pg_migrate:no-transaction
CREATE TABLE gap_np (at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE gap_np_d (at date NOT NULL);
ALTER TABLE gap_np ATTACH PARTITION gap_np_d DEFAULT;
CREATE TABLE gap_np_1 PARTITION OF gap_np FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');
ALTER TABLE gap_np DETACH PARTITION gap_np_1 CONCURRENTLY;$$);
DROP TABLE gap_log, gap_nd;
-- A column of a NOT NULL domain with no default (its own or the domain's) fails on a table with
-- rows, as ADD COLUMN ... NOT NULL does; with the domain's default it is a rewrite (checked).
CREATE DOMAIN gap_nn_int AS int NOT NULL;
CREATE DOMAIN gap_nn_int_default AS int NOT NULL DEFAULT 7;
CREATE DOMAIN gap_over_nn AS gap_nn_int;
SELECT * FROM gap_rules_of($$ALTER TABLE gap_u ADD COLUMN a gap_nn_int;
ALTER TABLE gap_u ADD COLUMN b gap_nn_int DEFAULT 0;
ALTER TABLE gap_u ADD COLUMN c gap_nn_int_default;
ALTER TABLE gap_u ADD COLUMN d gap_over_nn;
CREATE DOMAIN gap_new_nn AS text NOT NULL;
ALTER TABLE gap_u ADD COLUMN e gap_new_nn;$$);
ALTER TABLE gap_u ADD COLUMN a gap_nn_int;
-- a NOT NULL domain the script creates and then gives a default (or one over it) is a rewrite
SELECT * FROM gap_rules_of($$CREATE DOMAIN gap_d1 AS int NOT NULL;
ALTER DOMAIN gap_d1 SET DEFAULT 5;
ALTER TABLE gap_u ADD COLUMN f gap_d1;
CREATE DOMAIN gap_d2 AS gap_d1;
ALTER TABLE gap_u ADD COLUMN g gap_d2;
CREATE DOMAIN gap_d3 AS gap_nn_int;
ALTER TABLE gap_u ADD COLUMN h gap_d3;$$);
DROP DOMAIN gap_over_nn, gap_nn_int, gap_nn_int_default;
DROP TABLE gap_t, gap_u;
DROP DOMAIN gap_plain_text, gap_short_text;

-- A table created before a COMMIT split point is committed at it: after it, its size is
-- unknown (the part may have filled it), not "created by this script".
SELECT line, rule, severity, message FROM migrate.lint($$CREATE TABLE gap_split AS SELECT g AS id FROM generate_series(1, 500000) g;
COMMIT;
CREATE INDEX gap_split_i ON gap_split (id);$$);
SELECT * FROM gap_rules_of($$CREATE TABLE gap_split AS SELECT g AS id FROM generate_series(1, 500000) g;
CREATE INDEX gap_split_i ON gap_split (id);$$);

-- REFRESH MATERIALIZED VIEW without CONCURRENTLY (not WITH NO DATA), and ALTER TABLE forms that
-- copy the table under ACCESS EXCLUSIVE
CREATE TABLE gap_copy AS SELECT g AS id FROM generate_series(1, 5000) g;
CREATE MATERIALIZED VIEW gap_mv AS SELECT id FROM gap_copy;
ANALYZE gap_mv, gap_copy;
SELECT line, rule, severity, message FROM migrate.lint($$REFRESH MATERIALIZED VIEW gap_mv;
REFRESH MATERIALIZED VIEW CONCURRENTLY gap_mv;
REFRESH MATERIALIZED VIEW gap_mv WITH NO DATA;
ALTER TABLE gap_copy SET TABLESPACE pg_global;
ALTER TABLE gap_copy SET UNLOGGED;
ALTER TABLE gap_copy SET ACCESS METHOD gap_am;
CREATE TABLE gap_new (id int);
ALTER TABLE gap_new SET UNLOGGED;$$);
-- ...but not what changes nothing: the tablespace, persistence and access method it has
SELECT * FROM gap_rules_of($$ALTER TABLE gap_copy SET TABLESPACE pg_default;
ALTER TABLE gap_copy SET LOGGED;
ALTER TABLE gap_copy SET ACCESS METHOD heap;$$);
DROP MATERIALIZED VIEW gap_mv;
DROP TABLE gap_copy;

-- RESET search_path (and SET ... TO DEFAULT) goes back to the session's reset value, not to
-- what the caller SET: here public.gap_big, not the empty gap_app.gap_big.
CREATE SCHEMA gap_app;
CREATE TABLE gap_app.gap_big (n int);
ANALYZE gap_app.gap_big;
SET search_path = gap_app, public;
SELECT * FROM gap_rules_of($$RESET search_path;
CREATE INDEX gap_reset_i ON gap_big (n);$$);
SELECT * FROM gap_rules_of($$SET search_path TO DEFAULT;
CREATE INDEX gap_reset_i ON gap_big (n);$$);
SELECT * FROM gap_rules_of($$CREATE INDEX gap_reset_i ON gap_big (n);$$);
RESET search_path;
DROP SCHEMA gap_app CASCADE;

DROP FUNCTION gap_rules_of(text);
DROP EXTENSION pg_migrate;
DROP TABLE gap_big;
