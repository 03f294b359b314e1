#!/usr/bin/env bash
# Drift benchmark (README "Drift"): prints figures and ratios, asserts nothing.
#  1. Capture cost per DDL statement: one client running `COMMENT ON TABLE` (a cheap DDL
#     statement, one per transaction) in a loop, in a database without pg_migrate and in one
#     with drift capture on (same cluster), interleaved rounds; the ratio is the median of the
#     per-round ratios, the cost per statement 1/tps(with) - 1/tps(without). Target: ratio
#     >= 0.9, cost <= 0.05 ms (issue 8). The same statement as backend CPU time (1b), and in a
#     server-side loop timed by the server (1c), beside the floor: the same loop in the database
#     without pg_migrate plus one INSERT of a row like capture's.
#  2. DDL throughput: a pgbench custom script of CREATE TABLE / ALTER TABLE / DROP TABLE, same
#     client count and duration (DDL_MIX=0 skips it; the file system dominates it).
#  3. schema_snapshot() and schema_diff() time for 2,000 tables x 10 columns.
# Usage: bench/drift_bench.sh   (env: PG_CONFIG, CLIENTS=4, SECONDS_PER_RUN=10, ROUNDS=5, TABLES=2000,
#        COMMENT_SECONDS=3, COMMENT_ROUNDS=9, CPU_STATEMENTS=20000, LOOP_STATEMENTS=20000, DDL_MIX=1,
#        PRELOAD=0|1 to put pg_migrate in shared_preload_libraries, DURABLE=0|1: see below). pg_migrate must be
#        installed for that PG_CONFIG. Runs a throwaway cluster as the postgres OS user when root.
set -euo pipefail
PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$($PG_CONFIG --bindir)
CLIENTS=${CLIENTS:-4}
SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-5}
TABLES=${TABLES:-2000}
PRELOAD=${PRELOAD:-0}
PORT=${PORT:-$(( 40000 + RANDOM % 10000 ))}
WORK=$(mktemp -d /tmp/drift_bench.XXXXXX)
AS=()
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); chown postgres "$WORK"; fi
run() { "${AS[@]}" env PATH="$BIN:$PATH" "$@"; }
cleanup() { run pg_ctl -D "$WORK/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

run initdb -D "$WORK/data" -A trust -U postgres >/dev/null
# DURABLE=1 keeps PostgreSQL's defaults (fsync, synchronous_commit on): every COMMENT then
# waits for its commit record to reach the disk, as in a default installation (and, by its base
# cost of about 0.3 ms per statement, in issue 8's measurement). The default (0) switches both
# off: the statement is then CPU only, and capture's share of it the largest.
DURABLE=${DURABLE:-0}
{
  echo "max_connections = 50"
  if [ "$DURABLE" != 1 ]; then
    echo "fsync = off"            # both runs alike; DDL throughput is about CPU, not the disk
    echo "synchronous_commit = off"
  fi
  [ "$PRELOAD" = 1 ] && echo "shared_preload_libraries = 'pg_migrate'"
} >>"$WORK/data/postgresql.conf"
run pg_ctl -D "$WORK/data" -w -l "$WORK/server.log" -o "-p $PORT -k $WORK -c listen_addresses=''" start >/dev/null
PSQL=(run psql -X -q -h "$WORK" -p "$PORT" -U postgres -v ON_ERROR_STOP=1)

"${PSQL[@]}" -d postgres -c 'CREATE DATABASE without_ext' -c 'CREATE DATABASE with_ext'
"${PSQL[@]}" -d with_ext -c 'CREATE EXTENSION pg_migrate'

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }

