# Sourced by bench scripts: starts a throwaway cluster (as the postgres OS user when run as
# root) with pg_migrate installed, exports PGHOST/PGPORT/PGUSER, stops it on exit.
# Set BENCH_CONF to add postgresql.conf lines (e.g. shared_preload_libraries).
PGVER=${PGVER:-15}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/$PGVER/bin}
# BENCH_TMP=/dev/shm puts the cluster in memory: no file-system cost, only CPU.
BENCH_DIR=$(mktemp -d "${BENCH_TMP:-/tmp}"/pg_migrate_bench.XXXXXX)
RUN_AS=()
if [ "$(id -u)" -eq 0 ]; then RUN_AS=(runuser -u postgres --); chown postgres "$BENCH_DIR"; fi
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$BENCH_DIR/data" -A trust -U postgres >/dev/null
cat >>"$BENCH_DIR/data/postgresql.conf" <<CONF
listen_addresses = ''
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 256MB
max_locks_per_transaction = 1024
${BENCH_CONF:-}
CONF
export PGPORT=$(( 40000 + RANDOM % 10000 )) PGHOST=$BENCH_DIR PGUSER=postgres PGDATABASE=postgres
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -w -l "$BENCH_DIR/log" -o "-p $PGPORT -k $BENCH_DIR" start >/dev/null
# restart keeps the options pg_ctl was started with (postmaster.opts).
bench_cleanup() { "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$BENCH_DIR/data" -m fast stop >/dev/null 2>&1; rm -rf "$BENCH_DIR"; }
trap bench_cleanup EXIT
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# The fastest of a list: the run the machine's other load disturbed least (a second view next to
# the median on a noisy machine; the issues' measure stays the median of per-round ratios).
fastest() { sort -g | head -1; }
now_ms() { date +%s%N | awk '{printf "%.3f", $1/1000000}'; }
