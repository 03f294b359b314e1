#!/usr/bin/env bash
# Gives you a running PostgreSQL with pg_migrate created and a small worked example applied,
# then prints how to connect with psql. Run as root on Debian 12 (installs what is missing).
# The cluster stays up in $PGM_DEMO_DIR (default /tmp/pg_migrate_demo) on port $PGM_DEMO_PORT
# (default 5433); run the script again to start over.
set -uo pipefail
cd "$(dirname "$0")/.."
PGVER=${PGVER:-15}
PG_BIN=/usr/lib/postgresql/$PGVER/bin
PG_CONFIG=$PG_BIN/pg_config
DIR=${PGM_DEMO_DIR:-/tmp/pg_migrate_demo}
PORT=${PGM_DEMO_PORT:-5433}
source test/setup.sh

RUN_AS=()
[ "$(id -u)" -eq 0 ] && RUN_AS=(runuser -u postgres --)
if [ -f "$DIR/data/postmaster.pid" ]; then
  "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1
fi
rm -rf "$DIR"; mkdir -p "$DIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$DIR"
log "starting PostgreSQL $PGVER in $DIR on port $PORT"
"${RUN_AS[@]}" "$PG_BIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null || exit 1
"${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$DIR/data" -w -l "$DIR/server.log" \
  -o "-p $PORT -k $DIR -c listen_addresses=localhost -c shared_preload_libraries=pg_migrate" start >/dev/null || {
  cat "$DIR/server.log"; exit 1; }

log "worked example"
psql -X -h "$DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -e <<'SQL' || exit 1
CREATE DATABASE demo;
\c demo
CREATE EXTENSION pg_migrate;
SELECT migrate.register('1', 'create users', 'CREATE TABLE users (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL);', 'DROP TABLE users;');
SELECT migrate.register('2', 'add email', 'ALTER TABLE users ADD COLUMN email text;', 'ALTER TABLE users DROP COLUMN email;');
SELECT migrate.register('3', 'index email', 'CREATE UNIQUE INDEX users_email ON users (email);', 'DROP INDEX users_email;');
SELECT version, name FROM migrate.apply('2');
SELECT version, name, state, applied_by FROM migrate.status();
SQL

log "the pg_migrate command applying the sample folder test/demo/migrations"
CONN="host=$DIR port=$PORT user=postgres dbname=demo_files"
psql -X -q -h "$DIR" -p "$PORT" -U postgres -d postgres -c "CREATE DATABASE demo_files" &&
  psql -X -q -h "$DIR" -p "$PORT" -U postgres -d demo_files -c "CREATE EXTENSION pg_migrate" || exit 1
for cmd in status apply status check; do
  echo "\$ pg_migrate -d \"$CONN\" --dir test/demo/migrations $cmd"
  "$PG_BIN/pg_migrate" -d "$CONN" --dir test/demo/migrations $cmd
  echo "(exit $?)"
done

cat <<MSG

pg_migrate is ready. Connect with:

    psql -h $DIR -p $PORT -U postgres demo

Migration 3 is still pending: try  SELECT * FROM migrate.apply();  then  SELECT * FROM migrate.revert();
Database demo_files was migrated from test/demo/migrations by the pg_migrate command:
    $PG_BIN/pg_migrate -d "$CONN" --dir test/demo/migrations status
Stop the server with:  ${RUN_AS[*]} $PG_BIN/pg_ctl -D $DIR/data stop
MSG