# 1. COMMENT ON TABLE loop, one client.
COMMENT_SECONDS=${COMMENT_SECONDS:-3}
COMMENT_ROUNDS=${COMMENT_ROUNDS:-9}
for db in without_ext with_ext; do "${PSQL[@]}" -d $db -c 'CREATE TABLE bench_comment (id int)'; done
"${PSQL[@]}" -d with_ext -c "SELECT migrate.acknowledge_drift('bench setup')" >/dev/null
echo "COMMENT ON TABLE bench_comment IS 'x';" >"$WORK/comment.sql"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/comment.sql"
comment_tps() {  # database
  run pgbench -n -h "$WORK" -p "$PORT" -U postgres -c 1 -j 1 -T "$COMMENT_SECONDS" -f "$WORK/comment.sql" "$1" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
comment_tps without_ext >/dev/null; comment_tps with_ext >/dev/null  # warm-up
c_without=(); c_with=(); c_ratios=(); c_costs=()
for ((r = 1; r <= COMMENT_ROUNDS; r++)); do
  if (( r % 2 )); then a=$(comment_tps without_ext); b=$(comment_tps with_ext); else b=$(comment_tps with_ext); a=$(comment_tps without_ext); fi
  c_without+=("$a"); c_with+=("$b"); c_ratios+=("$(echo "$b / $a" | bc -l)"); c_costs+=("$(echo "1000 / $b - 1000 / $a" | bc -l)")
  printf '  round %d: without %8.1f tps, with %8.1f tps, ratio %.3f, cost %.4f ms\n' "$r" "$a" "$b" \
    "$(echo "$b / $a" | bc -l)" "$(echo "1000 / $b - 1000 / $a" | bc -l)"
done
echo "Capture cost: COMMENT ON TABLE in a loop (1 client, ${COMMENT_SECONDS}s x $COMMENT_ROUNDS interleaved rounds, preload=$PRELOAD, durable=$DURABLE)"
printf '  without pg_migrate:     %10.1f tps (median)\n' "$(median "${c_without[@]}")"
printf '  with drift capture on:  %10.1f tps (median; %s drift rows recorded)\n' "$(median "${c_with[@]}")" \
  "$("${PSQL[@]}" -d with_ext -Atc 'SELECT count(*) FROM migrate.drift')"
printf '  ratio with/without:     %10.3f   (median of the per-round ratios; target >= 0.9)\n' "$(median "${c_ratios[@]}")"
printf '  cost per statement:     %10.4f ms (median of the per-round costs; target <= 0.05 ms)\n' "$(median "${c_costs[@]}")"

# 1b. The same statement, measured as backend CPU time (/proc/PID/schedstat, ns), which the
# load of other processes on the machine disturbs far less than throughput: CPU_STATEMENTS
# statements in one session, interleaved rounds.
CPU_STATEMENTS=${CPU_STATEMENTS:-20000}
for ((i = 0; i < CPU_STATEMENTS; i++)); do echo "COMMENT ON TABLE bench_comment IS 'x';"; done >"$WORK/comments.sql"
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/comments.sql"
cpu_run() {  # database -> us per statement
  local pid_file="$WORK/pid.$1" t0 t1
  # One session: its pid first, then the statements, then read its CPU time before it exits.
  { echo "SELECT pg_backend_pid() \\gset"; echo "\\setenv BPID :pg_backend_pid";
    echo "\\! cut -d' ' -f1 /proc/\$BPID/schedstat > $pid_file.0";
    echo "\\i $WORK/comments.sql";
    echo "\\! cut -d' ' -f1 /proc/\$BPID/schedstat > $pid_file.1"; } >"$WORK/cpu_$1.sql"
  [ "$(id -u)" -eq 0 ] && chown postgres "$WORK/cpu_$1.sql" "$WORK"
  run psql -X -q -h "$WORK" -p "$PORT" -U postgres -d "$1" -f "$WORK/cpu_$1.sql" >/dev/null
  t0=$(cat "$pid_file.0"); t1=$(cat "$pid_file.1")
  echo "($t1 - $t0) / 1000 / $CPU_STATEMENTS" | bc -l
}
cpu_run without_ext >/dev/null; cpu_run with_ext >/dev/null  # warm-up
u_without=(); u_with=(); u_costs=()
for ((r = 1; r <= COMMENT_ROUNDS; r++)); do
  if (( r % 2 )); then a=$(cpu_run without_ext); b=$(cpu_run with_ext); else b=$(cpu_run with_ext); a=$(cpu_run without_ext); fi
  u_without+=("$a"); u_with+=("$b"); u_costs+=("$(echo "$b - $a" | bc -l)")
  printf '  round %d: backend CPU per statement without %6.1f us, with %6.1f us, capture %6.1f us\n' "$r" "$a" "$b" "$(echo "$b - $a" | bc -l)"
done
echo "Capture cost as backend CPU: $CPU_STATEMENTS x COMMENT ON TABLE per session, $COMMENT_ROUNDS interleaved rounds"
printf '  without pg_migrate:     %8.1f us per statement (median)\n' "$(median "${u_without[@]}")"
printf '  with drift capture on:  %8.1f us per statement (median)\n' "$(median "${u_with[@]}")"
printf '  capture:                %8.1f us per statement (median of per-round differences; target <= 50 us)\n' "$(median "${u_costs[@]}")"
printf '  CPU ratio without/with: %8.3f\n' "$(echo "$(median "${u_without[@]}") / $(median "${u_with[@]}")" | bc -l)"

# 1c. The statement in a server-side loop (DO, one COMMIT per statement), timed by the server:
# no client round trip, so capture's share shows without the client's and the network's noise.
# The floor: the database without pg_migrate running the same statement plus one INSERT of a
# row like capture's into a table like migrate.drift (same columns, defaults, primary key and
# partial index), as a PL/pgSQL event trigger or the application would record it. What capture
# costs beyond that is what finding the object and the statement's text costs.
LOOP_STATEMENTS=${LOOP_STATEMENTS:-20000}
"${PSQL[@]}" -d without_ext -c "CREATE TABLE drift_like (id bigserial PRIMARY KEY,
  captured_at timestamptz NOT NULL DEFAULT clock_timestamp(), transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  performed_by text NOT NULL DEFAULT session_user, role text NOT NULL, application_name text,
  client_addr inet DEFAULT inet_client_addr(), backend_pid int NOT NULL DEFAULT pg_backend_pid(), event text NOT NULL,
  command_tag text NOT NULL, object_type text, object_identity text, schema_name text, detail text, statement text,
  statement_source text, acknowledgement_id bigint)" \
  -c "CREATE INDEX ON drift_like (id) WHERE acknowledgement_id IS NULL" >/dev/null
