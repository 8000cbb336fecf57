#!/usr/bin/env bash
# Writes the seed corpus in fuzz/corpus/<target>/: the text seeds below, and
# each seeds/ext_authz_check_fuzzer/*.textproto encoded as a CheckRequest with
# protoc. Run once after changing a seed; the output is committed. Inputs the
# fuzzers find are not kept here: scripts/fuzz.sh runs over a copy.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
repo=$(cd .. && pwd -P)

# ext_authz_check_fuzzer.cc holds these fixtures in its token cache (alice's is
# good). Made up, valid checksums, never issued by any token-service.
alice=utk_FuzzFixtureAliceUserNotASecret0010lDYfk
bad_checksum=${alice%?}x

seed() {  # seed TARGET NAME CONTENT
  mkdir -p "corpus/$1"
  printf '%s' "$3" >"corpus/$1/$2"
}

rm -rf corpus
seed token_codec_fuzzer valid "$alice"
seed token_codec_fuzzer bad_checksum "$bad_checksum"
seed token_codec_fuzzer empty ""
seed token_codec_fuzzer short "utk_short"
seed token_codec_fuzzer bad_prefix "abc_${alice#utk_}"
seed token_codec_fuzzer bad_alphabet "utk_FuzzFixture-liceUserNotASecret0010lDYfk"
seed token_codec_fuzzer too_long "${alice}x"
# Six checksum digits can state more than 32 bits.
seed token_codec_fuzzer checksum_overflow "${alice%??????}zzzzzz"

seed bearer_fuzzer valid "Bearer $alice"
seed bearer_fuzzer bearer_x "Bearer x"
seed bearer_fuzzer empty ""
seed bearer_fuzzer scheme_only "Bearer"
seed bearer_fuzzer spaces_around "bEaReR   $alice   "
seed bearer_fuzzer tab "Bearer	$alice"
seed bearer_fuzzer basic "Basic YWxpY2U6cGFzc3dvcmQ="
seed bearer_fuzzer utf8_tail "Bearer $alice$(printf '\xc2\xa0')"

mkdir -p corpus/ext_authz_check_fuzzer
# An empty message parses: a request without any header.
: >corpus/ext_authz_check_fuzzer/empty
for textproto in seeds/ext_authz_check_fuzzer/*.textproto; do
  name=$(basename "$textproto" .textproto)
  protoc --proto_path="$repo/proto/third_party" --encode=envoy.service.auth.v3.CheckRequest \
    envoy/service/auth/v3/external_auth.proto <"$textproto" >"corpus/ext_authz_check_fuzzer/$name"
done
