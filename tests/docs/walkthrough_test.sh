#!/usr/bin/env bash
# The end-to-end test of the native topology, driven by the documentation:
#
#   1. scripts/up.sh starts everything (private PostgreSQL, token-service,
#      token-sidecar, demo-upstream) in a private state directory, every
#      address on 127.0.0.1:0, so it collides neither with a developer's
#      instance nor with parallel tests; the real addresses come from the
#      processes' logs and must match the ones up.sh printed.
#   2. Every ```bash / ```sh block of docs/walkthrough.md runs, in order, in
#      one bash with `set -euo pipefail`, with grpcurl carried out by
#      "buf curl" (grpcurl_shim.sh) and the walkthrough's address variables
#      set to the real addresses.
#   3. In that same shell, walkthrough_checks.sh checks what the walkthrough
#      did: the created token was allowed by Check (x-auth-user-id, the token
#      id), demo-upstream shows the identity Envoy would forward, both
#      secrets are denied as revoked after RotateToken/RevokeToken, and the
#      sidecar's and token-service's metrics counted it all.
#   4. No file in the state directory but the admin token file holds a
#      token; scripts/down.sh stops everything (also when a step failed) and
#      no process of this instance is left.
#
# usage: walkthrough_test.sh BUILD_DIR
# Needs buf (npm @bufbuild/buf), jq and curl, which scripts/install-deps.sh
# installs: a missing one is a failure, not a skip.
set -euo pipefail

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

