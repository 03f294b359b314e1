#!/usr/bin/env bash
# Busy-table migrations under write load (README "Indexes and data on busy tables").
# A pgbench script updates random rows of a 1,000,000-row table while a migration runs:
#  1. CREATE INDEX CONCURRENTLY through CALL migrate.run() vs a plain CREATE INDEX in a
#     migration (migrate.apply()): the longest time a writer waited.
#  2. a batched backfill (-- pg_migrate:batch) through CALL migrate.run() vs one UPDATE in a
#     migration: longest writer wait, total time (ratio), table size after VACUUM.
# Interleaved rounds; prints per-round figures and the medians of the per-round ratios.
# Usage: bench/nontx_bench.sh [rounds] [rows]   (PG_BIN selects the server binaries; default a
# throwaway cluster of /usr/lib/postgresql/15/bin, pg_migrate must be installed there)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
ROWS=${2:-1000000}
BATCH=${BATCH:-10000}
CLIENTS=${CLIENTS:-2}
RATE=${RATE:-400}  # writer transactions per second in all (pgbench --rate); 0: as fast as possible
DB=pgm_nontx_bench
if [ -z "${PGHOST:-}" ]; then source bench/cluster.sh; else
  PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
  psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
  median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
  now_ms() { date +%s%N | awk '{printf "%.3f", $1/1000000}'; }
fi
PGBENCH=$PG_BIN/pgbench
WORK=$(mktemp -d /tmp/pgm_nontx_bench.XXXXXX)
chmod 777 "$WORK"
psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
psql_q -d "$DB" -v rows="$ROWS" <<'SQL'
SET client_min_messages = error;
CREATE EXTENSION pg_migrate;
CREATE TABLE bench (id int PRIMARY KEY, a int NOT NULL, b int, c int, filler text);
INSERT INTO bench SELECT g, g % 1000, NULL, NULL, repeat('x', 40) FROM generate_series(1, :rows) g;
VACUUM ANALYZE bench;
SQL
cat >"$WORK/writer.sql" <<EOF
\set id random(1, $ROWS)
UPDATE bench SET a = a + 1 WHERE id = :id;
EOF

# Runs "$@" while pgbench writes; prints "<duration_ms> <max_writer_wait_ms>".
under_load() {
  local dir="$WORK/lat.$RANDOM"
  mkdir -p "$dir"; chmod 777 "$dir"
  touch "$dir/flag"
  (while [ -f "$dir/flag" ]; do
     "$PGBENCH" -n -c "$CLIENTS" $( [ "$RATE" -gt 0 ] && echo "-R $RATE" ) -T 1 -l --log-prefix="$dir/l" -f "$WORK/writer.sql" "$DB" >/dev/null 2>&1 || true
   done) &
  local writer=$!
  sleep 1
  local t0 t1
  t0=$(now_ms)
  "$@" >/dev/null
  t1=$(now_ms)
  sleep 0.5
  rm -f "$dir/flag"
  wait "$writer"
  # pgbench -l: column 3 is the transaction's latency in microseconds (with --rate, counted from
  # its scheduled start, so time spent blocked counts in full).
  local max
  max=$(cat "$dir"/l.* 2>/dev/null | awk 'BEGIN {m = 0} {if ($3 > m) m = $3} END {printf "%.1f", m / 1000}')
  awk -v a="$t0" -v b="$t1" -v m="$max" 'BEGIN {printf "%.1f %s\n", b - a, m}'
}

size_after_vacuum() {
  psql_q -d "$DB" -c "VACUUM bench" >/dev/null
  psql -X -At -d "$DB" -c "SELECT pg_relation_size('bench')"
}
reset_c() {  # column c back to NULL everywhere, table compacted (not timed)
  psql_q -d "$DB" -c "ALTER TABLE bench DROP COLUMN c" -c "ALTER TABLE bench ADD COLUMN c int" \
    -c "VACUUM FULL bench" -c "ANALYZE bench" >/dev/null
}

