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
DB_SUPERUSER=postgres
# sun_path holds 107 characters plus the terminating NUL.
MAX_SOCKET_PATH=107

usage() {
  echo "usage: $0 start|stop|status|url" >&2
  exit 2
}

find_pg_bindir() {
  local dir
  dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null |
    sort -V | tail -n1)
  if [[ -n $dir && -x $dir/pg_ctl ]]; then
    printf '%s\n' "$dir"
  elif command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  else
    die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run scripts/install-deps.sh"
  fi
}

if [[ $EUID -eq 0 ]]; then
  AS_ROOT=1
  id -u postgres >/dev/null 2>&1 ||
    die "running as root needs the 'postgres' system user: run scripts/install-deps.sh"
else
  AS_ROOT=0
fi

# as_pg CMD...: runs CMD as the user that owns the cluster, from / so that an
# unreadable working directory doesn't matter.
as_pg() {
  if ((AS_ROOT)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

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

# Percent-encodes everything but RFC 3986 unreserved characters.
percent_encode() {
  local LC_ALL=C s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s\n' "$out"
}

db_url() {
  printf 'postgresql://%s@/%s?host=%s\n' "$DB_SUPERUSER" "$DB_NAME" "$(percent_encode "$PG_DIR")"
}

# psql_admin ARGS...: psql as the superuser to database "postgres".
psql_admin() {
  "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U "$DB_SUPERUSER" -d postgres "$@"
}

is_running() {
  [[ -f $DATA_DIR/PG_VERSION ]] || return 1
  as_pg "$BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

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
  as_pg "$BIN/initdb" -D "$DATA_DIR" -U "$DB_SUPERUSER" --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log" >&2
    die "initdb failed"
  }
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
    if ! as_pg "$BIN/pg_ctl" -D "$DATA_DIR" -l "$SERVER_LOG" -w -t 60 start >/dev/null; then
      tail -n 30 "$SERVER_LOG" >&2 || true
      die "PostgreSQL failed to start"
    fi
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
    as_pg "$BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null
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
    BIN=$(find_pg_bindir)
    "cmd_$1"
    ;;
  url) db_url ;;
  *) usage ;;
esac
