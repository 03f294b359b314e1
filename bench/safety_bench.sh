#!/usr/bin/env bash
# Cost of lint, plan and verify on a generated migration, compared with apply itself.
# Prints figures (not a timed test). Needs pg_migrate installed in the server; works in a
# scratch database it creates and drops.
# Usage: bench/safety_bench.sh [statements]   (a throwaway cluster; or set PGHOST/PGPORT/PGUSER
# to use a running server)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-600}
DB=pgm_safety_bench
if [ -z "${PGHOST:-}" ]; then source bench/cluster.sh; fi
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
[ -z "${BENCH_DIR:-}" ] && trap 'psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB"' EXIT
psql -X -q -d "$DB" -v n="$N" <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION pg_migrate;
CREATE TABLE bench_t (id bigint PRIMARY KEY, v text);
INSERT INTO bench_t SELECT g, 'x' FROM generate_series(1, 100000) g;
ANALYZE bench_t;
-- :n statements: a new table, an index on it, a column on the 100,000-row table (no rewrite)
SELECT string_agg(format('CREATE TABLE b%s (id bigint PRIMARY KEY, v text); CREATE INDEX ON b%s (v); ALTER TABLE bench_t ADD COLUMN c%s int;', g, g, g), E'\n') AS up,
       string_agg(format('ALTER TABLE bench_t DROP COLUMN c%s; DROP TABLE b%s;', g, g), E'\n') AS down
  FROM generate_series(1, :n / 3) g \gset
SELECT migrate.register('1', 'bench', :'up', :'down') \gset
CREATE TEMP TABLE t (what text, ms float8, result_rows bigint);
CREATE FUNCTION pg_temp.timed(what text, q text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE s timestamptz := clock_timestamp(); n bigint;
BEGIN EXECUTE q INTO n; INSERT INTO t VALUES (what, 1000 * extract(epoch FROM clock_timestamp() - s), n); END $f$;
SELECT pg_temp.timed('lint', 'SELECT count(*) FROM migrate.lint((SELECT up_sql FROM migrate.migrations))');
SELECT pg_temp.timed('plan', 'SELECT count(*) FROM migrate.plan()');
SELECT pg_temp.timed('verify', 'SELECT count(*) FROM migrate.verify()');
SELECT pg_temp.timed('apply', 'SELECT count(*) FROM migrate.apply()');
\echo statements in the migration: :n
SELECT what, round(ms::numeric, 1) AS ms, result_rows,
       round((ms / (SELECT ms FROM t WHERE what = 'apply'))::numeric, 2) AS ratio_to_apply,
       round((1000 * ms / :n)::numeric, 1) AS us_per_statement
  FROM t ORDER BY ms;
SQL
