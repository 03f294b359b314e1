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

-- Real apply agrees: the drop-and-recreate script runs with lint_blocks_apply on.
SET pg_migrate.lint_blocks_apply = on;
SELECT migrate.register('1', 'recreate', $$DROP TABLE IF EXISTS gap_big;
CREATE TABLE IF NOT EXISTS gap_big (id bigint PRIMARY KEY, n int);
CREATE INDEX ON gap_big (n);$$);
SELECT version FROM migrate.apply();
RESET pg_migrate.lint_blocks_apply;

DROP FUNCTION gap_rules_of(text);
DROP EXTENSION pg_migrate;
DROP TABLE gap_big;
