#!/usr/bin/env bash
# Benchmark of the pg_migrate command (issue: CLI). Prints figures and ratios; asserts nothing.
#  1. `pg_migrate apply` of 1,000 pending one-statement files (CREATE TABLE t_N (id int)) against
#     `psql -1 -f` of the same SQL in one file (target: ratio <= 1.2).
#  2. `pg_migrate apply` and `pg_migrate check` with the 1,000 files all applied (target: <= 25 ms
#     wall each, process start and connection included).
#  3. Server time of migrate.sync() registering the 1,000 files (the call `apply` makes first).
# Rounds alternate the runs; the ratio is the median of the per-round ratios.
# Usage: bench/cli_bench.sh [ROUNDS]   (needs `make install`; PG_BIN picks the installation,
# e.g. PG_BIN=/work/sandbox/NAME/usr/lib/postgresql/15/bin for a PGM_SANDBOX install)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
N=1000
source bench/cluster.sh
PGM="$PG_BIN/pg_migrate"
[ -x "$PGM" ] || { echo "$PGM not found: make install first" >&2; exit 1; }

W=$BENCH_DIR
mkdir -p "$W/migrations"
for i in $(seq 1 $N); do
  echo "CREATE TABLE t_$i (id int);" > "$W/migrations/V${i}__t_$i.sql"
done
for i in $(seq 1 $N); do cat "$W/migrations/V${i}__t_$i.sql"; done > "$W/all.sql"
chmod -R a+rX "$W"

fresh_db() {  # name [extension]
  psql_q -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  [ -z "${2:-}" ] || psql_q -d "$1" -c "CREATE EXTENSION pg_migrate"
}
timed() {  # command... -> ms on stdout (EPOCHREALTIME: no fork around the timed command)
  local t0 t1
  t0=$EPOCHREALTIME; "$@" >/dev/null; t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

declare -a T_PSQL T_PSQL_EXT T_APPLY T_NOOP T_CHECK T_CHECK_FAST R_APPLY R_APPLY_EXT
run_psql() { T_PSQL+=("$(timed psql -X -q -v ON_ERROR_STOP=1 -1 -d psql_db -f "$W/all.sql")"); }
run_cli() { T_APPLY+=("$(timed "$PGM" -q -d cli_db --dir "$W/migrations" apply)"); }
# The same psql run in a database that has pg_migrate (its drift capture records every statement).
run_psql_ext() { T_PSQL_EXT+=("$(timed psql -X -q -v ON_ERROR_STOP=1 -1 -d psql_ext_db -f "$W/all.sql")"); }
for r in $(seq 1 "$ROUNDS"); do
  # Both databases are created first and a checkpoint written, so neither run pays for the
  # other's dropped files; the order alternates between rounds.
  fresh_db psql_db
  fresh_db psql_ext_db ext
  fresh_db cli_db ext
  psql_q -d postgres -c CHECKPOINT
  if [ $((r % 2)) -eq 1 ]; then run_psql; run_cli; run_psql_ext; else run_psql_ext; run_cli; run_psql; fi
  R_APPLY+=("$(ratio "${T_APPLY[-1]}" "${T_PSQL[-1]}")")
  R_APPLY_EXT+=("$(ratio "${T_APPLY[-1]}" "${T_PSQL_EXT[-1]}")")
  # nothing to do: three runs each, the middle one counts (warm file cache as in CI)
  a=(); c=(); f=()
  for k in 1 2 3; do
    a+=("$(timed "$PGM" -q -d cli_db --dir "$W/migrations" apply)")
    c+=("$(timed "$PGM" -q -d cli_db --dir "$W/migrations" check)")
    f+=("$(timed "$PGM" -q -d cli_db --dir "$W/migrations" check --no-schema-diff)")
  done
  T_NOOP+=("$(printf '%s\n' "${a[@]}" | median)")
  T_CHECK+=("$(printf '%s\n' "${c[@]}" | median)")
  T_CHECK_FAST+=("$(printf '%s\n' "${f[@]}" | median)")
  echo "round $r: psql -1 -f ${T_PSQL[-1]} ms, pg_migrate apply ${T_APPLY[-1]} ms (ratio ${R_APPLY[-1]}), apply with nothing pending ${T_NOOP[-1]} ms, check ${T_CHECK[-1]} ms, check --no-schema-diff ${T_CHECK_FAST[-1]} ms"
done
"$PGM" -d cli_db --dir "$W/migrations" check >/dev/null || { echo "check failed after apply" >&2; exit 1; }
echo
echo "== $N one-statement files, median of $ROUNDS rounds (wall time incl. process start and connect)"
printf 'psql -1 -f:                       %8.1f ms\n' "$(printf '%s\n' "${T_PSQL[@]}" | median)"
printf 'pg_migrate apply (all pending):   %8.1f ms\n' "$(printf '%s\n' "${T_APPLY[@]}" | median)"
printf 'ratio apply / psql (median of per-round ratios): %s  (target <= 1.2)\n' "$(printf '%s\n' "${R_APPLY[@]}" | median)"
f_cli=$(printf '%s\n' "${T_APPLY[@]}" | fastest); f_psql=$(printf '%s\n' "${T_PSQL[@]}" | fastest)
printf 'fastest runs: apply %.1f ms, psql -1 -f %.1f ms, ratio %s  (the least disturbed runs)\n' "$f_cli" "$f_psql" "$(ratio "$f_cli" "$f_psql")"
printf 'psql -1 -f, database with pg_migrate: %8.1f ms\n' "$(printf '%s\n' "${T_PSQL_EXT[@]}" | median)"
printf 'ratio apply / that psql run:                    %s\n' "$(printf '%s\n' "${R_APPLY_EXT[@]}" | median)"
printf 'pg_migrate apply (nothing to do): %8.1f ms  (target <= 25)\n' "$(printf '%s\n' "${T_NOOP[@]}" | median)"
printf 'pg_migrate check (all applied):   %8.1f ms  (target <= 25; includes migrate.schema_diff())\n' "$(printf '%s\n' "${T_CHECK[@]}" | median)"
printf 'pg_migrate check --no-schema-diff: %7.1f ms  (target <= 25)\n' "$(printf '%s\n' "${T_CHECK_FAST[@]}" | median)"

# 3. Server time of the sync call that registers the 1,000 files (what `apply` sends first):
# migrate.sync() with the same files as JSON, 12 calls in one session, each rolled back; the
# first two warm the session and are not counted.
fresh_db sync_db ext
{
  echo "SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('file', 'V' || i || '__t_' || i || '.sql', 'version', i::text, 'name', 't_' || i, 'up', 'CREATE TABLE t_' || i || ' (id int);') ORDER BY i) AS files FROM generate_series(1, $N) i \\gset"
  for k in $(seq 1 12); do
    echo "BEGIN;"; echo "\\timing on"; echo "SELECT count(*) FROM migrate.sync(:'files');"; echo "\\timing off"; echo "ROLLBACK;"
  done
} > "$W/sync.sql"
chmod a+r "$W/sync.sql"
mapfile -t T_SYNC < <(psql_q -d sync_db -f "$W/sync.sql" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n +3)
printf 'migrate.sync() of the %d files:   %8.1f ms  (median of %d calls in one session, fastest %.1f; server and protocol, no process start)\n' \
  "$N" "$(printf '%s\n' "${T_SYNC[@]}" | median)" "${#T_SYNC[@]}" "$(printf '%s\n' "${T_SYNC[@]}" | fastest)"
