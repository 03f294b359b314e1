#!/usr/bin/env bash
# Benchmark of big scripts (issue 8, "Scripts: linear time, flat memory"). Prints figures and
# ratios; asserts nothing.
#  1. One migration of 10,000 statements, 10 MB (INSERTs of 1 kB rows, the shape of a data or
#     pg_dump baseline): migrate.register() + migrate.apply() against `psql -1 -f` of the same
#     file; runs alternate, median of the per-round ratios. register reads the file with
#     pg_read_file() (as a client sends a bind parameter; a psql :'var' literal adds the
#     server's scanning of a 10 MB literal, printed once for reference).
#  2. migrate.lint() of 10,000 and 100,000 statements (server time, EXPLAIN ANALYZE).
#  3. Backend memory for one migrate.apply() of 100 and 1,000 migrations of 32 kB each
#     (RssAnon and VmHWM of the backend after the call).
# Usage: bench/script_bench.sh [ROUNDS]   (needs pg_migrate installed: make install)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
source bench/cluster.sh
W=$BENCH_DIR

fresh_db() { psql_q -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", b - a}'; }
exec_time() { grep -Eo 'Execution Time: [0-9.]+' | awk '{print $3}'; }

# 1. 10 MB, 10,000 statements.
python3 - "$W/big.sql" <<'PY'
import sys
pad = 'x' * 1000
with open(sys.argv[1], 'w') as f:
    f.write("CREATE TABLE big (id int, s text);\n")
    for i in range(9999):
        f.write(f"INSERT INTO big VALUES ({i}, '{pad}');\n")
PY
chmod a+r "$W/big.sql"
printf 'script: %d bytes, %d statements\n' "$(stat -c %s "$W/big.sql")" "$(grep -c ';$' "$W/big.sql")"
declare -a T_REG T_APPLY T_PSQL RATIO
for r in $(seq 1 "$ROUNDS"); do
  fresh_db
  psql_q -d bench -c "CREATE EXTENSION pg_migrate"
  t0=$(now_ms)
  psql_q -d bench -c "SELECT migrate.register('1', 'big', pg_catalog.pg_read_file('$W/big.sql'))" >/dev/null
  t1=$(now_ms)
  psql_q -d bench -c "SELECT count(*) FROM migrate.apply()" >/dev/null
  t2=$(now_ms)
  fresh_db
  t3=$(now_ms)
  psql_q -1 -d bench -f "$W/big.sql" >/dev/null
  t4=$(now_ms)
  T_REG+=("$(elapsed "$t0" "$t1")"); T_APPLY+=("$(elapsed "$t1" "$t2")"); T_PSQL+=("$(elapsed "$t3" "$t4")")
  RATIO+=("$(awk -v a="${T_REG[-1]}" -v b="${T_APPLY[-1]}" -v p="${T_PSQL[-1]}" 'BEGIN {printf "%.3f", (a + b) / p}')")
  echo "round $r: register ${T_REG[-1]} ms, apply ${T_APPLY[-1]} ms, psql -1 -f ${T_PSQL[-1]} ms, ratio ${RATIO[-1]}"
done
fresh_db
psql_q -d bench -c "CREATE EXTENSION pg_migrate"
t0=$(now_ms)
printf '%s\n' "\\set s \`cat $W/big.sql\`" "SELECT migrate.register('1', 'big', :'s');" > "$W/reg_literal.sql"
psql_q -d bench -f "$W/reg_literal.sql" >/dev/null
t1=$(now_ms)
echo
echo "== one migration, 10,000 statements, 10 MB: median of $ROUNDS rounds (wall time)"
printf 'migrate.register():          %8.1f ms\n' "$(printf '%s\n' "${T_REG[@]}" | median)"
printf 'migrate.apply():             %8.1f ms\n' "$(printf '%s\n' "${T_APPLY[@]}" | median)"
printf 'psql -1 -f:                  %8.1f ms\n' "$(printf '%s\n' "${T_PSQL[@]}" | median)"
printf 'ratio (register + apply) / psql: %.3f  (median of per-round ratios; target <= 2)\n' \
  "$(printf '%s\n' "${RATIO[@]}" | median)"
printf '(register with the script as a psql :'"'"'var'"'"' literal, once: %.1f ms)\n' "$(elapsed "$t0" "$t1")"

# 2. lint of 10,000 and 100,000 statements: a mix of DDL on an existing table and DML.
fresh_db
psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "CREATE TABLE t (id int, v text)" \
  -c "CREATE TABLE scripts (n int, s text)" \
  -c "INSERT INTO scripts SELECT n, (SELECT pg_catalog.string_agg(CASE i % 5
        WHEN 0 THEN pg_catalog.format('ALTER TABLE t ADD COLUMN c_%s int;', i)
        WHEN 1 THEN pg_catalog.format('CREATE INDEX t_i_%s ON t (id);', i)
        WHEN 2 THEN pg_catalog.format('UPDATE t SET v = %L WHERE id = %s;', i, i)
        ELSE pg_catalog.format('INSERT INTO t VALUES (%s, %L);', i, 'row ' || i) END, E'\n')
      FROM generate_series(1, n) i) FROM (VALUES (10000), (100000)) v(n)"
