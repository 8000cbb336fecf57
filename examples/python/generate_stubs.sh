#!/usr/bin/env bash
# Generates the Python modules the example imports into OUT_DIR, with
# Debian's protoc and grpc_python_plugin (packages protobuf-compiler and
# protobuf-compiler-grpc), from the project's public protos (import root
# proto/) and the example's own greeter.proto:
#
#   examples/python/generate_stubs.sh OUT_DIR
#
# Only tokens/v1 is generated from this repository: no google/rpc or
# grpc/health module comes out, so nothing shadows the real ones.
set -euo pipefail

(($# == 1)) || {
  echo "usage: $0 OUT_DIR" >&2
  exit 2
}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/../.." && pwd -P)"
out="$1"
mkdir -p "$out"

# /usr/bin explicitly: the generated code must match Debian's
# python3-protobuf and python3-grpcio, whatever else is first on PATH.
/usr/bin/protoc \
  --proto_path="$repo/proto" --proto_path="$here" \
  --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
  --python_out="$out" --grpc_python_out="$out" \
  tokens/v1/tokens.proto tokens/v1/authenticator.proto greeter.proto
