#!/usr/bin/env bash
# Makes a certificate authority and certificates signed by it, with the
# openssl command-line tool only, for token-service's and token-sidecar's TLS
# (--tls_cert, --tls_key, --tls_client_ca, --token_service_ca,
# --token_service_client_cert, --token_service_client_key).
#
#   deploy/tls/make-certs.sh ca     DIR
#   deploy/tls/make-certs.sh server DIR NAME SAN...
#   deploy/tls/make-certs.sh client DIR NAME
#
#   ca      DIR/ca.pem and DIR/ca.key: a new CA (ECDSA P-256). Kept if
#           DIR/ca.pem already exists; server and client make it first when
#           it is missing. One DIR is one CA: two directories, two
#           independent CAs.
#   server  DIR/NAME.pem and DIR/NAME.key, signed by DIR's CA, subject
#           CN=NAME, subjectAltName from the SAN arguments (each a DNS name or
#           an IPv4/IPv6 address; at least one). Extended key usage serverAuth
#           AND clientAuth, so one certificate can serve a listener and be the
#           client certificate of `probe` under mTLS. Running it again with
#           the same NAME replaces the pair (a new key): that is a rotation.
#   client  DIR/NAME.pem and DIR/NAME.key, signed by DIR's CA, subject
#           CN=NAME, extended key usage clientAuth only.
#
# Private keys are written with mode 0600 and never printed. Certificates are
# valid for MAKE_CERTS_DAYS days (default 365). Both files of a pair are
# written beside their final names and renamed into place, the key first, so
# a server re-reading them never sees a half-written file.
# docs/operations.md ("TLS") lists the openssl commands this runs.
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

days=${MAKE_CERTS_DAYS:-365}

# make_ca DIR: a self-signed CA certificate that may sign leaf certificates
# only (pathlen 0).
make_ca() {
  local dir=$1
  [[ -f $dir/ca.pem ]] && return 0
  mkdir -p "$dir"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$dir/ca.key.tmp")
  openssl req -x509 -new -key "$dir/ca.key.tmp" -sha256 -days "$days" \
    -subj "/CN=$(basename "$(cd "$dir" && pwd)") CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem.tmp"
  mv "$dir/ca.key.tmp" "$dir/ca.key"
  mv "$dir/ca.pem.tmp" "$dir/ca.pem"
}

# make_leaf DIR NAME EXTENSIONS: a key and a certificate for CN=NAME signed by
# DIR's CA, with the given X.509 v3 extensions.
make_leaf() {
  local dir=$1 name=$2 extensions=$3
  make_ca "$dir"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$dir/$name.key.tmp")
  openssl req -new -key "$dir/$name.key.tmp" -subj "/CN=$name" \
    -out "$dir/$name.csr.tmp"
  openssl x509 -req -in "$dir/$name.csr.tmp" -sha256 -days "$days" \
    -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -extfile <(printf '%s\n' "$extensions") \
    -out "$dir/$name.pem.tmp" 2>/dev/null
  rm -f "$dir/$name.csr.tmp"
  mv "$dir/$name.key.tmp" "$dir/$name.key"
  mv "$dir/$name.pem.tmp" "$dir/$name.pem"
}

# subject_alt_names SAN...: "DNS:a,IP:127.0.0.1,...", an address being
# anything that is dotted digits or contains a colon.
subject_alt_names() {
  local san out=""
  for san in "$@"; do
    if [[ $san =~ ^[0-9]+(\.[0-9]+){3}$ || $san == *:* ]]; then
      out+="${out:+,}IP:$san"
    elif [[ $san =~ ^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$ ]]; then
      out+="${out:+,}DNS:$san"
    else
      echo "make-certs.sh: '$san' is neither a DNS name nor an IP address" >&2
      exit 2
    fi
  done
  printf '%s' "$out"
}

check_name() {
  if [[ ! $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]*$ || $1 == ca ]]; then
    echo "make-certs.sh: NAME must be letters, digits, '.', '_', '-' (and not 'ca'), got '$1'" >&2
    exit 2
  fi
}

# A failed step leaves no partial file behind (the final names are only ever
# renamed into).
trap 'rm -f "${dir:-.}"/*.tmp' EXIT

(($# >= 2)) || usage
command=$1 dir=$2
shift 2
case $command in
  ca)
    (($# == 0)) || usage
    make_ca "$dir"
    ;;
  server)
    (($# >= 2)) || usage
    name=$1
    shift
    check_name "$name"
    sans=$(subject_alt_names "$@")
    make_leaf "$dir" "$name" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$sans"
    ;;
  client)
    (($# == 1)) || usage
    check_name "$1"
    make_leaf "$dir" "$1" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    ;;
  *) usage ;;
esac