echo
echo "== migrate.lint() (server time, EXPLAIN ANALYZE; median of $ROUNDS)"
for n in 10000 100000; do
  ts=()
  for r in $(seq 1 "$ROUNDS"); do
    ts+=("$(psql_q -d bench -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT count(*) FROM scripts, migrate.lint(s) WHERE n = $n" | exec_time)")
  done
  m=$(printf '%s\n' "${ts[@]}" | median)
  awk -v n="$n" -v m="$m" 'BEGIN {printf "%6d statements: %8.1f ms  (%.2f us per statement)\n", n, m, m * 1000 / n}'
done

# 3. Memory of one apply of N migrations of 32 kB each: each creates a table and inserts a
#    32 kB row (the script's size is in the data, not in the schema, whose snapshot after the
#    call grows with the schema), against psql running the same statements in one transaction.
gen_migration_sql="pg_catalog.format('CREATE TABLE m_%s (id bigint); INSERT INTO payload VALUES (%s, %L);', i, i,
  (SELECT pg_catalog.string_agg(pg_catalog.md5(i::text || '.' || j), '') FROM generate_series(1, 1000) j))"
mem_run() {  # n kind(apply|psql) -> "rssanon_kb hwm_kb"
  fresh_db
  psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "CREATE TABLE payload (id bigint, body text)" \
    -c "SET client_min_messages = warning" >/dev/null
  if [ "$2" = apply ]; then
    psql_q -d bench -c "SET client_min_messages = warning" \
      -c "SELECT count(migrate.register(i::text, 'm' || i, $gen_migration_sql)) FROM generate_series(1, $1) i" >/dev/null
  else
    psql_q -At -d bench -c "SELECT $gen_migration_sql FROM generate_series(1, $1) i" > "$W/mem_stmts.sql"
  fi
  {
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv BACKEND_PID :pid"
    if [ "$2" = apply ]; then
      echo "SELECT count(*) FROM migrate.apply() \\g /dev/null"
    else
      echo "BEGIN;"; echo "\\i $W/mem_stmts.sql"; echo "COMMIT;"
    fi
    echo "\\! grep -E '^(RssAnon|VmHWM):' /proc/\$BACKEND_PID/status | sort | awk '{printf \"%s \", \$2} END {print \"\"}'"
  } > "$W/mem.sql"
  psql_q -d bench -f "$W/mem.sql" >"$W/mem.out"
  tail -1 "$W/mem.out"
}
echo
echo "== backend memory after one call of N migrations of 32 kB (kB; RssAnon = private memory)"
for kind in apply psql; do
  for n in 100 1000; do
    read -r anon hwm < <(mem_run $n $kind)
    printf '%-5s %5d migrations: RssAnon %7d  VmHWM %7d\n' "$kind" "$n" "$anon" "$hwm"
  done
done
