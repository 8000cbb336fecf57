# shellcheck shell=bash
# The developer toolkit: what scripts/up.sh, down.sh, pg.sh and bench/run.sh
# use to start a private PostgreSQL and the binaries and to know when they
# are ready. Source it; don't run it.
#
# Defines REPO_ROOT (absolute path of the repository, computed from this
# file's location), LOCAL_DIR (the state directory: .local/ under it unless
# TOKENS_STATE_DIR says otherwise), BUILD_DIR (build/ under it unless
# TOKENS_BUILD_DIR says otherwise) and helpers for logging, for a private
# PostgreSQL cluster, and for background processes that have a pid file and
# a log file.
#
# Readiness never comes from log lines: token-service and token-sidecar are
# started with --ready_file and are ready once they have written it (it
# names their bound addresses); a server without one (demo-upstream, the
# benchmarks' baselines, an older build) is ready once it listens, as the
# kernel says; PostgreSQL once pg_ctl -w saw "ready" in postmaster.pid.
#
# Everything the scripts write at run time (logs, pid files, the private
# PostgreSQL, the admin token) lives under LOCAL_DIR, so a second state
# directory is a second, independent instance (e.g. for a test). Relative
# paths in either variable are taken from the caller's working directory.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
LOCAL_DIR=$(realpath -m -- "${TOKENS_STATE_DIR:-$REPO_ROOT/.local}")
# shellcheck disable=SC2034 # used by the scripts that source this file
BUILD_DIR=$(realpath -m -- "${TOKENS_BUILD_DIR:-$REPO_ROOT/build}")
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/logs"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# run_privileged CMD...: runs CMD as root (directly when we are root, through
# sudo otherwise); fails with a clear message when neither is possible.
run_privileged() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*': run this script as root or install sudo"
  fi
}

# pid_alive PID: true when PID is a live (non-zombie) process.
pid_alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  state=$(ps -o stat= -p "$pid" 2>/dev/null || true)
  [[ -n $state && $state != Z* ]]
}

# pidfile_pid NAME: prints the pid recorded in $RUN_DIR/NAME.pid when that
# process is still alive and its command line still mentions the program
# recorded on the pid file's second line (guards against pid reuse);
# returns 1 otherwise.
pidfile_pid() {
  local pidfile="$RUN_DIR/$1.pid" pid prog cmdline
  [[ -f $pidfile ]] || return 1
  pid=$(sed -n 1p "$pidfile")
  prog=$(sed -n 2p "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  if [[ -n $prog && -r /proc/$pid/cmdline ]]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
    [[ $cmdline == *"$prog"* ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# stop_process NAME [TIMEOUT_SECONDS]: SIGTERM the process recorded in
# $RUN_DIR/NAME.pid, wait for it to exit (SIGKILL after the timeout), and
# remove the pid file. A no-op when it isn't running.
stop_process() {
  local name=$1 timeout=${2:-15} pid deadline
  if pid=$(pidfile_pid "$name"); then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + timeout))
    while ((SECONDS < deadline)) && pid_alive "$pid"; do
      sleep 0.1
    done
    if pid_alive "$pid"; then
      warn "$name (pid $pid) did not exit ${timeout}s after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.ready"
}

# --- Ready files and listening ports ------------------------------------------

# ready_file_pid FILE: the pid FILE names (see common/process/ready_file.h);
# returns 1 while there is no such file.
ready_file_pid() {
  [[ -f $1 ]] || return 1
  sed -nE 's/^\{"pid":([0-9]+)[,}].*/\1/p' "$1"
}

# ready_address FILE NAME: the address NAME ("grpc", "metrics", "sync") in
# ready file FILE, in the form clients dial; returns 1 when it has none.
ready_address() {
  local address
  address=$(sed -nE "s/.*\"$2\":\"([^\"]+)\".*/\\1/p" "$1" 2>/dev/null)
  [[ -n $address ]] || return 1
  client_address "$address"
}

# listening_address PID: the first TCP address PID listens on, from
# /proc (no log line involved); returns 1 when it listens on none yet.
listening_address() {
  python3 - "$1" <<'PY'
import os, socket, struct, sys
pid = sys.argv[1]
try:
    inodes = {os.readlink(f"/proc/{pid}/fd/{fd}")[8:-1] for fd in os.listdir(f"/proc/{pid}/fd")
              if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:[")}
except OSError:
    sys.exit(1)
for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
    try:
        lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
    except OSError:
        continue
    for line in lines:
        f = line.split()
        if f[3] != "0A" or f[9] not in inodes:  # 0A: LISTEN
            continue
        hexip, hexport = f[1].split(":")
        raw = bytes.fromhex(hexip)
        # /proc prints the address as 32-bit words in host order.
        raw = b"".join(struct.pack("=I", struct.unpack(">I", raw[i:i + 4])[0]) for i in range(0, len(raw), 4))
        host = socket.inet_ntop(family, raw)
        print(f"[{host}]:{int(hexport, 16)}" if family == socket.AF_INET6 else f"{host}:{int(hexport, 16)}")
        sys.exit(0)
sys.exit(1)
PY
}

# The address clients dial: a wildcard host becomes loopback, and a bare
# IPv6 host gets its brackets.
client_address() {
  local addr=$1 host port
  port=${addr##*:}
  host=${addr%:*}
  case $host in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    "[::]" | "::") host="[::1]" ;;
    \[*) ;;
    *:*) host="[$host]" ;;
  esac
  printf '%s:%s\n' "$host" "$port"
}

# wait_until_ready NAME PID READY TIMEOUT_SECONDS LOGFILE: waits until PID
# is ready. READY is "ready-file:FILE" (PID wrote FILE) or "port" (PID
# listens on a TCP port). On early exit or timeout prints the log tail and
# returns 1.
wait_until_ready() {
  local name=$1 pid=$2 ready=$3 timeout=$4 logfile=$5 deadline
  deadline=$((SECONDS + timeout))
  while :; do
    case $ready in
      ready-file:*) [[ $(ready_file_pid "${ready#ready-file:}" 2>/dev/null) == "$pid" ]] && return 0 ;;
      port) listening_address "$pid" >/dev/null && return 0 ;;
      *) die "wait_until_ready: unknown readiness \"$ready\"" ;;
    esac
    if ! pid_alive "$pid"; then
      printf 'error: %s (pid %s) exited before it was ready; last log lines:\n' "$name" "$pid" >&2
      tail -n 40 "$logfile" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'error: %s (pid %s) was not ready within %ss; last log lines:\n' "$name" "$pid" "$timeout" >&2
      tail -n 40 "$logfile" >&2
      return 1
    fi
    # Often: bench/run.sh times token-service's restarts from this.
    sleep 0.01
  done
}

