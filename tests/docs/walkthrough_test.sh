#!/usr/bin/env bash
# The end-to-end test of the native topology, driven by the documentation:
#
#   1. scripts/up.sh starts everything (private PostgreSQL, token-service,
#      token-sidecar, demo-upstream) in a private state directory, every
#      address on 127.0.0.1:0, so it collides neither with a developer's
#      instance nor with parallel tests; the real addresses come from the
#      processes' logs and must match the ones up.sh printed, as must the
#      console's URL (tests/support/up_instance.sh).
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

(($# == 1)) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$HERE/../.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)
WALKTHROUGH="$REPO/docs/walkthrough.md"

# shellcheck source=tests/support/up_instance.sh
source "$REPO/tests/support/up_instance.sh"

for tool in buf jq curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: scripts/install-deps.sh installs it"
done
mkdir -p "$WORK/bin"

# --- 1. the topology
instance_start "$BUILD"
up_output=$UP_OUTPUT
grep -qE "^console +http://$TOKEN_SERVICE_HTTP/ " <<<"$up_output" ||
  fail "up.sh does not print the console's URL http://$TOKEN_SERVICE_HTTP/"

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
instance_expect_no_token_in_files

instance_stop
echo "PASS"
