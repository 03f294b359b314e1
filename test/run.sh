#!/usr/bin/env bash
# pg_migrate's one test command (README "Testing"; .ci/run calls it):
# installs what is missing (Debian packages, as root), builds, installs, runs the C++ unit
# tests, then pg_regress, pg_isolation_regress and the TAP suites against a throwaway
# cluster, and ends with one line "N passed, N failed".
#
# Environment: PGVER (default 15); PGM_SKIP_APT=1 to skip package installation;
# PGM_SUITES to pick suites (default "unit pg17 regress isolation tap").
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PGVER=${PGVER:-15}
SUITES=${PGM_SUITES:-unit pg17 regress isolation tap}
PG_BIN=/usr/lib/postgresql/$PGVER/bin
PG_CONFIG=$PG_BIN/pg_config
[ -x "$PG_CONFIG" ] || PG_CONFIG=$(command -v pg_config || true)

source test/setup.sh

passed=0
failed=0
failures=()
count() {  # suite, passed, failed
  passed=$((passed + $2)); failed=$((failed + $3))
  [ "$3" -gt 0 ] && failures+=("$1")
  echo "-- $1: $2 passed, $3 failed"
}

# Unit tests (GoogleTest via ctest), no server needed.
if [[ " $SUITES " == *" unit "* ]]; then
  log "unit tests (ctest)"
  cmake -S . -B build -DPG_CONFIG="$PG_CONFIG" -DCMAKE_BUILD_TYPE=Debug >build-cmake.log 2>&1 &&
    cmake --build build -j"$(nproc)" >>build-cmake.log 2>&1 || { cat build-cmake.log; count unit 0 1; }
  if [ -x build/unit_tests ]; then
    (cd build && ctest --output-on-failure) | tee build/ctest.log | tail -5
    t=$(grep -Eo 'tests passed, [0-9]+ tests failed out of [0-9]+' build/ctest.log | tail -1)
    nf=$(echo "$t" | awk '{print $3}'); nt=$(echo "$t" | awk '{print $NF}')
    count unit $(( ${nt:-0} - ${nf:-0} )) "${nf:-1}"
  fi
  # README examples marked "<!-- output: expected/X.out -->" must be real regression output.
  if test/readme_check.sh >build-readme.log 2>&1; then count readme 1 0; else cat build-readme.log; count readme 0 1; fi
fi

# Every source compiled against PostgreSQL 17's headers (downloaded; skipped, not failed,
# when deb.debian.org cannot be reached).
if [[ " $SUITES " == *" pg17 "* ]]; then
  log "compile against PostgreSQL 17 headers"
  test/pg17_compile.sh >build-pg17.log 2>&1
  case $? in
    0) tail -1 build-pg17.log; count pg17-compile 1 0 ;;
    3) echo "-- pg17-compile: skipped, the headers could not be downloaded"; tail -3 build-pg17.log ;;
    *) cat build-pg17.log; count pg17-compile 0 1 ;;
  esac
fi

# Server suites run as an unprivileged OS user (initdb refuses root) on a copy of the tree.
RUN_AS=()
WORK=$(mktemp -d /tmp/pg_migrate_test.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
  RUN_AS=(runuser -u postgres --)
  chown postgres "$WORK"
fi
cleanup() {
  [ -f "$WORK/data/postmaster.pid" ] && "${RUN_AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
cp -a "$ROOT" "$WORK/tree"
rm -rf "$WORK/tree/build" "$WORK/tree/.git"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$WORK/tree"
as_user() { "${RUN_AS[@]}" env PATH="$PG_BIN:$PATH" "$@"; }

PORT=$(( 20000 + RANDOM % 20000 ))
if [[ " $SUITES " == *" regress "* || " $SUITES " == *" isolation "* ]]; then
  log "throwaway cluster on port $PORT"
  as_user "$PG_BIN/initdb" -D "$WORK/data" -A trust -U postgres >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; exit 1; }
  as_user "$PG_BIN/pg_ctl" -D "$WORK/data" -w -l "$WORK/server.log" \
    -o "-p $PORT -k $WORK -c listen_addresses='' -c max_prepared_transactions=2" start >/dev/null || { cat "$WORK/server.log"; exit 1; }
fi

run_pg_suite() {  # name, make overrides...
  local name=$1; shift
  local out="$WORK/$name.out"
  (cd "$WORK/tree" && as_user env PGHOST="$WORK" PGPORT="$PORT" PGUSER=postgres \
      make -s PG_CONFIG="$PG_CONFIG" installcheck "$@") >"$out" 2>&1
  grep -E '^(ok|not ok)|\.\.\. (ok|FAILED|failed)|^(test|     ) ' "$out" | grep -Ev '^#' || true
  local ok bad
  ok=$(grep -Ec '^ok |\.\.\. ok' "$out")
  bad=$(grep -Ec '^not ok |\.\.\. FAILED|\.\.\. failed' "$out")
  if [ "$bad" -gt 0 ] || ! grep -Eq 'All [0-9]+ tests passed|tests passed' "$out"; then
    if [ "$bad" -eq 0 ]; then bad=1; fi
    cat "$out" | tail -40
    for d in "$WORK"/tree/regression.diffs "$WORK"/tree/output_iso/regression.diffs; do
      [ -f "$d" ] && head -200 "$d"
    done
  fi
  count "$name" "$ok" "$bad"
}

if [[ " $SUITES " == *" regress "* ]]; then
  log "pg_regress"
  run_pg_suite regress ISOLATION= TAP_TESTS=
fi
if [[ " $SUITES " == *" isolation "* ]]; then
  log "pg_isolation_regress"
  run_pg_suite isolation REGRESS= TAP_TESTS=
fi
if [[ " $SUITES " == *" tap "* ]] && ls test/t/*.pl >/dev/null 2>&1; then
  log "TAP (prove)"
  out="$WORK/tap.out"
  # What the build chose for the command's libpq (test/t/032_cli_fleet.pl checks the binary).
  static_libpq=$(cd "$WORK/tree" && make -s PG_CONFIG="$PG_CONFIG" print-cli-static-libpq 2>/dev/null)
  (cd "$WORK/tree" && as_user env PGM_EXPECT_STATIC_LIBPQ="$static_libpq" \
      make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS= ISOLATION= PROVE_FLAGS=-v) >"$out" 2>&1
  grep -E '^(ok|not ok) ' "$out" || true
  ok=$(grep -Ec '^ok ' "$out"); bad=$(grep -Ec '^not ok ' "$out")
  if ! grep -q '^Result: PASS' "$out"; then
    tail -60 "$out"
    for f in "$WORK"/tree/tmp_check/log/*; do [ -f "$f" ] && { echo "--- $f"; tail -30 "$f"; }; done
    [ "$bad" -eq 0 ] && bad=1
  fi
  count tap "$ok" "$bad"
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failing suites: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
