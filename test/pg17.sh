#!/usr/bin/env bash
# pg_migrate on PostgreSQL 17 (README "Testing"): Debian 12 ships only PostgreSQL 15, so this
# takes Debian 13's PostgreSQL 17 packages (and the newer C library they need) from
# deb.debian.org, unpacks them under $PG17_ROOT without installing them, points their
# binaries at that C library (patchelf), builds and installs pg_migrate there, and runs the
# TAP suite (and, with REGRESS=1, the regression suite, whose expected files are PostgreSQL
# 15's: PostgreSQL 17 prints some things differently, see the list at the end).
# Not part of test/run.sh: it downloads about 40 MB and builds pg_migrate once more.
# Usage, as root: test/pg17.sh [test/t/NNN_name.pl ...]
#   (env: PG17_ROOT=/opt/pg17, REGRESS=1 to run the regression suites too, KEEP=1 keeps the build)
set -euo pipefail
ROOT=${PG17_ROOT:-/opt/pg17}
HERE=$(cd "$(dirname "$0")/.." && pwd)
MIRROR=http://deb.debian.org/debian
LIBDIR=$ROOT/runtime/usr/lib/x86_64-linux-gnu
BIN=$ROOT/usr/lib/postgresql/17/bin
PG_CONFIG17=$BIN/pg_config

[ "$(id -u)" -eq 0 ] || { echo "run as root (unpacks under $ROOT, runs servers as postgres)"; exit 1; }
command -v patchelf >/dev/null || apt-get install -y -q patchelf >/dev/null

if [ ! -x "$BIN/postgres" ]; then
  mkdir -p "$ROOT/debs"
  curl -sSf --max-time 120 -o "$ROOT/debs/Packages.xz" "$MIRROR/dists/trixie/main/binary-amd64/Packages.xz"
  # The server, its client, its headers and PGXS; then the libraries they need newer than
  # Debian 12's (C library, ICU 76, libpq 17, OpenLDAP 2.6, ...), unpacked apart.
  server='postgresql-17|postgresql-client-17|postgresql-server-dev-17'
  runtime='libc6|libicu76|libpq5|libstdc\+\+6|libgcc-s1|libxml2|libssl3t64|libldap2|libsasl2-2|libgnutls30t64|libnettle8t64|libhogweed6t64|libtasn1-6|libp11-kit0|libidn2-0|libunistring5|libgmp10|libffi8'
  xz -dc "$ROOT/debs/Packages.xz" | awk -v s="^($server)\$" -v r="^($runtime)\$" '
    /^Package: /{p=$2} /^Filename: /{ if (p ~ s) print "server", $2; else if (p ~ r) print "runtime", $2 }' |
  while read -r kind file; do
    deb="$ROOT/debs/$(basename "$file")"
    [ -f "$deb" ] || curl -sSf --max-time 300 -o "$deb" "$MIRROR/$file"
    if [ "$kind" = server ]; then dpkg-deb -x "$deb" "$ROOT"; else dpkg-deb -x "$deb" "$ROOT/runtime"; fi
  done
  # DT_RPATH (--force-rpath), not RUNPATH: it also serves the libraries' own dependencies.
  for f in "$BIN"/* "$ROOT"/usr/lib/postgresql/17/lib/pgxs/src/test/regress/pg_regress \
           "$ROOT"/usr/lib/postgresql/17/lib/pgxs/src/test/isolation/{pg_isolation_regress,isolationtester}; do
    [ -f "$f" ] && [ ! -L "$f" ] && file "$f" | grep -q ELF || continue
    patchelf --set-interpreter "$LIBDIR/ld-linux-x86-64.so.2" --force-rpath \
             --set-rpath "$LIBDIR:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$f"
  done
  for f in "$ROOT"/usr/lib/postgresql/17/lib/*.so; do
    patchelf --force-rpath --set-rpath "$LIBDIR:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu" "$f"
  done
fi
"$BIN/postgres" --version

# A copy of the checkout, built with Debian 12's compiler against PostgreSQL 17's headers:
# PGXS's flags name an option g++ 12 lacks (-fexcess-precision=standard), so CXXFLAGS is set
# here, and strlcpy (in Debian 13's C library, not 12's) is declared.
WORK=$(mktemp -d /tmp/pg17.XXXXXX)
trap '[ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT
git -C "$HERE" ls-files -z | (cd "$HERE" && xargs -0 tar -cf - --) | tar -xf - -C "$WORK"
printf '#include <stddef.h>\nextern "C" size_t strlcpy(char *, const char *, size_t);\n' >"$WORK/strlcpy.h"
FLAGS="-Wall -fno-strict-aliasing -fwrapv -g -O2 -include $WORK/strlcpy.h"
make -s -C "$WORK" -j2 PG_CONFIG="$PG_CONFIG17" CXXFLAGS="$FLAGS" pg_migrate.so pg_migrate--0.13.0.sql
# The command-line client links Debian 12's libpq (the TAP tests run it): the checkout's.
make -s -C "$HERE" -j2 src/cli/pg_migrate
cp "$HERE/src/cli/pg_migrate" "$WORK/src/cli/pg_migrate"
# Installed by hand: PGXS's install would also build the client against PostgreSQL 17's libpq.
install -m 755 "$WORK/pg_migrate.so" "$("$PG_CONFIG17" --pkglibdir)/"
install -m 755 "$WORK/src/cli/pg_migrate" "$BIN/"  # the TAP tests find it on PATH
install -m 644 "$WORK"/pg_migrate.control "$WORK"/pg_migrate--*.sql "$WORK"/src/sql/released/*.sql \
  "$WORK"/src/sql/upgrade/*.sql "$("$PG_CONFIG17" --sharedir)/extension/"
chown -R postgres "$WORK"

tests=("$@")
[ ${#tests[@]} -gt 0 ] || mapfile -t tests < <(cd "$WORK" && ls test/t/*.pl)
status=0
runuser -u postgres -- make -s -C "$WORK" installcheck PG_CONFIG="$PG_CONFIG17" REGRESS= ISOLATION= \
  PROVE_TESTS="${tests[*]}" || status=1
if [ "${REGRESS:-0}" = 1 ]; then
  port=$(( 46000 + RANDOM % 1000 ))
  runuser -u postgres -- "$BIN/initdb" -D "$WORK/data" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w \
    -o "-p $port -k $WORK -c listen_addresses='' -c max_prepared_transactions=2" start >/dev/null
  for suite in "ISOLATION=" "REGRESS="; do  # regression, then isolation (each on its own)
    runuser -u postgres -- env PGHOST="$WORK" PGPORT=$port PGUSER=postgres \
      make -s -C "$WORK" installcheck PG_CONFIG="$PG_CONFIG17" TAP_TESTS= "$suite" || true
  done
  runuser -u postgres -- "$BIN/pg_ctl" -D "$WORK/data" -m fast stop >/dev/null
  echo "Regression and isolation tests that differ on PostgreSQL 17 (expected files are PostgreSQL 15's):"
  differ=$(cat "$WORK/regression.out" "$WORK/output_iso/regression.out" 2>/dev/null | grep '^not ok' || true)
  echo "${differ:-  none}"
fi
exit $status
