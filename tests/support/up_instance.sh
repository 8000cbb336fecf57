# shellcheck shell=bash
# One native instance of the whole system for the shell tests
# (tests/docs/walkthrough_test.sh, tests/http_face/connect_curl_test.sh):
# scripts/up.sh from a build tree in a private state directory, every address
# 127.0.0.1:0, so it collides neither with a developer's instance nor with
# parallel tests. Source it; don't run it.
#
#   instance_start BUILD_DIR  runs up.sh (its output in UP_OUTPUT, tokens
#                             redacted when printed) and sets the addresses
#                             the processes logged: TOKEN_SERVICE,
#                             SERVICE_METRICS, TOKEN_SERVICE_HTTP, SIDECAR,
#                             SIDECAR_METRICS, UPSTREAM; each must be the one
#                             up.sh printed.
#   instance_stop             scripts/down.sh (once), then checks that no
#                             process of the instance is left.
#   instance_expect_no_token_in_files
#                             fails if a file of the state directory but
#                             the admin token's holds a token.
# On exit (an EXIT trap), a failed test prints the last lines of every log;
# the instance is stopped and WORK (the temporary directory: STATE, the state
# directory, is inside it) removed either way.
#
# fail MESSAGE exits 1; redact hides tokens in what it copies.

TOKEN_RE='utk_[0-9A-Za-z]{39}'
INSTANCE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  exit 1
}

# Anything a test prints passes through here: tokens never reach the output.
redact() { sed -E "s/$TOKEN_RE/utk_<redacted>/g"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokens-instance.XXXXXX")
# As root, pg.sh runs PostgreSQL as the postgres user, who must reach the
# state directory to keep its cluster inside it.
chmod 0755 "$WORK"
STATE="$WORK/state"
instance_stopped=0

# pids of the processes up.sh started, from its pid files.
instance_pids() {
  local f
  for f in "$STATE"/run/*.pid; do
    [[ -f $f ]] && sed -n 1p "$f"
  done
}

instance_stop() {
  ((instance_stopped == 0)) || return 0
  instance_stopped=1
  local pids pid left=()
  mapfile -t pids < <(instance_pids)
  if ! TOKENS_STATE_DIR="$STATE" "$INSTANCE_REPO/scripts/down.sh" >"$WORK/down.log" 2>&1; then
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
  TOKENS_STATE_DIR="$STATE" "$INSTANCE_REPO/scripts/pg.sh" status >/dev/null 2>&1 || status=$?
  ((status == 3)) || fail "scripts/pg.sh status says PostgreSQL still runs (exit $status)"
  echo "ok: scripts/down.sh stopped everything (pids ${pids[*]:-none} and PostgreSQL)"
}

instance_on_exit() {
  local status=$?
  if ((status != 0)); then
    local f
    for f in "$STATE"/logs/*.log; do
      [[ -f $f ]] || continue
      printf '\n--- last lines of %s\n' "${f#"$WORK"/}" >&2
      tail -n 30 "$f" | redact >&2
    done
  fi
  (instance_stop) || status=1
  rm -rf "$WORK"
  exit "$status"
}
trap instance_on_exit EXIT

# The address a process logged ("listening on HOST:PORT", "metrics on http://HOST:PORT/metrics").
instance_logged() {
  grep -oE "$2" "$STATE/logs/$1.log" | head -n1 | grep -oE '[0-9.]+:[0-9]+' || true
}

instance_start() {
  local build=$1 started=$SECONDS status=0 name
  echo "== scripts/up.sh (state in a temporary directory, every port 0)"
  UP_OUTPUT=$(cd "$INSTANCE_REPO" && env -u DATABASE_URL \
    SKIP_DEPS=1 SKIP_BUILD=1 TOKENS_BUILD_DIR="$build" TOKENS_STATE_DIR="$STATE" \
    TOKEN_SERVICE_LISTEN=127.0.0.1:0 TOKEN_SERVICE_METRICS_LISTEN=127.0.0.1:0 \
    TOKEN_SERVICE_HTTP_LISTEN=127.0.0.1:0 \
    TOKEN_SIDECAR_LISTEN=127.0.0.1:0 TOKEN_SIDECAR_METRICS_LISTEN=127.0.0.1:0 \
    DEMO_UPSTREAM_LISTEN=127.0.0.1:0 \
    scripts/up.sh 2>"$WORK/up.log") || status=$?
  redact <"$WORK/up.log"
  printf '%s\n' "$UP_OUTPUT" | redact
  ((status == 0)) || fail "scripts/up.sh exited with $status"
  echo "(up.sh took $((SECONDS - started)) s)"

  TOKEN_SERVICE=$(instance_logged token-service 'listening on [0-9.]+:[0-9]+')
  SERVICE_METRICS=$(instance_logged token-service 'metrics on http://[0-9.]+:[0-9]+/metrics')
  SIDECAR=$(instance_logged token-sidecar 'listening on [0-9.]+:[0-9]+')
  SIDECAR_METRICS=$(instance_logged token-sidecar 'metrics on http://[0-9.]+:[0-9]+/metrics')
  UPSTREAM=$(instance_logged demo-upstream 'listening on [0-9.]+:[0-9]+')
  TOKEN_SERVICE_HTTP=$(instance_logged token-service 'HTTP face \(Connect JSON\) at http://[0-9.]+:[0-9]+')
  for name in TOKEN_SERVICE SERVICE_METRICS SIDECAR SIDECAR_METRICS UPSTREAM TOKEN_SERVICE_HTTP; do
    [[ ${!name} =~ ^127\.0\.0\.1:[1-9][0-9]*$ ]] || fail "no address for $name in the logs: '${!name}'"
    grep -qE "(export| )$name=${!name}( |$)" <<<"$UP_OUTPUT" ||
      fail "up.sh did not print $name=${!name} (the address in the log)"
  done
  echo "ok: addresses from the logs, as up.sh printed them: token-service $TOKEN_SERVICE" \
    "(metrics $SERVICE_METRICS, HTTP $TOKEN_SERVICE_HTTP), sidecar $SIDECAR" \
    "(metrics $SIDECAR_METRICS), demo-upstream $UPSTREAM"
}

instance_expect_no_token_in_files() {
  local leaks
  if leaks=$(grep -rlaE --exclude=admin-token "$TOKEN_RE" "$STATE"); then
    fail "a token appears in: $leaks"
  fi
  echo "ok: no token in the logs or any other file of the state directory"
}
