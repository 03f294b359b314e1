#!/usr/bin/env bash
# Developer helper: runs the named pg_regress tests against an already running server
# (PGHOST/PGPORT) and copies their actual output over expected/. Review the diff before
# committing: the expected files are the tests' assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-pg_config}
for t in "$@"; do [ -f "expected/$t.out" ] || touch "expected/$t.out"; done
make -s PG_CONFIG="$PG_CONFIG" installcheck REGRESS="$*" ISOLATION= TAP_TESTS= || true
for t in "$@"; do cp "results/$t.out" "expected/$t.out"; done
git --no-pager diff --stat -- expected/ || true
