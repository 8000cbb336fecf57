#!/usr/bin/env bash
# Stops what scripts/up.sh started: every process with a pid file in
# .local/run, newest first (SIGTERM, then wait; SIGKILL after 30 s), then the private
# PostgreSQL (scripts/pg.sh stop). Safe to run when nothing is running.
# Honours TOKENS_STATE_DIR as up.sh does: run it with the same value to stop
# the instance started in that state directory.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Newest first: the reverse of the start order, so the sidecar stops (and
# flushes its usage to token-service) before token-service does.
shopt -s nullglob
pidfiles=("$RUN_DIR"/*.pid)
((${#pidfiles[@]})) && mapfile -t pidfiles < <(ls -t -- "${pidfiles[@]}")
for pidfile in "${pidfiles[@]}"; do
  name=$(basename "$pidfile" .pid)
  if pidfile_pid "$name" >/dev/null; then
    stop_process "$name" 30
  else
    log "$name is not running"
    rm -f "$pidfile"
  fi
done

"$REPO_ROOT/scripts/pg.sh" stop
