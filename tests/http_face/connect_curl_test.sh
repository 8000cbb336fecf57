#!/usr/bin/env bash
# shellcheck disable=SC2016 # the jq filters name the variables bound by --arg
# token-service's HTTP face (Connect-protocol unary JSON on --http_listen)
# driven by an outside client, curl, against the real binaries and a real
# PostgreSQL started by scripts/up.sh (tests/support/up_instance.sh: a
# private state directory, every port 0). Each case asserts the HTTP
# status, Connect's error `code` and the message or field with jq, and the
# headers every answer must carry:
#
#   success             CreateToken, then ListTokens lists it ACTIVE
#   validation          invalid_argument (400) with a google.rpc.BadRequest
#                       naming the field (expires_on, name)
#   unauthenticated     no bearer, a bearer that is no token (401)
#   permission denied   a USER calling UserService/ListUsers (403)
#   unknown method      404 and `unimplemented`, also for TokenSync's methods
#   malformed JSON      400 invalid_argument, also an unknown field
#   oversized body      over 64 KiB: 429 resource_exhausted
#   media type          415 for a body that is not application/json
#   headers             Content-Security-Policy, Referrer-Policy: no-referrer,
#                       Cache-Control: no-store on JSON answers, no CORS
#                       header on a cross-origin request or a preflight
#
# usage: connect_curl_test.sh BUILD_DIR
# Needs jq and curl (scripts/install-deps.sh installs them): a missing one is
# a failure, not a skip.
set -euo pipefail

