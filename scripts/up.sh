#!/usr/bin/env bash
# One-command local start on a fresh Debian machine: the topology of
# docker-compose.yml, run natively on loopback, minus Envoy.
#   installs the dependencies, builds, starts a private PostgreSQL (unless
#   DATABASE_URL is set), applies the schema, starts token-service (and its
#   metrics), bootstraps the SERVICE user "sidecar" and starts token-sidecar
#   (and its metrics) with that identity, starts demo-upstream (the app that
#   sits behind Envoy), creates the "admin" user and prints an admin token
#   with ready-to-paste client commands. Stop everything with scripts/down.sh.
#
# Envoy is not started: Debian does not package it. Its part is shown instead
# as the commands that do what it does on every request: ask token-sidecar's
# Check, then call demo-upstream with the x-auth-* headers of the answer.
# docker-compose.yml runs the same topology with Envoy on a Docker host.
#
# Environment (every address may use port 0: the port the process picked is
# read from its ready file (--ready_file; demo-upstream, which has none: from
# the port it listens on), printed, and given to the processes that dial it):
#   DATABASE_URL                  use this database instead of the private one
#   TOKEN_SERVICE_LISTEN          token-service's gRPC address (default 127.0.0.1:50051)
#   TOKEN_SERVICE_METRICS_LISTEN  its /metrics address (default 127.0.0.1:9101)
#   TOKEN_SERVICE_HTTP_LISTEN     its HTTP face (Connect JSON; default 127.0.0.1:8080)
#   TOKEN_SIDECAR_LISTEN          token-sidecar's gRPC address (default 127.0.0.1:50052)
#   TOKEN_SIDECAR_METRICS_LISTEN  its /metrics address (default 127.0.0.1:9102)
#   DEMO_UPSTREAM_LISTEN          demo-upstream's HTTP address (default 127.0.0.1:8081)
#   TOKEN_SERVICE_TOKEN_SCOPES    the scope catalogue (default things:read,things:write,
#                                 the scopes of the demo's routes; empty: none)
#   TOKENS_STATE_DIR              where logs, pid files, the private PostgreSQL and
#                                 the admin token go (default .local); scripts/down.sh
#                                 with the same value stops this instance
#   TOKENS_BUILD_DIR              the build directory (default build)
#   SKIP_DEPS=1                   don't run scripts/install-deps.sh
#   SKIP_BUILD=1                  don't run scripts/build.sh
#
# Files (under the state directory): logs/<process>.log, run/<process>.pid,
#        run/<process>.ready (the ready file: pid and addresses),
#        admin-token (mode 600). The sidecar's SERVICE token is passed to it
#        in the environment and not written anywhere.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

TOKEN_SERVICE_BIN="$BUILD_DIR/services/token_service/token-service"
TOKEN_SIDECAR_BIN="$BUILD_DIR/sidecar/token-sidecar"
DEMO_UPSTREAM_BIN="$BUILD_DIR/examples/demo_upstream/demo-upstream"
LISTEN=${TOKEN_SERVICE_LISTEN:-127.0.0.1:50051}
METRICS_LISTEN=${TOKEN_SERVICE_METRICS_LISTEN:-127.0.0.1:9101}
HTTP_LISTEN=${TOKEN_SERVICE_HTTP_LISTEN-127.0.0.1:8080}
SIDECAR_LISTEN=${TOKEN_SIDECAR_LISTEN:-127.0.0.1:50052}
SIDECAR_METRICS_LISTEN=${TOKEN_SIDECAR_METRICS_LISTEN:-127.0.0.1:9102}
UPSTREAM_LISTEN=${DEMO_UPSTREAM_LISTEN:-127.0.0.1:8081}
SIDECAR_USER="sidecar"
READY_TIMEOUT=30
ADMIN_USER="admin"
ADMIN_TOKEN_FILE="$LOCAL_DIR/admin-token"

# The addresses clients dial (host:port, with the real port), set once each
# process is ready.
SERVICE_ADDR=""
SERVICE_METRICS_ADDR=""
SERVICE_HTTP_ADDR=""
SIDECAR_ADDR=""
SIDECAR_METRICS_ADDR=""
UPSTREAM_ADDR=""

# A path for display: relative to the repository when it is inside it.
shown() { printf '%s\n' "${1#"$REPO_ROOT"/}"; }

