#!/usr/bin/env bash
# grpcurl, as far as docs/walkthrough.md uses it, carried out by "buf curl"
# (Debian packages no grpcurl; scripts/install-deps.sh installs buf). The
# walkthrough test puts this first on PATH under the name grpcurl, so the
# documentation's commands run exactly as written.
#
#   grpcurl -plaintext [-H 'name: value']... [-d JSON | -d @] HOST:PORT pkg.Service/Method
#   grpcurl -plaintext HOST:PORT list [pkg.Service]
#
# Like grpcurl: -H headers go to the reflection requests too; `-d @` reads the
# request from stdin; the response is JSON on stdout (both print the proto3
# JSON mapping's lowerCamelCase names); an RPC error prints
# "ERROR:\n  Code: ...\n  Message: ..." on stderr and exits 64 + the gRPC
# code. Any other flag or verb is refused, so that the walkthrough cannot
# use something this translation does not cover.
set -euo pipefail

usage_error() {
  printf 'grpcurl (buf curl shim): %s\n' "$*" >&2
  exit 2
}

plaintext=0
headers=()
data=()
extra=()
positional=()
while (($#)); do
  # Go's flag package, which grpcurl uses, stops at the first argument that
  # is not a flag: a flag after the address would be an error there.
  if ((${#positional[@]})) && [[ $1 == -* ]]; then
    usage_error "flag $1 after \"${positional[0]}\": grpcurl takes flags before the address"
  fi
  case $1 in
    -plaintext | --plaintext) plaintext=1 ;;
    -H | --H)
      (($# >= 2)) || usage_error "$1 needs a value"
      headers+=(-H "$2")
      shift
      ;;
    -d | --d)
      (($# >= 2)) || usage_error "$1 needs a value"
      if [[ $2 == @ ]]; then data=(-d @-); else data=(-d "$2"); fi
      shift
      ;;
    -emit-defaults | --emit-defaults) extra+=(--emit-defaults) ;;
    -*) usage_error "unsupported flag $1" ;;
    *) positional+=("$1") ;;
  esac
  shift
done

((plaintext)) || usage_error "only -plaintext is supported"
((${#positional[@]} >= 2)) || usage_error "expected HOST:PORT and a method or 'list'"
address=${positional[0]}
verb=${positional[1]}
base=(buf curl --protocol grpc --http2-prior-knowledge)
if ((${#headers[@]})); then
  base+=("${headers[@]}" --reflect-header '*')
fi

case $verb in
  list)
    ((${#data[@]} == 0)) || usage_error "list takes no -d"
    if ((${#positional[@]} == 2)); then
      exec "${base[@]}" --list-services "http://$address"
    fi
    ((${#positional[@]} == 3)) || usage_error "list takes at most one service"
    # grpcurl lists a service's methods as pkg.Service.Method.
    service=${positional[2]}
    methods=$("${base[@]}" --list-methods "http://$address")
    printf '%s\n' "$methods" | sed -n "s#^${service//./\\.}/#${service}.#p"
    exit 0
    ;;
  describe) usage_error "describe is not supported by buf curl" ;;
  */*) ;;
  *) usage_error "expected pkg.Service/Method, got \"$verb\"" ;;
esac
((${#positional[@]} == 2)) || usage_error "unexpected argument \"${positional[2]}\""

# stdout goes straight through; stderr is kept to rewrite an RPC error the way
# grpcurl prints it. buf exits with the gRPC code shifted left by three.
status=0
{ errors=$("${base[@]}" "${extra[@]}" "${data[@]}" "http://$address/$verb" 2>&1 1>&3 3>&-) || status=$?; } 3>&1
if ((status == 0)); then
  [[ -z $errors ]] || printf '%s\n' "$errors" >&2
  exit 0
fi
if ((status >= 8 && status % 8 == 0)) && jq -e 'type == "object" and has("code")' >/dev/null 2>&1 <<<"$errors"; then
  # {"code":"invalid_argument","message":...,"details":[...]} -> grpcurl's form.
  jq -r '
    (.code | split("_") | map((.[:1] | ascii_upcase) + .[1:]) | join("")) as $code
    | "ERROR:", "  Code: \($code)", "  Message: \(.message // "")",
      (if (.details // []) | length > 0 then
         "  Details:",
         (.details | to_entries[] | "  \(.key + 1))\t\(.value.debug // .value | tojson)")
       else empty end)' <<<"$errors" >&2
  exit $((64 + status / 8))
fi
printf '%s\n' "$errors" >&2
exit 1
