#!/usr/bin/env bash
# One-command local start on a fresh Debian machine:
#   installs the dependencies, builds, starts a private PostgreSQL (unless
#   DATABASE_URL is set), applies the schema, starts token-service and
#   token-sidecar in the background, creates the "admin" user and prints an
#   admin token with ready-to-paste client commands. Stop everything with
#   scripts/down.sh.
#
# Environment:
#   DATABASE_URL           use this database instead of the private one
#   TOKEN_SERVICE_LISTEN   token-service's address (default 127.0.0.1:50051)
#   TOKEN_SIDECAR_LISTEN   token-sidecar's address (default 127.0.0.1:50052)
#   SKIP_DEPS=1            don't run scripts/install-deps.sh
#   SKIP_BUILD=1           don't run scripts/build.sh
#
# Files: .local/logs/<process>.log, .local/run/<process>.pid,
#        .local/admin-token (mode 600). The sidecar's SERVICE token is
#        passed to it in the environment and not written anywhere.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

TOKEN_SERVICE="$REPO_ROOT/build/services/token_service/token-service"
TOKEN_SIDECAR="$REPO_ROOT/build/sidecar/token-sidecar"
LISTEN=${TOKEN_SERVICE_LISTEN:-127.0.0.1:50051}
SIDECAR_LISTEN=${TOKEN_SIDECAR_LISTEN:-127.0.0.1:50052}
SIDECAR_USER="sidecar"
READY_TIMEOUT=30
ADMIN_USER="admin"
ADMIN_TOKEN_FILE="$LOCAL_DIR/admin-token"

# The address clients dial: a wildcard listen host becomes loopback.
client_address() {
  local addr=$1 host port
  port=${addr##*:}
  host=${addr%:*}
  case $host in
    "" | 0.0.0.0 | "*") host=127.0.0.1 ;;
    "[::]" | "::") host="[::1]" ;;
  esac
  printf '%s:%s\n' "$host" "$port"
}

print_usage_examples() {
  local token=$1 addr expires create_body
  addr=$(client_address "$LISTEN")
  expires=$(date -u -d '+30 days' +%F)
  create_body="{\"name\":\"QA-Test-Token\",\"expires_on\":\"$expires\"}"
  cat <<EOF

token-service is listening on $LISTEN (pid $(pidfile_pid token-service || echo '?'))
token-sidecar is listening on $SIDECAR_LISTEN (pid $(pidfile_pid token-sidecar || echo '?'))
  logs:         ${LOG_DIR#"$REPO_ROOT"/}/token-service.log, token-sidecar.log
  database:     $(printf '%s' "$DATABASE_URL" | sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#')
  admin token:  ${ADMIN_TOKEN_FILE#"$REPO_ROOT"/} (user "$ADMIN_USER")
  stop with:    scripts/down.sh

Admin token (shown once; a new one is issued on every run):
$token

Try the product flow with grpcurl (server reflection is on):

EOF
  printf 'export TOKEN=%q\n' "$token"
  printf "grpcurl -plaintext -H \"authorization: Bearer \$TOKEN\" -d '%s' %s tokens.v1.TokenService/CreateToken\n" \
    "$create_body" "$addr"
  printf "grpcurl -plaintext -H \"authorization: Bearer \$TOKEN\" %s tokens.v1.TokenService/ListTokens\n" "$addr"
  printf '# the sidecar: whose token is it? (the answer Envoy'"'"'s Check turns into headers)\n'
  printf 'grpcurl -plaintext -d "{\\"token\\":\\"$TOKEN\\"}" %s tokens.v1.Authenticator/Authenticate\n' \
    "$(client_address "$SIDECAR_LISTEN")"
  cat <<'EOF'

grpcurl is not packaged by Debian. buf's curl is an alternative reflection
client, from npm (apt-get install npm; then npm install -g @bufbuild/buf, or
write "npx @bufbuild/buf curl" where the lines below say "buf curl"):

EOF
  printf "buf curl --protocol grpc --http2-prior-knowledge -H \"authorization: Bearer \$TOKEN\" -d '%s' http://%s/tokens.v1.TokenService/CreateToken\n" \
    "$create_body" "$addr"
  printf "buf curl --protocol grpc --http2-prior-knowledge -H \"authorization: Bearer \$TOKEN\" http://%s/tokens.v1.TokenService/ListTokens\n" "$addr"
  printf 'buf curl --protocol grpc --http2-prior-knowledge -d "{\\"token\\":\\"$TOKEN\\"}" http://%s/tokens.v1.Authenticator/Authenticate\n' \
    "$(client_address "$SIDECAR_LISTEN")"
}

main() {
  if [[ ${SKIP_DEPS:-0} != 1 ]]; then
    "$REPO_ROOT/scripts/install-deps.sh"
  fi
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    "$REPO_ROOT/scripts/build.sh"
  fi
  [[ -x $TOKEN_SERVICE ]] || die "${TOKEN_SERVICE#"$REPO_ROOT"/} not found: did the build succeed?"
  [[ -x $TOKEN_SIDECAR ]] || die "${TOKEN_SIDECAR#"$REPO_ROOT"/} not found: did the build succeed?"

  if [[ -z ${DATABASE_URL:-} ]]; then
    "$REPO_ROOT/scripts/pg.sh" start
    DATABASE_URL=$("$REPO_ROOT/scripts/pg.sh" url)
  else
    log "using DATABASE_URL from the environment"
  fi

  # token-service reads the URL from the environment: on a command line a
  # password in it would be visible to every local user.
  export DATABASE_URL
  log "applying the schema"
  "$TOKEN_SERVICE" migrate

  start_process token-service "listening on" "$READY_TIMEOUT" \
    "$TOKEN_SERVICE" --listen "$LISTEN"

  # The sidecar runs as a SERVICE user; its token goes to it through the
  # environment only (command lines are visible to every local user).
  log "bootstrapping service user \"$SIDECAR_USER\" for token-sidecar"
  local service_token
  service_token=$("$TOKEN_SERVICE" bootstrap-service --user "$SIDECAR_USER" |
    sed '/^[[:space:]]*$/d')
  [[ -n $service_token ]] || die "bootstrap-service printed no token"
  TOKEN_SIDECAR_SERVICE_TOKEN=$service_token start_process token-sidecar "ready: health is SERVING" \
    "$READY_TIMEOUT" "$TOKEN_SIDECAR" --listen "$SIDECAR_LISTEN" \
    --token_service "$(client_address "$LISTEN")"
  unset service_token
  # scripts/down.sh stops every process that has a pid file in .local/run.

  log "bootstrapping admin user \"$ADMIN_USER\""
  local output token
  output=$("$TOKEN_SERVICE" bootstrap-admin --user "$ADMIN_USER")
  token=$(printf '%s\n' "$output" | sed '/^[[:space:]]*$/d')
  if [[ -z $token || $(printf '%s\n' "$token" | wc -l) -ne 1 ]]; then
    die "bootstrap-admin should print exactly one token line on stdout; it printed: $output"
  fi
  (umask 077 && printf '%s\n' "$token" >"$ADMIN_TOKEN_FILE")
  chmod 600 "$ADMIN_TOKEN_FILE"

  print_usage_examples "$token"
}

main "$@"
