# shellcheck shell=bash disable=SC2016 # jq filters name the variables bound by --arg
# The walkthrough test's checks, run in the same shell as docs/walkthrough.md's
# blocks, right after them: they read the variables the walkthrough set
# (TOKEN, TOKEN_ID, SECRET, NEW_ID, NEW_SECRET, CHECK, the CURL_* answers of
# the curl forms and the addresses) and call the same servers. Sourced; never
# prints a token.
#
# Revocation reaches the sidecar through token-service's change feed, a
# moment after RevokeToken answers, so the denials are polled for (bounded by
# a deadline), never waited for with a fixed sleep.

set +x
check_failed() {
  printf 'CHECK FAILED: %s\n' "$*" >&2
  exit 1
}
passed() { printf 'ok: %s\n' "$*"; }

token_pattern='^utk_[0-9A-Za-z]{39}$'

# check_request SECRET: the CheckRequest Envoy would send with "authorization: Bearer SECRET".
check_request() {
  jq -cn --arg auth "Bearer $1" '{attributes: {request: {http: {headers: {authorization: $auth}}}}}'
}

# metric NAME_WITH_LABELS METRICS_ADDRESS: the sample's value, 0 when absent.
metric() {
  curl -fsS "http://$2/metrics" | awk -v name="$1" '$1 == name { v = $2 } END { print v + 0 }'
}

# --- what the walkthrough created
[[ $SECRET =~ $token_pattern ]] || check_failed "the created token's secret is not a token"
[[ $NEW_SECRET =~ $token_pattern ]] || check_failed "the rotated token's secret is not a token"
[[ $SECRET != "$NEW_SECRET" ]] || check_failed "RotateToken returned the same secret"
[[ -n $TOKEN_ID && -n $NEW_ID && $TOKEN_ID != "$NEW_ID" ]] || check_failed "token ids: '$TOKEN_ID' '$NEW_ID'"
admin_id=$(grpcurl -plaintext -H "authorization: Bearer $TOKEN" \
  "$TOKEN_SERVICE" tokens.v1.TokenService/GetProfile | jq -r .userId)
[[ $admin_id == admin ]] || check_failed "GetProfile of the admin token: '$admin_id'"
passed "CreateToken and RotateToken returned secrets and ids"

# --- the curl forms: every answer the walkthrough kept, as it should be
# expect_json NAME FILTER: the JSON in $NAME passes jq -e FILTER (with
# $admin, $id, $new_id, $expires, $token_id bound).
expect_json() {
  jq -e --arg admin "$admin_id" --arg id "$CURL_ID" --arg new_id "$CURL_NEW_ID" \
    --arg expires "$EXPIRES" --arg token_id "$TOKEN_ID" "$2" >/dev/null <<<"${!1}" ||
    check_failed "\$$1 is not as expected ($2): ${!1}"
}
# expect_error NAME CODE [FIELD]: $NAME is Connect's error CODE (with a
# google.rpc.BadRequest naming FIELD, when given).
expect_error() {
  expect_json "$1" "(.code == \"$2\") and (.message | length > 0)"
  if (($# == 3)); then
    expect_json "$1" "[.details[] | select(.type == \"google.rpc.BadRequest\")
      | .value != \"\" and (.debug.fieldViolations[] | .field == \"$3\" and (.description | length > 0))]
      | any"
  fi
}
[[ $CURL_CONSOLE == "200 text/html"* ]] || check_failed "GET / of the HTTP face: $CURL_CONSOLE"
expect_json CURL_ALL '[.tokens[].userId] | index($admin) and index("sidecar")'
expect_json CURL_PROFILE '.userId == $admin and .role == "ADMIN"'
expect_json CURL_OWN '(.tokens | length > 0) and all(.tokens[]; .userId == $admin)'
expect_error CURL_REFUSED invalid_argument expires_on
[[ $CURL_SECRET =~ $token_pattern ]] || check_failed "the token created with curl has no secret"
[[ $CURL_SECRET != "$SECRET" && -n $CURL_ID && $CURL_ID != "$TOKEN_ID" ]] ||
  check_failed "CreateToken over curl returned the grpcurl token's id or secret"
# Listed as Active, with the expiry asked for and a hint of its secret
# (prefix and first 4 random characters, last 4 characters).
hint="${CURL_SECRET:0:8}…${CURL_SECRET: -4}"
expect_json CURL_LISTED "[.tokens[] | select(.id == \$id)] | length == 1 and (.[0] | .name == \"QA-Curl-Token\"
  and .status == \"ACTIVE\" and .expiresOn == \$expires and .hint == \"$hint\")"
expect_json CURL_GOT '.id == $id and .name == "QA-Curl-Token" and .status == "ACTIVE"'
expect_json CURL_FILTERED '[.tokens[].name] == ["QA-Curl-Token"]'
expect_json CURL_PAGE1 '(.tokens | length == 2) and (.nextPageToken | length > 0)'
expect_json CURL_PAGE2 '.tokens | length >= 1'
[[ -z $(printf '%s\n' "$CURL_PAGE1" "$CURL_PAGE2" | jq -r '.tokens[].id' | sort | uniq -d) ]] ||
  check_failed "the second page repeats a token of the first"
[[ $CURL_WHO == "$admin_id" ]] || check_failed "GetProfile with the curl-made token: '$CURL_WHO'"
[[ $CURL_NEW_SECRET =~ $token_pattern && $CURL_NEW_SECRET != "$CURL_SECRET" ]] ||
  check_failed "RotateToken over curl returned no new secret"
[[ -n $CURL_NEW_ID && $CURL_NEW_ID != "$CURL_ID" ]] || check_failed "RotateToken over curl: id '$CURL_NEW_ID'"
expect_json CURL_OLD '.id == $id and .status == "REVOKED"'
expect_json CURL_REVOKED '.id == $new_id and .status == "REVOKED" and (.revokedAt | length > 0)'
expect_json CURL_EVENTS '[.events[] | select(.kind == "TOKEN_ROTATED" and .tokenId == $new_id
  and .previousTokenId == $id)] | length == 1'