(($# == 1)) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BUILD=$(cd "$1" && pwd -P)

# shellcheck source=tests/support/up_instance.sh
source "$REPO/tests/support/up_instance.sh"

for tool in jq curl; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found: scripts/install-deps.sh installs it"
done

instance_start "$BUILD"
ADMIN=$(cat "$STATE/admin-token")
BASE="http://$TOKEN_SERVICE_HTTP"
RESPONSE="$WORK/response"  # the last answer: headers, body (outside the state directory)
TOMORROW=$(date -u -d '+1 day' +%F)
EXPIRES=$(date -u -d '+30 days' +%F)

passed() { printf 'ok: %s\n' "$*"; }

# request [curl options...] URL: one request; sets STATUS and BODY, and
# keeps the headers for header(). A transport failure fails the test.
request() {
  STATUS=$(curl -sS -o "$RESPONSE.body" -D "$RESPONSE.headers" -w '%{http_code}' "$@") ||
    fail "curl failed: $*"
  BODY=$(cat "$RESPONSE.body")
}

# call METHOD_PATH JSON [TOKEN [curl options...]]: POST JSON to
# $BASE/METHOD_PATH as Connect unary JSON, with the bearer TOKEN unless it
# is empty.
call() {
  local path=$1 json=$2 token=${3:-}
  shift $(($# < 3 ? $# : 3))
  local auth=()
  [[ -z $token ]] || auth=(-H "Authorization: Bearer $token")
  request -X POST -H 'Content-Type: application/json' "${auth[@]}" "$@" --data-binary "$json" \
    "$BASE/$path"
}

# header NAME: the last answer's header NAME ("" if absent); every_header
# NAME: all of its lines' names, lower case.
header() {
  tr -d '\r' <"$RESPONSE.headers" |
    awk -v name="$(tr '[:upper:]' '[:lower:]' <<<"$1")" '
      { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == name) v = substr($0, i + 2) }
      END { print v }'
}
header_names() { tr -d '\r' <"$RESPONSE.headers" | sed -n 's/^\([^: ]*\):.*/\1/p' | tr '[:upper:]' '[:lower:]'; }

# Where a check fails: what was asked and answered (tokens redacted).
answer() { printf 'HTTP %s, body %s' "$STATUS" "$BODY" | redact; }

expect_status() {
  [[ $STATUS == "$1" ]] || fail "$2: expected HTTP $1, got $(answer)"
}
# expect_json FILTER WHAT [jq options...]: the last body passes jq -e FILTER.
expect_json() {
  local filter=$1 what=$2
  shift 2
  jq -e "$@" "$filter" >/dev/null 2>&1 <<<"$BODY" || fail "$what: not ($filter): $(answer)"
}
# expect_error STATUS CODE WHAT: Connect's error JSON with CODE and a message.
expect_error() {
  expect_status "$1" "$3"
  expect_json '(.code == $code) and (.message | type == "string" and length > 0)' "$3" --arg code "$2"
  [[ $(header Content-Type) == application/json* ]] || fail "$3: Content-Type $(header Content-Type)"
}
# expect_bad_request FIELD WHAT: the error names FIELD in a google.rpc.BadRequest
# (its bytes in `value`, and as JSON in `debug`).
expect_bad_request() {
  expect_json '[.details[] | select(.type == "google.rpc.BadRequest")] | length == 1 and
    (.[0].value | length > 0) and
    ([.[0].debug.fieldViolations[] | select(.field == $field and (.description | length > 0))] | length == 1)' \
    "$2" --arg field "$1"
}
# The headers of every JSON answer: never cached (a CreateToken answer holds a
# secret), the strict policy, no referrer, no CORS.
expect_json_answer_headers() {
  [[ $(header Cache-Control) == no-store ]] || fail "$1: Cache-Control '$(header Cache-Control)'"
  expect_safe_headers "$1"
}
expect_safe_headers() {
  local csp
  csp=$(header Content-Security-Policy)
  for directive in "default-src 'none'" "script-src 'self'" "frame-ancestors 'none'" \
    "object-src 'none'" "base-uri 'none'"; do
    [[ "; $csp;" == *"; $directive;"* ]] || fail "$1: Content-Security-Policy without $directive: '$csp'"
  done
  [[ $csp != *unsafe-inline* && $csp != *unsafe-eval* ]] || fail "$1: CSP allows inline code: '$csp'"
  [[ $(header Referrer-Policy) == no-referrer ]] || fail "$1: Referrer-Policy '$(header Referrer-Policy)'"
  [[ $(header X-Content-Type-Options) == nosniff ]] || fail "$1: X-Content-Type-Options"
  if header_names | grep -q '^access-control-'; then
    fail "$1: a CORS header: $(header_names | grep '^access-control-' | tr '\n' ' ')"
  fi
  if header_names | grep -qx 'set-cookie'; then fail "$1: a cookie was set"; fi
}

echo
echo "== the HTTP face at $BASE"

# --- success: CreateToken, then ListTokens
call tokens.v1.TokenService/CreateToken "{\"name\":\"curl-success\",\"expiresOn\":\"$EXPIRES\"}" "$ADMIN"
expect_status 200 CreateToken
[[ $(header Content-Type) == application/json* ]] || fail "CreateToken: Content-Type $(header Content-Type)"
expect_json_answer_headers CreateToken
expect_json '(.secret | test("^utk_[0-9A-Za-z]{39}$")) and .token.name == "curl-success" and
  .token.status == "ACTIVE" and .token.expiresOn == $expires and .token.userId == "admin"' \
  CreateToken --arg expires "$EXPIRES"
created_id=$(jq -r .token.id <<<"$BODY")
call tokens.v1.TokenService/ListTokens '{"nameContains":"curl-success"}' "$ADMIN"
expect_status 200 ListTokens
expect_json_answer_headers ListTokens
expect_json '[.tokens[] | [.id, .name, .status]] == [[$id, "curl-success", "ACTIVE"]] and (has("secret") | not)' \
  ListTokens --arg id "$created_id"
# Snake case is accepted in requests too, and an empty body is the empty message.
call tokens.v1.TokenService/ListTokens '{"name_contains":"curl-success","page_size":1}' "$ADMIN"
expect_json '[.tokens[].id] == [$id]' "ListTokens (snake_case)" --arg id "$created_id"
call tokens.v1.TokenService/GetProfile '' "$ADMIN"
expect_status 200 "GetProfile (empty body)"
expect_json '.userId == "admin" and .role == "ADMIN"' "GetProfile (empty body)"
passed "CreateToken answered 200 with a secret; ListTokens lists the token ACTIVE, without it"

# --- validation errors, with the field
call tokens.v1.TokenService/CreateToken "{\"name\":\"curl-today\",\"expiresOn\":\"$(date -u +%F)\"}" "$ADMIN"
expect_error 400 invalid_argument "CreateToken expiring today"
expect_bad_request expires_on "CreateToken expiring today"
expect_json_answer_headers "CreateToken expiring today"
call tokens.v1.TokenService/CreateToken "{\"name\":\"   \",\"expiresOn\":\"$TOMORROW\"}" "$ADMIN"
expect_error 400 invalid_argument "CreateToken with a blank name"
expect_bad_request name "CreateToken with a blank name"
passed "validation: 400 invalid_argument with a BadRequest naming expires_on, name"

# --- unauthenticated
call tokens.v1.TokenService/ListTokens '{}'
expect_error 401 unauthenticated "ListTokens without a bearer"
expect_json_answer_headers "ListTokens without a bearer"
call tokens.v1.TokenService/ListTokens '{}' not-a-token
expect_error 401 unauthenticated "ListTokens with a bearer that is no token"
call tokens.v1.TokenService/ListTokens '{}' '' -H 'Cookie: token=whatever'
expect_error 401 unauthenticated "ListTokens with a cookie only"
passed "unauthenticated: 401 without a bearer, with a malformed one, with a cookie only"

# --- permission denied: a USER calling an admin's method
call tokens.v1.UserService/CreateUser \
  '{"userId":"curl-user","displayName":"Curl User","email":"curl-user@example.com","role":"USER"}' "$ADMIN"
expect_status 200 CreateUser
call tokens.v1.TokenService/CreateToken \
  "{\"name\":\"curl-user-token\",\"expiresOn\":\"$EXPIRES\",\"userId\":\"curl-user\"}" "$ADMIN"
expect_status 200 "CreateToken for curl-user"
user_token=$(jq -r .secret <<<"$BODY")
call tokens.v1.UserService/ListUsers '{}' "$user_token"
expect_error 403 permission_denied "ListUsers by a USER"
expect_json_answer_headers "ListUsers by a USER"
call tokens.v1.TokenService/GetProfile '{}' "$user_token"
expect_status 200 "GetProfile by the USER"
expect_json '.userId == "curl-user" and .role == "USER"' "GetProfile by the USER"
passed "permission denied: 403 permission_denied for a USER's ListUsers (its own profile: 200)"

# --- unknown methods: 404 and unimplemented
for path in tokens.v1.TokenService/NoSuchMethod tokens.v1.NoSuchService/ListTokens \
  tokens.v1.TokenSync/SyncTokens tokens.v1.TokenSync/LookupToken grpc.health.v1.Health/Check; do
  call "$path" '{}' "$ADMIN"
  expect_error 404 unimplemented "POST /$path"
done
expect_json_answer_headers "an unknown method"
passed "unknown methods (and TokenSync, health): 404 unimplemented"

# --- malformed JSON
call tokens.v1.TokenService/ListTokens '{"allUsers":' "$ADMIN"
expect_error 400 invalid_argument "a truncated JSON body"
expect_json '.message | test("not JSON of tokens.v1.ListTokensRequest")' "a truncated JSON body"
expect_json_answer_headers "a truncated JSON body"
call tokens.v1.TokenService/ListTokens '{"allUsers":true,"noSuchField":1}' "$ADMIN"
expect_error 400 invalid_argument "an unknown field"
call tokens.v1.TokenService/ListTokens '{"pageSize":"many"}' "$ADMIN"
expect_error 400 invalid_argument "a string for a number"
call tokens.v1.TokenService/ListTokens '[]' "$ADMIN"
expect_error 400 invalid_argument "an array for the message"
passed "malformed JSON, an unknown field, a wrong type: 400 invalid_argument"

# --- an oversized body: over 64 KiB
big_name=$(head -c $((64 * 1024 + 1)) /dev/zero | tr '\0' 'a')
call tokens.v1.TokenService/CreateToken "{\"name\":\"$big_name\",\"expiresOn\":\"$TOMORROW\"}" "$ADMIN"
expect_error 429 resource_exhausted "a body over 64 KiB"
expect_json '.message | test("larger than 65536 bytes")' "a body over 64 KiB"
expect_json_answer_headers "a body over 64 KiB"
# Just under the limit is read and judged by the service: a name too long.
under=$((64 * 1024 - 64))
long_name=$(head -c "$under" /dev/zero | tr '\0' 'a')
call tokens.v1.TokenService/CreateToken "{\"name\":\"$long_name\",\"expiresOn\":\"$TOMORROW\"}" "$ADMIN"
expect_error 400 invalid_argument "a body just under 64 KiB"
expect_bad_request name "a body just under 64 KiB"
passed "a body over 64 KiB: 429 resource_exhausted; one under it reaches validation"

# --- other media types
call tokens.v1.TokenService/ListTokens '{}' "$ADMIN" -H 'Content-Type: application/proto'
expect_error 415 unimplemented "Content-Type application/proto"
[[ $(header Accept-Post) == application/json ]] || fail "415 without Accept-Post: application/json"
expect_safe_headers "Content-Type application/proto"
passed "another Content-Type: 415"

# --- CORS: none, whatever the origin asks
call tokens.v1.TokenService/ListTokens '{}' "$ADMIN" -H 'Origin: https://elsewhere.example'
expect_status 200 "a cross-origin POST"
expect_json_answer_headers "a cross-origin POST"
request -X OPTIONS -H 'Origin: https://elsewhere.example' -H 'Access-Control-Request-Method: POST' \
  -H 'Access-Control-Request-Headers: authorization, content-type' "$BASE/tokens.v1.TokenService/ListTokens"
expect_status 405 "a CORS preflight"
expect_safe_headers "a CORS preflight"
passed "no CORS: a cross-origin call gets no Access-Control-* header, a preflight 405"

# --- the console's page, under the same policy
request -H 'Origin: https://elsewhere.example' "$BASE/"
expect_status 200 "GET /"
[[ $(header Content-Type) == text/html* ]] || fail "GET /: Content-Type $(header Content-Type)"
expect_safe_headers "GET /"
passed "GET / serves the console under the same Content-Security-Policy and Referrer-Policy"

instance_expect_no_token_in_files
instance_stop
echo "PASS"
