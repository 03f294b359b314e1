#!/usr/bin/env bash
# Snapshot cost of a one-migration apply and revert in a small and in a large schema (issue 8:
# "a schema of 20,000 tables must not make a one-migration apply pay for 20,000 tables").
# Prints figures and ratios; asserts nothing. For each schema size: SIZES tables (4 columns,
# primary key, defaults), then ROUNDS times apply + revert of one migration
# (CREATE TABLE one_more (id int) / DROP TABLE one_more), interleaved between the sizes;
# reports medians of the server time of each call, and schema_diff() once. Each round runs
# the pair twice, each after an (untimed) acknowledgement that records a proven snapshot: with
# pg_migrate.snapshot_proof on (the default: the apply reads the system catalogs once more to
# prove its snapshot, so that schema_diff() is instant afterwards) and off.
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
    for proof in on off; do
      # Untimed: a proven whole snapshot to start from (an apply with the proof off leaves none).
      psql_q -d "snap_$n" -c "SELECT migrate.acknowledge_drift('bench')" >/dev/null
      a=$(PGOPTIONS="-c pg_migrate.snapshot_proof=$proof" server_ms "snap_$n" "SELECT * FROM migrate.apply()")
      b=$(PGOPTIONS="-c pg_migrate.snapshot_proof=$proof" server_ms "snap_$n" "SELECT * FROM migrate.revert()")
      APPLY[$n,$proof]+="$a "; REVERT[$n,$proof]+="$b "
      line+=" $n tables, proof $proof: apply $a ms, revert $b ms;"
    done
  done
  echo "$line"
done
echo
echo "== one-migration apply / revert, median server time of $ROUNDS rounds (EXPLAIN ANALYZE)"
first=""
for n in $SIZES; do
  entries=$(psql_q -d "snap_$n" -Atc "SELECT count(*) FROM jsonb_object_keys(migrate.schema_snapshot())")
  for proof in on off; do
    ma=$(printf '%s\n' ${APPLY[$n,$proof]} | median); mr=$(printf '%s\n' ${REVERT[$n,$proof]} | median)
    printf '%6d tables (%7d snapshot entries), snapshot_proof %-3s: apply %8.1f ms, revert %8.1f ms\n' \
      "$n" "$entries" "$proof" "$ma" "$mr"
  done
  # The last revert ran with the proof off: an acknowledgement records a proven snapshot again.
  psql_q -d "snap_$n" -c "SELECT migrate.acknowledge_drift('bench')" >/dev/null
  t0=$(now_ms); psql_q -d "snap_$n" -Atc "SELECT count(*) FROM migrate.schema_diff()" >/dev/null; t1=$(now_ms)
  t2=$(now_ms); PGOPTIONS="-c pg_migrate.snapshot_proof=off" psql_q -d "snap_$n" -c "SELECT migrate.acknowledge_drift('bench')" >/dev/null
  t3=$(now_ms); psql_q -d "snap_$n" -Atc "SELECT count(*) FROM migrate.schema_diff()" >/dev/null; t4=$(now_ms)
  printf '%6d tables: schema_diff() %.0f ms with a proven snapshot, %.0f ms without (whole snapshot)\n' \
    "$n" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$(awk -v a="$t3" -v b="$t4" 'BEGIN {print b - a}')"
  if [ -z "$first" ]; then first=$n; fi
done
for n in $SIZES; do
  [ "$n" = "$first" ] && continue
  for proof in on off; do
    awk -v n="$n" -v f="$first" -v p="$proof" -v a="$(printf '%s\n' ${APPLY[$first,$proof]} | median)" \
        -v b="$(printf '%s\n' ${APPLY[$n,$proof]} | median)" -v c="$(printf '%s\n' ${REVERT[$first,$proof]} | median)" \
        -v d="$(printf '%s\n' ${REVERT[$n,$proof]} | median)" \
        'BEGIN {printf "ratio %s / %s tables, snapshot_proof %s: apply %.2f, revert %.2f\n", n, f, p, b / a, d / c}'
  done
done