expect_json CURL_EVENTS '[.events[] | select(.kind == "TOKEN_REVOKED" and .tokenId == $new_id)] | length == 1'
# --- expiry in band, and scopes
jq -e --arg e "$EXPIRES" '[.okResponse.headers[].header | select(.key == "x-auth-token-expires-on")
  | .value] == [$e]' >/dev/null <<<"$CHECK" || check_failed "no x-auth-token-expires-on upstream: $CHECK"
jq -e --arg e "$EXPIRES" '[.okResponse.responseHeadersToAdd[].header | [.key, .value]]
  == [["x-token-expires-on", $e]]' >/dev/null <<<"$CHECK" ||
  check_failed "no x-token-expires-on for the client: $CHECK"
jq -e '.token.scopes == ["things:read"]' >/dev/null <<<"$READER_CREATED" ||
  check_failed "the reader token's scopes: $READER_CREATED"
[[ $READER =~ $token_pattern ]] || check_failed "the reader token's secret is not a token"
expect_json CURL_READER '.token.scopes == ["things:read"]'
expect_error CURL_WIDER permission_denied
jq -e '[.okResponse.headers[].header | select(.key == "x-auth-token-scopes") | .value]
  == ["things:read"]' >/dev/null <<<"$READ_CHECK" || check_failed "things:read route: $READ_CHECK"
jq -e '.deniedResponse.status.code == "Forbidden" or .deniedResponse.status.code == 403' \
  >/dev/null <<<"$WRITE_CHECK" || check_failed "things:write route is not 403: $WRITE_CHECK"
jq -e '[.deniedResponse.headers[].header | select(.key == "www-authenticate") | .value]
  == ["Bearer error=\"insufficient_scope\", scope=\"things:write\""]' >/dev/null <<<"$WRITE_CHECK" ||
  check_failed "things:write route's WWW-Authenticate: $WRITE_CHECK"
jq -e '(.okResponse.headersToRemove | index("x-auth-token-scopes")) and
  ([.okResponse.headers[].header.key] | index("x-auth-token-scopes") | not)' >/dev/null <<<"$FULL_CHECK" ||
  check_failed "a token without scopes on a things:write route: $FULL_CHECK"
passed "expiry headers on an allowed check; a things:read token allowed and 403 insufficient_scope on things:write; full access without scopes"

[[ $BOB_SECRET =~ $token_pattern ]] || check_failed "CreateToken for bob over curl returned no secret"
expect_json CURL_BOBS '[.tokens[] | [.name, .userId, .status]] == [["CI deploy", "bob", "ACTIVE"]]'
expect_json CURL_USERS '[.users[].userId] | index("alice") and index("bob") and index($admin)'
expect_json CURL_ALICES '(.tokens | length > 0) and all(.tokens[]; .userId == "alice")'
expect_error CURL_NOT_HERS not_found
expect_error CURL_NOT_ADMIN permission_denied
expect_error CURL_NO_TOKEN unauthenticated
expect_json CURL_BOB_OFF '.userId == "bob" and .disabled == true'
expect_error CURL_BOB_AS_BOB unauthenticated
expect_json CURL_BOB_ON '.userId == "bob" and .displayName == "Bob B. Example" and (.disabled // false) == false'
passed "the curl forms: the console served, CreateToken (secret, listed ACTIVE with its hint), the" \
  "BadRequest on expires_on, paging, RotateToken, RevokeToken, the audit trail, users, and" \
  "not_found, permission_denied and unauthenticated as Connect errors"

# --- the created token, checked as Envoy does while it was active
jq -e '(.status.code // 0) == 0 and has("okResponse") and (has("deniedResponse") | not)' \
  >/dev/null <<<"$CHECK" || check_failed "Check of the new token was not allowed: $CHECK"
