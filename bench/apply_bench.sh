#!/usr/bin/env bash
# Benchmark of migrate.apply() (issue: core). Prints figures and ratios; asserts nothing.
#  1. 1,000 pending one-statement migrations (CREATE TABLE t_N (id int)) in one migrate.apply()
#     call, against the same statements in one DO block (the in-server floor) and psql running
#     them in one transaction; runs alternate, medians of ROUNDS rounds.
#  2. Backend memory for 2,000 migrations in one call (VmHWM and RssAnon of the backend).
#  3. Server time of migrate.apply() with nothing pending on a catalog of 1,000 applied migrations.
# Usage: bench/apply_bench.sh [ROUNDS]   (needs pg_migrate installed: make install)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
N=1000
source bench/cluster.sh

gen_statements() {  # n prefix
  for i in $(seq 1 "$1"); do echo "CREATE TABLE $2_$i (id int);"; done
}

fresh_db() {
  psql_q -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
}

# Registers n migrations whose up script is the statement for i.
register_sql() {  # n template(with %s for i) [down template]
  local down=NULL
  [ -n "${3:-}" ] && down="format('$3', i)"
  echo "SELECT count(migrate.register(i::text, 'm' || i, format('$2', i), $down)) FROM generate_series(1, $1) i;"
}

time_psql_file() {  # file -> ms
  local t0 t1
  t0=$(now_ms); psql_q -d bench -f "$1" >/dev/null; t1=$(now_ms)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}'
}

W=$BENCH_DIR
gen_statements $N t > "$W/stmts.sql"
{ echo "BEGIN;"; cat "$W/stmts.sql"; echo "COMMIT;"; } > "$W/psql_txn.sql"
{ echo 'DO $do$ BEGIN'; cat "$W/stmts.sql"; echo 'END $do$;'; } > "$W/do_block.sql"
echo "SELECT count(*) FROM migrate.apply();" > "$W/apply.sql"
echo "SELECT count(*) FROM migrate.revert($N);" > "$W/revert.sql"
{ echo 'DO $do$ BEGIN'; for i in $(seq 1 $N); do echo "DROP TABLE t_$i;"; done; echo 'END $do$;'; } > "$W/do_drop.sql"

declare -a T_APPLY T_DO T_PSQL T_REVERT T_DROP
for r in $(seq 1 "$ROUNDS"); do
  fresh_db
  psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "$(register_sql $N 'CREATE TABLE t_%s (id int)' 'DROP TABLE t_%s')" >/dev/null
  T_APPLY+=("$(time_psql_file "$W/apply.sql")")
  T_REVERT+=("$(time_psql_file "$W/revert.sql")")  # at once, before autovacuum's statistics
  fresh_db
  T_DO+=("$(time_psql_file "$W/do_block.sql")")
  T_DROP+=("$(time_psql_file "$W/do_drop.sql")")
  fresh_db
  T_PSQL+=("$(time_psql_file "$W/psql_txn.sql")")
  echo "round $r: apply ${T_APPLY[-1]} ms, DO block ${T_DO[-1]} ms, psql txn ${T_PSQL[-1]} ms; revert ${T_REVERT[-1]} ms, DO block of DROP TABLE ${T_DROP[-1]} ms"
done
m_apply=$(printf '%s\n' "${T_APPLY[@]}" | median)
m_do=$(printf '%s\n' "${T_DO[@]}" | median)
m_psql=$(printf '%s\n' "${T_PSQL[@]}" | median)
echo
echo "== $N one-statement migrations, median of $ROUNDS rounds (wall time incl. connect and commit)"
printf 'migrate.apply():        %8.1f ms\n' "$m_apply"
printf 'DO block (floor):       %8.1f ms\n' "$m_do"
printf 'psql, one transaction:  %8.1f ms\n' "$m_psql"
# The issue's measure: the median of the per-round ratios (the runs of a round are adjacent,
# so they share the machine's state of the moment).
r_do=$(for i in "${!T_APPLY[@]}"; do awk -v a="${T_APPLY[$i]}" -v d="${T_DO[$i]}" 'BEGIN {print a / d}'; done | median)
r_psql=$(for i in "${!T_APPLY[@]}"; do awk -v a="${T_APPLY[$i]}" -v p="${T_PSQL[$i]}" 'BEGIN {print a / p}'; done | median)
printf 'ratio apply / DO block:   %.3f  (median of the per-round ratios; target <= 1.05)\n' "$r_do"
printf 'ratio apply / psql txn:   %.3f  (median of the per-round ratios)\n' "$r_psql"
f_apply=$(printf '%s\n' "${T_APPLY[@]}" | fastest); f_do=$(printf '%s\n' "${T_DO[@]}" | fastest)
printf 'fastest runs: apply %.1f ms, DO block %.1f ms, ratio %.3f  (the least disturbed runs)\n' "$f_apply" "$f_do" \
  "$(awk -v a="$f_apply" -v d="$f_do" 'BEGIN {print a / d}')"
m_revert=$(printf '%s\n' "${T_REVERT[@]}" | median)
m_drop=$(printf '%s\n' "${T_DROP[@]}" | median)
printf 'migrate.revert(%d):    %8.1f ms  (with the check that each down script undid its up)\n' "$N" "$m_revert"
printf 'DO block of DROP TABLE: %8.1f ms\n' "$m_drop"
r_revert=$(for i in "${!T_REVERT[@]}"; do awk -v a="${T_REVERT[$i]}" -v d="${T_DROP[$i]}" 'BEGIN {print a / d}'; done | median)
printf 'ratio revert / DO block:  %.3f  (median of the per-round ratios)\n' "$r_revert"

