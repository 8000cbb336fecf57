#!/usr/bin/env bash
# A private PostgreSQL for local development, independent of any system
# cluster: data in .local/pg/data, Unix socket (port 5432) in .local/pg, no
# TCP (listen_addresses=''), trust auth, superuser "postgres", database
# "tokens". With TOKENS_STATE_DIR set, <that dir>/pg instead of .local/pg:
# each state directory has its own cluster.
#
#   scripts/pg.sh start    initdb if needed, start (no-op when running),
#                          create database "tokens" if missing
#   scripts/pg.sh stop     stop it (no-op when not running)
#   scripts/pg.sh status   exit 0 when running, 3 when not
#   scripts/pg.sh url      print the libpq URI of database "tokens"
#
# As root the server runs as the "postgres" user (via runuser) and .local/pg
# is chowned to it. When that user can't reach the repository (e.g. it lives
# under /root), or the socket path would be too long for a Unix socket, the
# directory is /var/tmp/user-tokens-<hash of repo path> instead (of the state
# directory's path when TOKENS_STATE_DIR is set).
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT=5432
DB_NAME=tokens
DB_SUPERUSER=postgres # the superuser pg_init creates
# sun_path holds 107 characters plus the terminating NUL.
MAX_SOCKET_PATH=107

usage() {
  echo "usage: $0 start|stop|status|url" >&2
  exit 2
}

if [[ $EUID -eq 0 ]]; then
  AS_ROOT=1
  id -u postgres >/dev/null 2>&1 ||
    die "running as root needs the 'postgres' system user: run scripts/install-deps.sh"
else
  AS_ROOT=0
fi

# The directory is chosen the same way by every subcommand, so stop/status/url
# find the cluster that start created.
PG_DIR="$LOCAL_DIR/pg"
FALLBACK_REASON=""
socket_file="/.s.PGSQL.$PG_PORT"
if ((${#PG_DIR} + ${#socket_file} > MAX_SOCKET_PATH)); then
  FALLBACK_REASON="the socket path under $PG_DIR would be too long for a Unix socket"
elif ((AS_ROOT)); then
  if [[ ! -d $LOCAL_DIR ]]; then
    mkdir -p "$LOCAL_DIR"
    chmod 0755 "$LOCAL_DIR"
  fi
  if ! runuser -u postgres -- test -x "$LOCAL_DIR"; then
    FALLBACK_REASON="the postgres user can't traverse $LOCAL_DIR"
  fi
fi
if [[ -n $FALLBACK_REASON ]]; then
  # The default state directory keeps the name it always had, so an existing
  # fallback cluster is still found.
  fallback_key=$REPO_ROOT
  [[ -n ${TOKENS_STATE_DIR:-} ]] && fallback_key=$LOCAL_DIR
  PG_DIR="/var/tmp/user-tokens-$(printf '%s' "$fallback_key" | sha256sum | cut -c1-16)"
fi
DATA_DIR="$PG_DIR/data"
SERVER_LOG="$PG_DIR/postgres.log"

note_fallback() {
  if [[ -n $FALLBACK_REASON ]]; then
    warn "$FALLBACK_REASON; using $PG_DIR instead"
  fi
}

db_url() { pg_url "$PG_DIR" "$DB_NAME"; }

# psql_admin ARGS...: psql as the superuser to database "postgres".
psql_admin() {
  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U "$DB_SUPERUSER" -d postgres "$@"
}

is_running() { pg_running "$BIN" "$DATA_DIR"; }

# postgresql.conf includes local.conf, which start rewrites every time so a
# moved repository still gets the right socket directory.
write_local_conf() {
  local sockdir=${PG_DIR//\'/\'\'}
  cat >"$DATA_DIR/local.conf" <<EOF
# Written by scripts/pg.sh on every start; edits are lost.
listen_addresses = ''
port = $PG_PORT
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0777
EOF
  if ((AS_ROOT)); then chown postgres:postgres "$DATA_DIR/local.conf"; fi
}

init_cluster() {
  log "initializing a private PostgreSQL cluster in $DATA_DIR"
  pg_init "$BIN" "$DATA_DIR" "$PG_DIR/initdb.log"
  printf "\ninclude_if_exists = 'local.conf'\n" >>"$DATA_DIR/postgresql.conf"
}

cmd_start() {
  note_fallback
  mkdir -p "$PG_DIR"
  chmod 0755 "$PG_DIR"
  if ((AS_ROOT)); then chown -R postgres:postgres "$PG_DIR"; fi
  if is_running; then
    log "PostgreSQL is already running ($DATA_DIR)"
  else
    [[ -f $DATA_DIR/PG_VERSION ]] || init_cluster
    write_local_conf
    log "starting PostgreSQL (socket dir $PG_DIR, log $SERVER_LOG)"
    pg_start "$BIN" "$DATA_DIR" "$SERVER_LOG"
  fi
  local exists
  exists=$(psql_admin -tAc "select 1 from pg_database where datname = '$DB_NAME'")
  if [[ $exists != 1 ]]; then
    log "creating database $DB_NAME"
    psql_admin -c "create database $DB_NAME"
  fi
  log "PostgreSQL is ready: $(db_url)"
}

cmd_stop() {
  if is_running; then
    log "stopping PostgreSQL ($DATA_DIR)"
    pg_stop "$BIN" "$DATA_DIR"
  else
    log "PostgreSQL is not running ($DATA_DIR)"
  fi
}

cmd_status() {
  note_fallback
  if is_running; then
    echo "running: $(db_url)"
  else
    echo "not running ($DATA_DIR)"
    return 3
  fi
}

[[ $# -eq 1 ]] || usage
case $1 in
  start | stop | status)
    BIN=$(pg_bindir)
    "cmd_$1"
    ;;
  url) db_url ;;
  *) usage ;;
esac
