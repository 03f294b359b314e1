#!/usr/bin/env bash
# Snapshot cost of a one-migration apply and revert in a small and in a large schema (issue 8:
# "a schema of 20,000 tables must not make a one-migration apply pay for 20,000 tables").
# Prints figures and ratios; asserts nothing. For each schema size: SIZES tables (4 columns,
# primary key, defaults), then ROUNDS times apply + revert of one migration
# (CREATE TABLE one_more (id int) / DROP TABLE one_more), interleaved between the sizes;
# reports medians of the server time of each call, and schema_diff() once.
# Usage: bench/snapshot_bench.sh [ROUNDS]   (env SIZES="20 20000"; needs pg_migrate installed;
#        PG_BIN selects the PostgreSQL installation, see bench/cluster.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-7}
SIZES=${SIZES:-20 20000}
source bench/cluster.sh

server_ms() {  # db sql -> milliseconds of server time (EXPLAIN ANALYZE)
  psql_q -d "$1" -c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) $2" | grep -Eo 'Execution Time: [0-9.]+' | awk '{print $3}'
}

for n in $SIZES; do
  db=snap_$n
  psql_q -d postgres -c "CREATE DATABASE $db"
  psql_q -d "$db" -c "CREATE EXTENSION pg_migrate"
  for ((from = 1; from <= n; from += 1000)); do
    to=$(( from + 999 < n ? from + 999 : n ))
    psql_q -d "$db" -c "SET pg_migrate.drift_capture = off" -c "
      DO \$\$ BEGIN FOR i IN $from..$to LOOP
        EXECUTE format('CREATE TABLE s_%s (id bigint PRIMARY KEY, c1 text NOT NULL DEFAULT ''x'', c2 int,
                        c3 timestamptz DEFAULT now())', i);
      END LOOP; END \$\$;"
  done
  psql_q -d "$db" -c "SELECT migrate.acknowledge_drift('bench setup')" \
    -c "SELECT migrate.register('1', 'one more', 'CREATE TABLE one_more (id int)', 'DROP TABLE one_more')" >/dev/null
done

declare -A APPLY REVERT
for ((r = 1; r <= ROUNDS; r++)); do
  line="round $r:"
  for n in $SIZES; do
    a=$(server_ms "snap_$n" "SELECT * FROM migrate.apply()")
    b=$(server_ms "snap_$n" "SELECT * FROM migrate.revert()")
    APPLY[$n]+="$a "; REVERT[$n]+="$b "
    line+=" $n tables: apply $a ms, revert $b ms;"
  done
  echo "$line"
done
echo
echo "== one-migration apply / revert, median server time of $ROUNDS rounds (EXPLAIN ANALYZE)"
first=""
for n in $SIZES; do
  ma=$(printf '%s\n' ${APPLY[$n]} | median); mr=$(printf '%s\n' ${REVERT[$n]} | median)
  entries=$(psql_q -d "snap_$n" -Atc "SELECT count(*) FROM jsonb_object_keys(migrate.schema_snapshot())")
  rows=$(psql_q -d "snap_$n" -Atc "SELECT string_agg(reason || CASE WHEN snapshot IS NULL THEN ' (incremental)' ELSE '' END, ', ' ORDER BY id) FROM (SELECT * FROM migrate.schema_snapshots ORDER BY id DESC LIMIT 2) s")
  t0=$(now_ms); psql_q -d "snap_$n" -Atc "SELECT count(*) FROM migrate.schema_diff()" >/dev/null; t1=$(now_ms)
  printf '%6d tables (%7d snapshot entries): apply %8.1f ms, revert %8.1f ms; last rows: %s; schema_diff() %.0f ms\n' \
    "$n" "$entries" "$ma" "$mr" "$rows" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
  if [ -z "$first" ]; then first=$n; fa=$ma; fr=$mr; fi
done
for n in $SIZES; do
  [ "$n" = "$first" ] && continue
  awk -v n="$n" -v f="$first" -v a="${fa}" -v b="$(printf '%s\n' ${APPLY[$n]} | median)" \
      -v c="${fr}" -v d="$(printf '%s\n' ${REVERT[$n]} | median)" \
      'BEGIN {printf "ratio %s / %s tables: apply %.2f, revert %.2f\n", n, f, b / a, d / c}'
done