printf '%-6s %-28s %10s %16s %14s\n' round case total_ms max_writer_wait table_MB
v=0
: >"$WORK/ratios"
for r in $(seq 1 "$ROUNDS"); do
  # 1. index builds
  v=$((v + 1))
  psql_q -d "$DB" -c "SELECT migrate.register('$v', 'cic', E'-- pg_migrate:no-transaction\nCREATE INDEX CONCURRENTLY bench_b_$v ON bench (b);')" >/dev/null
  read -r cic_ms cic_wait < <(under_load psql_q -d "$DB" -c "CALL migrate.run()")
  psql_q -d "$DB" -c "DROP INDEX bench_b_$v" >/dev/null
  v=$((v + 1))
  psql_q -d "$DB" -c "SET pg_migrate.lint_blocks_apply = off" -c "SELECT migrate.register('$v', 'plain index', 'CREATE INDEX bench_b_$v ON bench (b);')" >/dev/null 2>&1
  read -r ci_ms ci_wait < <(under_load psql_q -d "$DB" -c "SET pg_migrate.lint_blocks_apply = off" -c "SELECT count(*) FROM migrate.apply()")
  psql_q -d "$DB" -c "DROP INDEX bench_b_$v" >/dev/null
  printf '%-6s %-28s %10s %16s %14s\n' "$r" "CIC via CALL migrate.run()" "$cic_ms" "$cic_wait" -
  printf '%-6s %-28s %10s %16s %14s\n' "$r" "plain CREATE INDEX, apply()" "$ci_ms" "$ci_wait" -

  # 2. backfills
  reset_c
  v=$((v + 1))
  psql_q -d "$DB" -c "SELECT migrate.register('$v', 'batched', E'-- pg_migrate:no-transaction\n-- pg_migrate:batch $BATCH\nUPDATE bench SET c = a WHERE c IS NULL;')" >/dev/null
  read -r bat_ms bat_wait < <(under_load psql_q -d "$DB" -c "CALL migrate.run()")
  bat_size=$(size_after_vacuum)
  reset_c
  v=$((v + 1))
  psql_q -d "$DB" -c "SELECT migrate.register('$v', 'single', 'UPDATE bench SET c = a WHERE c IS NULL;')" >/dev/null 2>&1
  read -r one_ms one_wait < <(under_load psql_q -d "$DB" -c "SELECT count(*) FROM migrate.apply()")
  one_size=$(size_after_vacuum)
  printf '%-6s %-28s %10s %16s %14s\n' "$r" "batched backfill, run()" "$bat_ms" "$bat_wait" "$(awk -v s="$bat_size" 'BEGIN {printf "%.1f", s / 1048576}')"
  printf '%-6s %-28s %10s %16s %14s\n' "$r" "single UPDATE, apply()" "$one_ms" "$one_wait" "$(awk -v s="$one_size" 'BEGIN {printf "%.1f", s / 1048576}')"
  echo "$cic_wait $ci_wait $bat_ms $one_ms $bat_wait $one_wait $bat_size $one_size" >>"$WORK/ratios"
  reset_c
done

echo
echo "rows: $ROWS, batch: $BATCH rows, writers: $CLIENTS pgbench clients at ${RATE} tx/s in all (0: unthrottled), rounds: $ROUNDS (medians of per-round figures)"
med() { awk "{print $1}" "$WORK/ratios" | median; }
echo "max writer wait, CIC via CALL migrate.run():        $(med '$1') ms"
echo "max writer wait, plain CREATE INDEX in a migration: $(med '$2') ms"
echo "max writer wait, batched backfill:                  $(med '$5') ms"
echo "max writer wait, single UPDATE:                     $(med '$6') ms"
echo "backfill time ratio batched / single UPDATE:        $(med '$3 / $4')"
echo "table size ratio batched / single (after VACUUM):   $(med '$7 / $8')"
rm -rf "$WORK"