(($# == 1)) || fail "usage: $0 BUILD_DIR"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)
WALKTHROUGH="$REPO/docs/walkthrough.md"
TOKEN_RE='utk_[0-9A-Za-z]{39}'

for tool in buf jq curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: scripts/install-deps.sh installs it"
done

# Anything this test prints passes through here: tokens never reach the output.
redact() { sed -E "s/$TOKEN_RE/utk_<redacted>/g"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokens-walkthrough.XXXXXX")
# As root, pg.sh runs PostgreSQL as the postgres user, who must reach the
# state directory to keep its cluster inside it.
chmod 0755 "$WORK"
STATE="$WORK/state"
mkdir -p "$WORK/bin"
stopped=0

# pids of the processes up.sh started, from its pid files.
started_pids() {
  local f
  for f in "$STATE"/run/*.pid; do
    [[ -f $f ]] && sed -n 1p "$f"
  done
}

# Stops the instance (once) and checks that nothing of it is left.
stop_instance() {
  ((stopped == 0)) || return 0
  stopped=1
  local pids pid left=()
  mapfile -t pids < <(started_pids)
  if ! TOKENS_STATE_DIR="$STATE" "$REPO/scripts/down.sh" >"$WORK/down.log" 2>&1; then
    redact <"$WORK/down.log" >&2
    fail "scripts/down.sh failed"
  fi
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null && [[ $(ps -o stat= -p "$pid" 2>/dev/null) != Z* ]]; then
      left+=("$pid")
    fi
  done
  ((${#left[@]} == 0)) || fail "still running after scripts/down.sh: pids ${left[*]}"
  # PostgreSQL and anything else started with a path in the state directory.
  if pgrep -af -- "${STATE//./\\.}"; then
    fail "processes of this instance are left after scripts/down.sh (above)"
  fi
  local status=0
  TOKENS_STATE_DIR="$STATE" "$REPO/scripts/pg.sh" status >/dev/null 2>&1 || status=$?
  ((status == 3)) || fail "scripts/pg.sh status says PostgreSQL still runs (exit $status)"
  echo "ok: scripts/down.sh stopped everything (pids ${pids[*]:-none} and PostgreSQL)"
}

on_exit() {
  local status=$?
  if ((status != 0)); then
    local f
    for f in "$STATE"/logs/*.log; do
      [[ -f $f ]] || continue
      printf '\n--- last lines of %s\n' "${f#"$WORK"/}" >&2
      tail -n 30 "$f" | redact >&2
    done
  fi
  (stop_instance) || status=1
  rm -rf "$WORK"
  exit "$status"
}
trap on_exit EXIT

# --- 1. the topology
echo "== scripts/up.sh (state in a temporary directory, every port 0)"
started=$SECONDS
status=0
up_output=$(cd "$REPO" && env -u DATABASE_URL \
  SKIP_DEPS=1 SKIP_BUILD=1 TOKENS_BUILD_DIR="$BUILD" TOKENS_STATE_DIR="$STATE" \
  TOKEN_SERVICE_LISTEN=127.0.0.1:0 TOKEN_SERVICE_METRICS_LISTEN=127.0.0.1:0 \
  TOKEN_SERVICE_HTTP_LISTEN=127.0.0.1:0 \
  TOKEN_SIDECAR_LISTEN=127.0.0.1:0 TOKEN_SIDECAR_METRICS_LISTEN=127.0.0.1:0 \
  DEMO_UPSTREAM_LISTEN=127.0.0.1:0 \
  scripts/up.sh 2>"$WORK/up.log") || status=$?
redact <"$WORK/up.log"
printf '%s\n' "$up_output" | redact
((status == 0)) || fail "scripts/up.sh exited with $status"
echo "(up.sh took $((SECONDS - started)) s)"

# The address a process logged ("listening on HOST:PORT", "metrics on http://HOST:PORT/metrics").
logged() {
  grep -oE "$2" "$STATE/logs/$1.log" | head -n1 | grep -oE '[0-9.]+:[0-9]+' || true
}
TOKEN_SERVICE=$(logged token-service 'listening on [0-9.]+:[0-9]+')
SERVICE_METRICS=$(logged token-service 'metrics on http://[0-9.]+:[0-9]+/metrics')
SIDECAR=$(logged token-sidecar 'listening on [0-9.]+:[0-9]+')
SIDECAR_METRICS=$(logged token-sidecar 'metrics on http://[0-9.]+:[0-9]+/metrics')
UPSTREAM=$(logged demo-upstream 'listening on [0-9.]+:[0-9]+')
TOKEN_SERVICE_HTTP=$(logged token-service 'HTTP face \(Connect JSON\) at http://[0-9.]+:[0-9]+')
for name in TOKEN_SERVICE SERVICE_METRICS SIDECAR SIDECAR_METRICS UPSTREAM TOKEN_SERVICE_HTTP; do
  [[ ${!name} =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]] || fail "no address for $name in the logs: '${!name}'"
  grep -qE "(export| )$name=${!name}( |$)" <<<"$up_output" ||
    fail "up.sh did not print $name=${!name} (the address in the log)"
done
echo "ok: addresses from the logs, as up.sh printed them: token-service $TOKEN_SERVICE" \
  "(metrics $SERVICE_METRICS), sidecar $SIDECAR (metrics $SIDECAR_METRICS), demo-upstream $UPSTREAM"

# The sidecar was given token-service's real address, and is ready.
sidecar_pid=$(sed -n 1p "$STATE/run/token-sidecar.pid")
tr '\0' ' ' <"/proc/$sidecar_pid/cmdline" | grep -qF -- "--token_service $TOKEN_SERVICE" ||
  fail "token-sidecar was not given --token_service $TOKEN_SERVICE"
[[ $(stat -c %a "$STATE/admin-token") == 600 ]] || fail "admin-token is not mode 600"
[[ $(curl -fsS "http://$UPSTREAM/healthz") == ok ]] || fail "demo-upstream /healthz"
grep -q 'Envoy.*not started' <<<"$up_output" || fail "up.sh does not say that Envoy is not started"
echo "ok: the sidecar dials $TOKEN_SERVICE; admin-token is mode 600; demo-upstream is healthy"

# --- 2 and 3. the walkthrough, then the checks, in one shell
printf '#!/bin/sh\nexec bash %q "$@"\n' "$HERE/grpcurl_shim.sh" >"$WORK/bin/grpcurl"
chmod +x "$WORK/bin/grpcurl"
blocks=$(awk '
  /^```(bash|sh)[[:space:]]*$/ { inside = 1; n++; printf "\n# --- walkthrough block %d\n", n; next }
  /^```/ { inside = 0; next }
  inside' "$WALKTHROUGH")
count=$(grep -c '^# --- walkthrough block' <<<"$blocks" || true)
((count >= 10)) || fail "found only $count bash blocks in docs/walkthrough.md"
{
  echo 'set -euo pipefail'
  printf 'cd %q\n' "$REPO"
  echo 'set -x'
  printf '%s\n' "$blocks"
  echo
  echo '# --- the checks'
  printf 'source %q\n' "$HERE/walkthrough_checks.sh"
} >"$WORK/session.sh"

echo
echo "== the $count bash blocks of docs/walkthrough.md, then walkthrough_checks.sh"
started=$SECONDS
set +e
(
  export PATH="$WORK/bin:$PATH" TOKENS_STATE_DIR="$STATE"
  export TOKEN_SERVICE SERVICE_METRICS SIDECAR SIDECAR_METRICS UPSTREAM TOKEN_SERVICE_HTTP
  PS4='+ ' bash "$WORK/session.sh" </dev/null 2>&1
) | redact
status=${PIPESTATUS[0]}
set -e
((status == 0)) || fail "the walkthrough or its checks failed (exit $status; see above)"
echo "(the walkthrough took $((SECONDS - started)) s)"

# --- 4. no token in any file but the admin token's own
if leaks=$(grep -rlaE --exclude=admin-token "$TOKEN_RE" "$STATE"); then
  fail "a token appears in: $leaks"
fi
echo "ok: no token in the logs or any other file of the state directory"

stop_instance
echo "PASS"