comment_stmt="EXECUTE 'COMMENT ON TABLE bench_comment IS ''x''';"
row_stmt="INSERT INTO drift_like (role, application_name, event, command_tag, object_type, object_identity, schema_name,
  statement, statement_source) VALUES (current_user, current_setting('application_name'), 'ddl_command_end', 'COMMENT',
  'table', 'public.bench_comment', 'public', 'COMMENT ON TABLE bench_comment IS ''x''', 'hook');"
loop_us() {  # database, loop body -> us per statement
  local ms
  ms=$("${PSQL[@]}" -d "$1" -c '\timing on' -c "DO \$\$ BEGIN FOR i IN 1..$LOOP_STATEMENTS LOOP $2 COMMIT; END LOOP; END \$\$" |
       sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
  echo "$ms * 1000 / $LOOP_STATEMENTS" | bc -l
}
loop_us without_ext "$comment_stmt" >/dev/null; loop_us with_ext "$comment_stmt" >/dev/null  # warm-up
l_without=(); l_with=(); l_floor=(); l_ratios=(); l_floor_ratios=()
for ((r = 1; r <= COMMENT_ROUNDS; r++)); do
  if (( r % 2 )); then
    a=$(loop_us without_ext "$comment_stmt"); b=$(loop_us with_ext "$comment_stmt"); f=$(loop_us without_ext "$comment_stmt $row_stmt")
  else
    f=$(loop_us without_ext "$comment_stmt $row_stmt"); b=$(loop_us with_ext "$comment_stmt"); a=$(loop_us without_ext "$comment_stmt")
  fi
  l_without+=("$a"); l_with+=("$b"); l_floor+=("$f")
  l_ratios+=("$(echo "$a / $b" | bc -l)"); l_floor_ratios+=("$(echo "$a / $f" | bc -l)")
  printf '  round %d: without %6.1f us, with capture %6.1f us, without + one row %6.1f us\n' "$r" "$a" "$b" "$f"
done
echo "Capture cost timed by the server: $LOOP_STATEMENTS x COMMENT ON TABLE in a DO block, one COMMIT each, $COMMENT_ROUNDS interleaved rounds"
printf '  without pg_migrate:                 %8.1f us per statement (median)\n' "$(median "${l_without[@]}")"
printf '  with drift capture on:              %8.1f us (median); ratio %.3f (median of per-round without/with)\n' \
  "$(median "${l_with[@]}")" "$(median "${l_ratios[@]}")"
printf '  without, plus one INSERT of a row:  %8.1f us (median); ratio %.3f (the floor: recording a row)\n' \
  "$(median "${l_floor[@]}")" "$(median "${l_floor_ratios[@]}")"

[ "${DDL_MIX:-1}" = 1 ] || SKIP_MIX=1

cat >"$WORK/ddl.sql" <<'SQL'
CREATE TABLE bench_:client_id (id int PRIMARY KEY, v text);
ALTER TABLE bench_:client_id ADD COLUMN w int, ALTER COLUMN v SET NOT NULL;
DROP TABLE bench_:client_id;
SQL
[ "$(id -u)" -eq 0 ] && chown postgres "$WORK/ddl.sql"

tps() {  # database
  run pgbench -n -h "$WORK" -p "$PORT" -U postgres -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$WORK/ddl.sql" "$1" 2>&1 |
    sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
if [ -z "${SKIP_MIX:-}" ]; then
tps without_ext >/dev/null  # warm-up (catalog caches, files)
SECS_SAVED=$SECS; SECS=3; tps with_ext >/dev/null; SECS=$SECS_SAVED
# Interleaved rounds (order alternating) so that load changes on the machine hit both alike;
# the figures are the medians, the ratio is the median of the rounds' ratios (each round's
# two runs are adjacent in time).
withouts=(); withs=(); ratios=()
for ((r = 1; r <= ROUNDS; r++)); do
  # The churn bloats both databases' catalogs; vacuum them so every round starts alike.
  "${PSQL[@]}" -d without_ext -c 'VACUUM' >/dev/null; "${PSQL[@]}" -d with_ext -c 'VACUUM' >/dev/null
  if (( r % 2 )); then a=$(tps without_ext); b=$(tps with_ext); else b=$(tps with_ext); a=$(tps without_ext); fi
  withouts+=("$a"); withs+=("$b"); ratios+=("$(echo "$b / $a" | bc -l)")
  printf '  round %d: without %8.1f tps, with %8.1f tps, ratio %.3f\n' "$r" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
without=$(median "${withouts[@]}")
with=$(median "${withs[@]}")
rows=$("${PSQL[@]}" -d with_ext -Atc 'SELECT count(*) FROM migrate.drift')
echo "DDL throughput (CREATE TABLE + ALTER TABLE + DROP TABLE per transaction, $CLIENTS clients, ${SECS}s x $ROUNDS rounds, preload=$PRELOAD)"
printf '  without pg_migrate:     %10.1f tps (median)\n' "$without"
printf '  with drift capture on:  %10.1f tps (median; %s drift rows recorded)\n' "$with" "$rows"
printf '  ratio with/without:     %10.3f   (median of the per-round ratios; target >= 0.95)\n' "$(median "${ratios[@]}")"
fi

[ "$TABLES" -gt 0 ] || exit 0
# A database of its own: the DDL rounds above leave with_ext's catalogs bloated.
"${PSQL[@]}" -d postgres -c 'CREATE DATABASE snapshot_bench' >/dev/null
"${PSQL[@]}" -d snapshot_bench -c 'CREATE EXTENSION pg_migrate' >/dev/null
for ((from = 1; from <= TABLES; from += 250)); do  # chunks: one transaction would need many locks
  to=$(( from + 249 < TABLES ? from + 249 : TABLES ))
  "${PSQL[@]}" -d snapshot_bench -c "SET pg_migrate.drift_capture = off" -c "
  DO \$\$ BEGIN FOR i IN $from..$to LOOP
    EXECUTE format('CREATE TABLE snap_%s (id bigint PRIMARY KEY, c1 text NOT NULL DEFAULT ''x'', c2 int, c3 int,
                    c4 int, c5 timestamptz DEFAULT now(), c6 text, c7 numeric(10,2), c8 bool, c9 jsonb)', i);
  END LOOP; END \$\$;"
done
"${PSQL[@]}" -d snapshot_bench -c "SELECT migrate.acknowledge_drift('bench setup')" >/dev/null
"${PSQL[@]}" -d snapshot_bench -c "SET pg_migrate.drift_capture = off" -c "ALTER TABLE snap_7 ADD COLUMN extra int" \
  -c "ALTER TABLE snap_8 ALTER COLUMN c2 SET NOT NULL" -c "DROP TABLE snap_9"
"${PSQL[@]}" -d snapshot_bench <<SQL
DO \$\$
DECLARE t timestamptz; s jsonb; n bigint; best_snap float8 := 1e9; best_diff float8 := 1e9; ms float8;
BEGIN
  FOR r IN 1..3 LOOP
    t := clock_timestamp(); s := migrate.schema_snapshot();
    ms := extract(epoch FROM clock_timestamp() - t) * 1000; best_snap := least(best_snap, ms);
    t := clock_timestamp(); SELECT count(*) INTO n FROM migrate.schema_diff();
    ms := extract(epoch FROM clock_timestamp() - t) * 1000; best_diff := least(best_diff, ms);
  END LOOP;
  RAISE NOTICE 'schema of $TABLES tables x 10 columns: % snapshot entries', (SELECT count(*) FROM jsonb_object_keys(s));
  RAISE NOTICE '  schema_snapshot():                 % ms (best of 3)', round(best_snap::numeric, 1);
  RAISE NOTICE '  schema_diff() (snapshot + diff):   % ms (best of 3), % differences', round(best_diff::numeric, 1), n;
END \$\$;
SQL