forwarded() {
  jq -r --arg name "$1" '[.okResponse.headers[].header | select(.key == $name) | .value] | first // ""' <<<"$CHECK"
}
[[ $(forwarded x-auth-user-id) == "$admin_id" ]] ||
  check_failed "Check's x-auth-user-id is '$(forwarded x-auth-user-id)', expected '$admin_id'"
[[ $(forwarded x-auth-user-role) == ADMIN ]] || check_failed "Check's x-auth-user-role: '$(forwarded x-auth-user-role)'"
[[ $(forwarded x-auth-token-id) == "$TOKEN_ID" ]] ||
  check_failed "Check's x-auth-token-id is '$(forwarded x-auth-token-id)', expected the created token's id"
jq -e '.okResponse.headersToRemove | index("authorization")' >/dev/null <<<"$CHECK" ||
  check_failed "Check does not remove the authorization header"
passed "Check allowed the created token: x-auth-user-id=$admin_id, x-auth-token-id=its id, authorization removed"

# --- demo-upstream, called as Envoy forwards an allowed request
caller=$(curl -fsS -H "x-auth-user-id: $(forwarded x-auth-user-id)" \
  -H "x-auth-user-role: $(forwarded x-auth-user-role)" \
  -H "x-auth-token-id: $(forwarded x-auth-token-id)" "http://$UPSTREAM/walkthrough")
jq -e --arg user "$admin_id" --arg id "$TOKEN_ID" \
  '.user_id == $user and .role == "ADMIN" and .token_id == $id and .path == "/walkthrough"' \
  >/dev/null <<<"$caller" || check_failed "demo-upstream answered $caller"
passed "demo-upstream saw the identity Envoy would forward: $caller"

# --- after RotateToken (old secret) and RevokeToken (new one), both are denied
denied_reason() {
  grpcurl -plaintext -d "$(check_request "$1")" "$SIDECAR" envoy.service.auth.v3.Authorization/Check |
    jq -r 'if has("deniedResponse") then (.deniedResponse.body | fromjson | .reason) else "allowed" end'
}
deadline=$((SECONDS + 30))
for name in SECRET NEW_SECRET CURL_SECRET CURL_NEW_SECRET; do
  while :; do
    reason=$(denied_reason "${!name}") || check_failed "Check of \$$name failed as an RPC"
    [[ $reason != revoked ]] || break
    ((SECONDS < deadline)) || check_failed "Check of \$$name still answers '$reason' 30 s after it was revoked"
    sleep 0.1
  done
  if auth=$(grpcurl -plaintext -d "{\"token\":\"${!name}\"}" "$SIDECAR" tokens.v1.Authenticator/Authenticate 2>&1); then
    check_failed "Authenticate still accepts \$$name after Check denied it"
  fi
  [[ $auth == *"Code: Unauthenticated"* && $auth == *"revoked"* ]] ||
    check_failed "Authenticate of \$$name: $auth"
  passed "the sidecar denies \$$name: revoked (Check and Authenticate)"
done

# --- metrics: the checks above are counted
allowed=$(metric 'token_sidecar_checks_total{result="allowed",reason="valid"}' "$SIDECAR_METRICS")
revoked=$(metric 'token_sidecar_checks_total{result="denied",reason="revoked"}' "$SIDECAR_METRICS")
missing=$(metric 'token_sidecar_checks_total{result="denied",reason="missing"}' "$SIDECAR_METRICS")
check_ok=$(metric 'grpc_server_handled_total{grpc_type="unary",grpc_service="envoy.service.auth.v3.Authorization",grpc_method="Check",grpc_code="OK"}' "$SIDECAR_METRICS")
created=$(metric 'grpc_server_handled_total{grpc_type="unary",grpc_service="tokens.v1.TokenService",grpc_method="CreateToken",grpc_code="OK"}' "$SERVICE_METRICS")
((allowed >= 1)) || check_failed "token_sidecar_checks_total allowed/valid is $allowed"
((revoked >= 4)) || check_failed "token_sidecar_checks_total denied/revoked is $revoked"
((missing >= 1)) || check_failed "token_sidecar_checks_total denied/missing is $missing"
((check_ok >= 6)) || check_failed "Check's grpc_server_handled_total (OK) is $check_ok"
((created >= 4)) || check_failed "CreateToken's grpc_server_handled_total (OK) is $created"
# The curl forms went through the gRPC services (counted above) by way of
# the HTTP face, which counts each call it made.
http_called=$(metric 'token_service_http_requests_total{outcome="called"}' "$SERVICE_METRICS")
((http_called >= 25)) || check_failed "token_service_http_requests_total called is $http_called"
passed "metrics: checks allowed=$allowed denied(revoked)=$revoked denied(missing)=$missing, Check OK=$check_ok, CreateToken OK=$created, HTTP calls=$http_called"
