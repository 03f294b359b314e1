# Sourced by test/run.sh and test/demo.sh: installs missing Debian packages (as root), then
# builds and installs pg_migrate. Expects PGVER, PG_BIN and PG_CONFIG; honours PGM_SKIP_APT
# and PGM_SANDBOX (see test/run.sh).
log() { printf '\n== %s\n' "$*"; }

install_packages() {
  local pkgs=(postgresql-$PGVER postgresql-server-dev-$PGVER postgresql-contrib libfmt-dev
              libgtest-dev cmake g++ make libipc-run-perl perl
              libpq-dev libcli11-dev nlohmann-json3-dev nettle-dev pgbouncer
              libkrb5-dev libldap-dev pkg-config libio-pty-perl)
  local missing=()
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing packages: ${missing[*]} (run as root to install them)" >&2
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "${PGM_SKIP_APT:-0}" != 1 ] && command -v dpkg-query >/dev/null; then
  install_packages || exit 1
fi
PG_CONFIG=$PG_BIN/pg_config
[ -x "$PG_CONFIG" ] || { echo "pg_config for PostgreSQL $PGVER not found" >&2; exit 1; }

# PGM_SANDBOX=DIR: use a private relocated copy of the PostgreSQL installation in DIR and
# install pg_migrate there, so several work trees can build and test side by side.
if [ -n "${PGM_SANDBOX:-}" ]; then
  if [ ! -x "$PGM_SANDBOX/usr/lib/postgresql/$PGVER/bin/postgres" ]; then
    mkdir -p "$PGM_SANDBOX/usr/lib/postgresql" "$PGM_SANDBOX/usr/share/postgresql"
    cp -a "/usr/lib/postgresql/$PGVER" "$PGM_SANDBOX/usr/lib/postgresql/"
    cp -a "/usr/share/postgresql/$PGVER" "$PGM_SANDBOX/usr/share/postgresql/"
    ln -sfn /usr/include "$PGM_SANDBOX/usr/include"
    chmod -R a+rX "$PGM_SANDBOX"
  fi
  PG_BIN=$PGM_SANDBOX/usr/lib/postgresql/$PGVER/bin
  PG_CONFIG=$PG_BIN/pg_config
fi

log "build and install (PostgreSQL $($PG_CONFIG --version))"
make -s PG_CONFIG="$PG_CONFIG" -j"$(nproc)" >/dev/null || exit 1
if [ "$(id -u)" -eq 0 ] || [ -n "${PGM_SANDBOX:-}" ]; then
  make -s PG_CONFIG="$PG_CONFIG" install >/dev/null || exit 1
else
  sudo -n make -s PG_CONFIG="$PG_CONFIG" install >/dev/null || { echo "make install needs root" >&2; exit 1; }
fi

