#!/usr/bin/env bash
# Benchmark of migrate.verify() against migrate.apply() on a generated history (issue 8:
# "verify() <= 3x apply on a history of 300+ migrations"). Prints figures and ratios; asserts
# nothing. Each of N migrations (default 320) creates a table with a primary key, a NOT NULL
# column, a default and an index, or (every third) adds a column, an index and a comment to
# the previous table; each has the down script that undoes it. Rounds alternate a fresh
# database running verify() of all pending migrations and one running apply(); the ratio is the
# median of the per-round ratios.
# Then the backend memory of plan() and verify() for 100 and 400 pending migrations.
# Usage: bench/verify_bench.sh [ROUNDS] [N]   (needs pg_migrate installed: make install)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
N=${2:-320}
source bench/cluster.sh

register_history() {
  psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "SET client_min_messages = error" -c "
    SELECT count(migrate.register(i::text, 'm' || i,
      CASE WHEN i % 3 = 0 THEN format('ALTER TABLE t_%s ADD COLUMN c int; CREATE INDEX t_%s_c ON t_%s (c); COMMENT ON COLUMN t_%s.c IS ''c'';', i-1, i-1, i-1, i-1)
           ELSE format('CREATE TABLE t_%s (id bigint PRIMARY KEY, name text NOT NULL, created timestamptz DEFAULT now()); CREATE INDEX ON t_%s (name);', i, i) END,
      CASE WHEN i % 3 = 0 THEN format('DROP INDEX t_%s_c; ALTER TABLE t_%s DROP COLUMN c;', i-1, i-1)
           ELSE format('DROP TABLE t_%s;', i) END))
    FROM generate_series(1, $N) i" >/dev/null
}
fresh_db() { psql_q -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"; register_history; }
timed() {  # sql -> ms
  local t0 t1
  t0=$(now_ms); psql_q -d bench -c "$1" >"$BENCH_DIR/out"; t1=$(now_ms)
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}'
}

declare -a T_VERIFY T_APPLY RATIO
for r in $(seq 1 "$ROUNDS"); do
  fresh_db
  T_VERIFY+=("$(timed "SELECT status, count(*) FROM migrate.verify() GROUP BY status")")
  statuses=$(tr -s ' \n' ' ' <"$BENCH_DIR/out")
  fresh_db
  T_APPLY+=("$(timed "SELECT count(*) FROM migrate.apply()")")
  RATIO+=("$(awk -v v="${T_VERIFY[-1]}" -v a="${T_APPLY[-1]}" 'BEGIN {printf "%.2f", v / a}')")
  echo "round $r: verify ${T_VERIFY[-1]} ms, apply ${T_APPLY[-1]} ms, ratio ${RATIO[-1]} (verify: $statuses)"
done
echo
echo "== $N migrations, median of $ROUNDS rounds (wall time)"
printf 'migrate.verify():  %9.1f ms\n' "$(printf '%s\n' "${T_VERIFY[@]}" | median)"
printf 'migrate.apply():   %9.1f ms\n' "$(printf '%s\n' "${T_APPLY[@]}" | median)"
printf 'ratio verify / apply: %.2f  (median of per-round ratios; target <= 3)\n' "$(printf '%s\n' "${RATIO[@]}" | median)"

# Backend memory of one migrate.plan() / migrate.verify() call over 100 and 400 pending
# migrations of a 10 kB statement each (parse trees per migration): flat when each migration's
# allocations are freed before the next (RssAnon, private memory; VmHWM, peak RSS).
echo
echo "== backend memory after one call (kB), migrations of one 10 kB statement each"
for fn in plan verify; do
  for n in 100 400; do
    psql_q -d postgres -c "DROP DATABASE IF EXISTS bench" -c "CREATE DATABASE bench"
    psql_q -d bench -c "CREATE EXTENSION pg_migrate" -c "SET client_min_messages = error" -c "
      SELECT count(migrate.register(i::text, 'm' || i,
        'SELECT 1 WHERE 1 IN (' || (SELECT string_agg(j::text, ',') FROM generate_series(1, 2000) j) || ');'))
      FROM generate_series(1, $n) i" >/dev/null
    mem=$( { echo "SELECT pg_backend_pid() AS pid \\gset"; echo "\\setenv BACKEND_PID :pid"; echo "\\o /dev/null";
             echo "SELECT count(*) FROM migrate.$fn();"; echo "\\o";
             echo "\\! grep -E '^(VmHWM|RssAnon):' /proc/\$BACKEND_PID/status | awk '{printf \"%s \", \$2} END {print \"\"}'"; } |
           psql_q -d bench)
    read -r hwm anon <<<"$mem"
    printf 'migrate.%-7s %4d migrations: VmHWM %7d  RssAnon %7d\n' "$fn()" "$n" "$hwm" "$anon"
  done
done
