# shellcheck shell=bash
# Shared helpers for the scripts in this directory. Source it; don't run it.
#
# Defines REPO_ROOT (absolute path of the repository, computed from this
# file's location), LOCAL_DIR (the state directory: .local/ under it unless
# TOKENS_STATE_DIR says otherwise), BUILD_DIR (build/ under it unless
# TOKENS_BUILD_DIR says otherwise) and small helpers for logging and for
# background processes that have a pid file and a log file.
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
  rm -f "$RUN_DIR/$name.pid"
}

# start_process NAME READY_TEXT TIMEOUT_SECONDS CMD [ARGS...]
# Stops a previous NAME, then starts CMD in the background in its own session
# (survives the calling shell), stdout+stderr to $LOG_DIR/NAME.log (the
# previous log is kept as NAME.log.prev), pid in $RUN_DIR/NAME.pid. Waits
# until the log contains READY_TEXT (a fixed string); on timeout or early
# exit prints the log tail, stops the process and returns 1.
start_process() {
  local name=$1 ready=$2 timeout=$3
  shift 3
  local logfile="$LOG_DIR/$name.log" pidfile="$RUN_DIR/$name.pid" pid status deadline
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  stop_process "$name"
  [[ -f $logfile ]] && mv -f "$logfile" "$logfile.prev"
  : >"$logfile"
  log "starting $name: $*"
  # A background child of a non-interactive shell is not a process-group
  # leader, so setsid doesn't fork and $! is the service's own pid.
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  pid=$!
  # Line 1: pid; line 2: program name, checked by pidfile_pid.
  printf '%s\n%s\n' "$pid" "$(basename -- "$1")" >"$pidfile"
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if grep -qF -- "$ready" "$logfile"; then
      log "$name is ready (pid $pid, log ${logfile#"$REPO_ROOT"/})"
      return 0
    fi
    if ! pid_alive "$pid"; then
      status=0
      wait "$pid" 2>/dev/null || status=$?
      printf 'error: %s exited (status %s) before logging "%s"; last log lines:\n' \
        "$name" "$status" "$ready" >&2
      tail -n 40 "$logfile" >&2
      rm -f "$pidfile"
      return 1
    fi
    sleep 0.1
  done
  printf 'error: %s did not log "%s" within %ss; last log lines:\n' "$name" "$ready" "$timeout" >&2
  tail -n 40 "$logfile" >&2
  stop_process "$name" 5
  return 1
}