# 2. Memory: backend peak RSS (VmHWM) and private memory (RssAnon) after one call.
mem_run() {  # n kind(apply|do) template -> "hwm_kb anon_kb"
  fresh_db
  local setup pid
  psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "CREATE TABLE rows_log (i int)" \
    -c "$(register_sql "$1" "$3")" >/dev/null
  if [ "$2" = do ]; then
    { echo 'DO $do$ BEGIN'; for i in $(seq 1 "$1"); do printf "$3;\n" "$i"; done; echo 'END $do$;'; } > "$W/mem_do.sql"
  fi
  # One session: note its pid, run, then read /proc while the backend is still alive.
  {
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv BACKEND_PID :pid"
    echo "\\o /dev/null"
    if [ "$2" = apply ]; then echo "SELECT count(*) FROM migrate.apply();"; else echo "\\i $W/mem_do.sql"; fi
    echo "\\o"
    echo "\\! grep -E '^(VmHWM|RssAnon):' /proc/\$BACKEND_PID/status | awk '{printf \"%s \", \$2} END {print \"\"}'"
  } > "$W/mem.sql"
  psql_q -d bench -f "$W/mem.sql"
}
echo
echo "== backend memory after one call (kB): VmHWM (peak RSS, incl. shared buffers touched) and RssAnon (private)"
for kind in ${MEM_KINDS:-apply do}; do  # MEM_KINDS=none skips this part
  [ "$kind" = none ] && continue
  for n in 500 2000; do
    read -r hwm anon < <(mem_run $n $kind 'CREATE TABLE t_%s (id int)')
    printf '%-6s %5d CREATE TABLE migrations: VmHWM %7d  RssAnon %7d\n' "$kind" "$n" "$hwm" "$anon"
    read -r hwm anon < <(mem_run $n $kind 'INSERT INTO rows_log VALUES (%s)')
    printf '%-6s %5d INSERT migrations:       VmHWM %7d  RssAnon %7d\n' "$kind" "$n" "$hwm" "$anon"
  done
done

# 3. Start-up check: nothing pending, 1,000 applied.
fresh_db
psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "$(register_sql $N 'CREATE TABLE t_%s (id int)')" \
  -c "SELECT count(*) FROM migrate.apply()" >/dev/null
exec_time() { grep -Eo 'Execution Time: [0-9.]+' | awk '{print $3}'; }
cold=()
for i in $(seq 1 20); do
  cold+=("$(psql_q -d bench -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM migrate.apply()" | exec_time)")
done
warm=$( { for i in $(seq 1 50); do echo "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM migrate.apply();"; done; } |
        psql_q -d bench | exec_time | tail -n 40 | median)
echo
echo "== migrate.apply() with nothing pending, 1,000 applied (server time, EXPLAIN ANALYZE)"
printf 'first call in a new session (loads the library): median %.3f ms over 20 sessions\n' "$(printf '%s\n' "${cold[@]}" | median)"
printf 'later calls in the same session:                  median %.3f ms over 40 calls (target <= 1 ms)\n' "$warm"

# The same first call when the library is preloaded (shared_preload_libraries, as drift capture
# recommends): no library load in the new backend.
psql_q -d postgres -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_migrate'" >/dev/null
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -w -m fast restart >/dev/null
cold=()
for i in $(seq 1 20); do
  cold+=("$(psql_q -d bench -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) SELECT * FROM migrate.apply()" | exec_time)")
done
printf 'first call in a new session, library preloaded:   median %.3f ms over 20 sessions\n' "$(printf '%s\n' "${cold[@]}" | median)"

# 4. Memory across lock-timeout retries: a migration of a 100 kB statement retried 1,000 times
# (pg_migrate.lock_timeout 1 ms, no delay) while another session holds its table; each caught
# error carries the statement's text. RssAnon of the backend after the call.
fresh_db
psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "CREATE TABLE held (id int)" >/dev/null
python3 - > "$W/retries.sql" <<'PY'
big = "ALTER TABLE held ADD COLUMN c int /* " + "x" * 100000 + " */;"
print("SELECT migrate.register('1', 'held', $m$" + big + "$m$) \\g /dev/null")
print("SELECT pg_backend_pid() AS pid \\gset")
print("\\setenv BACKEND_PID :pid")
print("SET pg_migrate.lock_timeout = '1ms'; SET pg_migrate.lock_retries = 1000; SET pg_migrate.lock_retry_delay = '0';")
print("SET pg_migrate.lock_retry_max_delay = '0'; SET pg_migrate.lock_retry_total = '10min'; SET client_min_messages = error;")
print("\\set VERBOSITY terse")
print("SELECT count(*) FROM migrate.apply() \\g /dev/null")
print("\\! grep -E '^RssAnon:' /proc/$BACKEND_PID/status | awk '{print $2}'")
PY
chmod a+r "$W/retries.sql"
psql_q -d bench -c "BEGIN; LOCK TABLE held IN ACCESS SHARE MODE; SELECT pg_sleep(30); COMMIT;" >/dev/null 2>&1 &
holder=$!
sleep 1
anon=$(psql -X -q -d bench -f "$W/retries.sql" 2>/dev/null | tail -1)
kill "$holder" 2>/dev/null || true
echo
echo "== 1,000 lock-timeout retries of a 100 kB statement"
printf 'backend RssAnon after the call: %s kB (each caught error is freed once handled)\n' "$anon"
