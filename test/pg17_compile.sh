#!/usr/bin/env bash
# Compiles every source of the extension against PostgreSQL 17's server headers (README
# "Testing"; test/run.sh's suite "pg17"): CI's server is PostgreSQL 15, and this catches an API
# that 16 or 17 changed or removed. The headers are Debian 13's postgresql-server-dev-17
# (1.3 MB from deb.debian.org), unpacked into a cache, not installed. test/pg17.sh runs the
# suites on a PostgreSQL 17 server.
# Exit status: 0 every source compiles, 1 one does not, 3 the headers could not be fetched.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${PG17_HEADERS:-/var/cache/pg_migrate/pg17-headers}
MIRROR=http://deb.debian.org/debian
INC=$CACHE/usr/include/postgresql

if [ ! -f "$INC/17/server/postgres.h" ]; then
  mkdir -p "$CACHE" || exit 3
  curl -sSf --max-time 120 -o "$CACHE/Packages.xz" "$MIRROR/dists/trixie/main/binary-amd64/Packages.xz" || exit 3
  file=$(xz -dc "$CACHE/Packages.xz" | awk '/^Package: /{p = ($2 == "postgresql-server-dev-17")} p && /^Filename: /{print $2; exit}')
  [ -n "$file" ] || { echo "postgresql-server-dev-17 is not in trixie's package list"; exit 3; }
  curl -sSf --max-time 300 -o "$CACHE/dev.deb" "$MIRROR/$file" && dpkg-deb -x "$CACHE/dev.deb" "$CACHE" || exit 3
fi
echo "PostgreSQL $(sed -n 's/^#define PG_VERSION "\(.*\)"/\1/p' "$INC/17/server/pg_config.h") headers"

cd "$HERE" || exit 1
sources=$(printf 'include sources.mk\nprint:\n\t@echo $(PGM_PURE_SOURCES) $(PGM_PG_SOURCES)\n' | make -s -f - print)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# Debian 13's pg_config.h says its C library has strlcpy (glibc 2.38); Debian 12's has not.
printf '#include <stddef.h>\nextern "C" size_t strlcpy(char *, const char *, size_t);\n' >"$out/strlcpy.h"
export INC out
printf '%s\n' $sources | xargs -P "$(nproc)" -I{} sh -c '
  g++ -fsyntax-only -std=c++17 -Wall -Wno-register -DFMT_HEADER_ONLY -fexceptions -fPIC -D_GNU_SOURCE \
      -Isrc -isystem "$INC/17/server" -I"$INC/internal" -include "$out/strlcpy.h" \
      -DPGDLLEXPORT="__attribute__((visibility(\"default\")))" {} >"$out/$(basename {}).log" 2>&1 ||
    { echo "FAILED: {}"; grep -m 5 "error" "$out/$(basename {}).log"; }' | tee "$out/failures"
n=$(printf '%s\n' $sources | wc -l)
if [ -s "$out/failures" ]; then echo "$(grep -c '^FAILED' "$out/failures") of $n sources do not compile"; exit 1; fi
echo "$n of $n sources compile against PostgreSQL 17"