print_usage_examples() {
  local token=$1 expires create_body check_body http_lines
  expires=$(date -u -d '+30 days' +%F)
  create_body="{\"name\":\"QA-Test-Token\",\"expires_on\":\"$expires\"}"
  # Kept as written: the shell that pastes it expands $TOKEN.
  # shellcheck disable=SC2016
  check_body='{\"attributes\":{\"request\":{\"http\":{\"headers\":{\"authorization\":\"Bearer $TOKEN\"}}}}}'
  if [[ -n $SERVICE_HTTP_ADDR ]]; then
    http_lines="console        http://$SERVICE_HTTP_ADDR/  (the web console: sign in with the admin token below)
http           http://$SERVICE_HTTP_ADDR  (token-service's HTTP face: Connect JSON, e.g. curl)"
  else
    http_lines="console        off (TOKEN_SERVICE_HTTP_LISTEN is empty: no HTTP face)"
  fi
  cat <<EOF

token-service  grpc://$SERVICE_ADDR  (pid $(pidfile_pid token-service || echo '?'))
token-sidecar  grpc://$SIDECAR_ADDR  (pid $(pidfile_pid token-sidecar || echo '?'), Check and Authenticate)
demo-upstream  http://$UPSTREAM_ADDR  (pid $(pidfile_pid demo-upstream || echo '?'), the app behind Envoy)
$http_lines
metrics        http://$SERVICE_METRICS_ADDR/metrics  (token-service)
               http://$SIDECAR_METRICS_ADDR/metrics  (token-sidecar)
Envoy          not started: Debian does not package it (docker-compose.yml runs it
               on a Docker host); the Check and curl lines below do its part.
  logs:         $(shown "$LOG_DIR")/{token-service,token-sidecar,demo-upstream}.log
  database:     $(printf '%s' "$DATABASE_URL" | sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#')
  admin token:  $(shown "$ADMIN_TOKEN_FILE") (user "$ADMIN_USER")
  stop with:    $(down_command)

Admin token (shown once; a new one is issued on every run):
$token

Try the product flow with grpcurl (server reflection is on); docs/walkthrough.md
goes through every step, with these addresses:

export TOKEN_SERVICE=$SERVICE_ADDR SIDECAR=$SIDECAR_ADDR UPSTREAM=$UPSTREAM_ADDR
export SERVICE_METRICS=$SERVICE_METRICS_ADDR SIDECAR_METRICS=$SIDECAR_METRICS_ADDR
export TOKEN_SERVICE_HTTP=$SERVICE_HTTP_ADDR

EOF
  printf 'export TOKEN=%q\n' "$token"
  printf "grpcurl -plaintext -H \"authorization: Bearer \$TOKEN\" -d '%s' %s tokens.v1.TokenService/CreateToken\n" \
    "$create_body" "$SERVICE_ADDR"
  printf "grpcurl -plaintext -H \"authorization: Bearer \$TOKEN\" %s tokens.v1.TokenService/ListTokens\n" "$SERVICE_ADDR"
  if [[ -n $SERVICE_HTTP_ADDR ]]; then
    printf '# the same with curl, as Connect JSON on the HTTP face\n'
    printf "curl -sS -H \"authorization: Bearer \$TOKEN\" -H 'content-type: application/json' -d '{}' http://%s/tokens.v1.TokenService/ListTokens\n" \
      "$SERVICE_HTTP_ADDR"
  fi
  printf '# the sidecar: whose token is it? (the answer Envoy'"'"'s Check turns into headers)\n'
  # shellcheck disable=SC2016
  printf 'grpcurl -plaintext -d "{\\"token\\":\\"$TOKEN\\"}" %s tokens.v1.Authenticator/Authenticate\n' \
    "$SIDECAR_ADDR"
  printf '# what Envoy asks the sidecar on every request (allowed: ok_response with the x-auth-* headers)\n'
  printf 'grpcurl -plaintext -d "%s" %s envoy.service.auth.v3.Authorization/Check\n' \
    "$check_body" "$SIDECAR_ADDR"
  printf '# ... and then forwards to the app, authorization removed, the identity headers added\n'
  printf 'curl -s -H "x-auth-user-id: %s" -H "x-auth-user-role: ADMIN" -H "x-auth-token-id: <x-auth-token-id from Check>" http://%s/hello\n' \
    "$ADMIN_USER" "$UPSTREAM_ADDR"
  printf '# the checks, counted by result and reason\n'
  printf 'curl -s http://%s/metrics | grep ^token_sidecar_checks_total\n' "$SIDECAR_METRICS_ADDR"
  cat <<'EOF'

grpcurl is not packaged by Debian. buf's curl is an alternative reflection
client, from npm (apt-get install npm; then npm install -g @bufbuild/buf, or
write "npx @bufbuild/buf curl" where the lines below say "buf curl"):

EOF
  printf "buf curl --protocol grpc --http2-prior-knowledge -H \"authorization: Bearer \$TOKEN\" -d '%s' http://%s/tokens.v1.TokenService/CreateToken\n" \
    "$create_body" "$SERVICE_ADDR"
  printf "buf curl --protocol grpc --http2-prior-knowledge -H \"authorization: Bearer \$TOKEN\" http://%s/tokens.v1.TokenService/ListTokens\n" "$SERVICE_ADDR"
  # shellcheck disable=SC2016
  printf 'buf curl --protocol grpc --http2-prior-knowledge -d "{\\"token\\":\\"$TOKEN\\"}" http://%s/tokens.v1.Authenticator/Authenticate\n' \
    "$SIDECAR_ADDR"
  printf 'buf curl --protocol grpc --http2-prior-knowledge -d "%s" http://%s/envoy.service.auth.v3.Authorization/Check\n' \
    "$check_body" "$SIDECAR_ADDR"
}

# How to stop this instance: scripts/down.sh, with the state directory when
# it is not the default one.
down_command() {
  if [[ -n ${TOKENS_STATE_DIR:-} ]]; then
    printf 'TOKENS_STATE_DIR=%q scripts/down.sh\n' "$LOCAL_DIR"
  else
    printf 'scripts/down.sh\n'
  fi
}

main() {
  if [[ ${SKIP_DEPS:-0} != 1 ]]; then
    "$REPO_ROOT/scripts/install-deps.sh"
  fi
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    "$REPO_ROOT/scripts/build.sh"
  fi
  local bin
  for bin in "$TOKEN_SERVICE_BIN" "$TOKEN_SIDECAR_BIN" "$DEMO_UPSTREAM_BIN"; do
    [[ -x $bin ]] || die "$(shown "$bin") not found: did the build succeed?"
  done

  if [[ -z ${DATABASE_URL:-} ]]; then
    "$REPO_ROOT/scripts/pg.sh" start
    DATABASE_URL=$("$REPO_ROOT/scripts/pg.sh" url)
  else
    log "using DATABASE_URL from the environment"
  fi

  # token-service reads the URL from the environment: on a command line a
  # password in it would be visible to every local user.
  export DATABASE_URL
  export TOKEN_SERVICE_TOKEN_SCOPES=${TOKEN_SERVICE_TOKEN_SCOPES-things:read,things:write}
  log "applying the schema"
  "$TOKEN_SERVICE_BIN" migrate

  start_process token-service ready-file "$READY_TIMEOUT" \
    "$TOKEN_SERVICE_BIN" --listen "$LISTEN" --metrics_listen "$METRICS_LISTEN" \
    --http_listen "$HTTP_LISTEN"
  SERVICE_ADDR=$(process_address token-service)
  SERVICE_METRICS_ADDR=$(process_address token-service metrics)
  if [[ -n $HTTP_LISTEN ]]; then
    SERVICE_HTTP_ADDR=$(process_address token-service http)
  fi

  # The sidecar runs as a SERVICE user; its token goes to it through the
  # environment only (command lines are visible to every local user).
  log "bootstrapping service user \"$SIDECAR_USER\" for token-sidecar"
  local service_token
  service_token=$("$TOKEN_SERVICE_BIN" bootstrap-service --user "$SIDECAR_USER" |
    sed '/^[[:space:]]*$/d')
  [[ -n $service_token ]] || die "bootstrap-service printed no token"
  # Ready once it has its first snapshot (health SERVING).
  TOKEN_SIDECAR_SERVICE_TOKEN=$service_token start_process token-sidecar ready-file \
    "$READY_TIMEOUT" "$TOKEN_SIDECAR_BIN" --listen "$SIDECAR_LISTEN" \
    --metrics_listen "$SIDECAR_METRICS_LISTEN" --token_service "$SERVICE_ADDR"
  unset service_token
  SIDECAR_ADDR=$(process_address token-sidecar)
  SIDECAR_METRICS_ADDR=$(process_address token-sidecar metrics)

  # Behind Envoy in docker-compose.yml; here it is called directly, with the
  # headers Envoy would forward.
  start_process demo-upstream port "$READY_TIMEOUT" \
    "$DEMO_UPSTREAM_BIN" --listen "$UPSTREAM_LISTEN"
  UPSTREAM_ADDR=$(process_address demo-upstream)
  # scripts/down.sh stops every process that has a pid file in the run
  # directory, newest first.

  log "bootstrapping admin user \"$ADMIN_USER\""
  local output token
  output=$("$TOKEN_SERVICE_BIN" bootstrap-admin --user "$ADMIN_USER")
  token=$(printf '%s\n' "$output" | sed '/^[[:space:]]*$/d')
  if [[ -z $token || $(printf '%s\n' "$token" | wc -l) -ne 1 ]]; then
    die "bootstrap-admin should print exactly one token line on stdout; it printed: $output"
  fi
  (umask 077 && printf '%s\n' "$token" >"$ADMIN_TOKEN_FILE")
  chmod 600 "$ADMIN_TOKEN_FILE"

  print_usage_examples "$token"
}

main "$@"