# --- Background processes of scripts/up.sh ----------------------------------------

# start_process NAME READY TIMEOUT_SECONDS CMD [ARGS...]
# Stops a previous NAME, then starts CMD in the background in its own session
# (survives the calling shell), stdout+stderr to $LOG_DIR/NAME.log (the
# previous log is kept as NAME.log.prev), pid in $RUN_DIR/NAME.pid. READY is
# "ready-file" (token-service, token-sidecar: CMD gets --ready_file
# $RUN_DIR/NAME.ready, read it with ready_address) or "port" (a server
# without one). Waits until it is ready; on timeout or early exit prints the
# log tail, stops the process and returns 1.
start_process() {
  local name=$1 ready=$2 timeout=$3
  shift 3
  local logfile="$LOG_DIR/$name.log" pidfile="$RUN_DIR/$name.pid" readyfile="$RUN_DIR/$name.ready"
  local pid args=("$@")
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  stop_process "$name"
  [[ -f $logfile ]] && mv -f "$logfile" "$logfile.prev"
  : >"$logfile"
  rm -f "$readyfile"
  if [[ $ready == ready-file ]]; then
    args+=(--ready_file "$readyfile")
    ready="ready-file:$readyfile"
  fi
  log "starting $name: ${args[*]}"
  # A background child of a non-interactive shell is not a process-group
  # leader, so setsid doesn't fork and $! is the service's own pid.
  setsid nohup "${args[@]}" >>"$logfile" 2>&1 </dev/null &
  pid=$!
  # Line 1: pid; line 2: program name, checked by pidfile_pid.
  printf '%s\n%s\n' "$pid" "$(basename -- "$1")" >"$pidfile"
  if ! wait_until_ready "$name" "$pid" "$ready" "$timeout" "$logfile"; then
    stop_process "$name" 5
    return 1
  fi
  log "$name is ready (pid $pid, log ${logfile#"$REPO_ROOT"/})"
}

# process_address NAME [ADDRESS_NAME]: where NAME, started by start_process,
# serves: ADDRESS_NAME ("grpc" by default, "metrics", "sync") from its ready
# file, or, for a server without one, the port its pid listens on.
process_address() {
  local name=$1 which=${2:-grpc} pid
  if [[ -f $RUN_DIR/$name.ready ]]; then
    ready_address "$RUN_DIR/$name.ready" "$which"
  elif pid=$(pidfile_pid "$name"); then
    client_address "$(listening_address "$pid")"
  else
    return 1
  fi
}

# --- A private PostgreSQL ------------------------------------------------------------
# A cluster in a directory of its own, reachable only on a Unix socket in
# PG_SOCKET_DIR, trust auth, superuser "postgres". As root the server runs as
# the "postgres" user.

# pg_bindir: the newest PostgreSQL server binaries.
pg_bindir() {
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

# as_pg CMD...: runs CMD as the user that owns the cluster (postgres when we
# are root), from / so that an unreadable working directory doesn't matter.
as_pg() {
  if [[ $EUID -eq 0 ]]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# pg_init BIN DATA_DIR LOGFILE: initdb into DATA_DIR (whose parent the
# cluster's user must own), superuser "postgres", trust auth.
pg_init() {
  local bin=$1 data=$2 logfile=$3
  if [[ $EUID -eq 0 ]]; then
    id -u postgres >/dev/null 2>&1 ||
      die "running as root needs the 'postgres' system user: run scripts/install-deps.sh"
  fi
  as_pg env LC_ALL=C "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale \
    >"$logfile" 2>&1 || {
    cat "$logfile" >&2
    die "initdb failed"
  }
}

# pg_start BIN DATA_DIR SERVER_LOG: starts the cluster; pg_ctl -w returns once
# postmaster.pid says "ready" (or fails after 60 s with the log tail).
pg_start() {
  local bin=$1 data=$2 server_log=$3
  if ! as_pg "$bin/pg_ctl" -D "$data" -l "$server_log" -w -t 60 start >/dev/null; then
    tail -n 30 "$server_log" >&2 || true
    die "PostgreSQL failed to start"
  fi
}

# pg_stop BIN DATA_DIR: stops the cluster (fast: sessions are ended).
pg_stop() { as_pg "$1/pg_ctl" -D "$2" -m fast -w -t 60 stop >/dev/null; }

# pg_running BIN DATA_DIR: whether the cluster runs.
pg_running() {
  [[ -f $2/PG_VERSION ]] || return 1
  as_pg "$1/pg_ctl" -D "$2" status >/dev/null 2>&1
}

# pg_url SOCKET_DIR DATABASE: the libpq URI of DATABASE as "postgres".
pg_url() {
  printf 'postgresql://postgres@/%s?host=%s\n' "$2" "$(percent_encode "$1")"
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
