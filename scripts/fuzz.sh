#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang-14 (ASan, UBSan and
# coverage feedback) and runs each one: first over its saved crashes in
# fuzz/regressions/<target>/, then fuzzing from a fresh copy of its seed
# corpus fuzz/corpus/<target>/ (the seeds themselves are never modified).
# Fails on the first crash, leak, timeout or sanitizer report; the input that
# did it is printed (libFuzzer's "Base64:" line) and kept in the build
# directory's artifacts/.
#
#   scripts/fuzz.sh [--runs N | --time SECONDS] [TARGET...]
#     --runs N        inputs per target (default 20000)
#     --time SECONDS  wall time per target instead
#     TARGET          only these (default: all three)
#
# Environment:
#   TOKENS_FUZZ_BUILD_DIR  the build directory (default build-fuzz)
#   SKIP_DEPS=1            don't run scripts/install-deps.sh
#   FUZZ_ARGS              extra libFuzzer flags, e.g. "-seed=1 -jobs=2"
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

FUZZ_BUILD_DIR=$(realpath -m -- "${TOKENS_FUZZ_BUILD_DIR:-$REPO_ROOT/build-fuzz}")
ALL_TARGETS=(token_codec_fuzzer bearer_fuzzer ext_authz_check_fuzzer)

usage() {
  sed -n '/^#   scripts/,/^#     TARGET/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

limit=(-runs=20000)
targets=()
while (($# > 0)); do
  case $1 in
    --runs)
      [[ ${2:-} =~ ^[0-9]+$ ]] || usage
      limit=(-runs="$2")
      shift 2
      ;;
    --time)
      [[ ${2:-} =~ ^[0-9]+$ ]] || usage
      limit=(-max_total_time="$2")
      shift 2
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]] || die "unknown fuzz target '$1' (${ALL_TARGETS[*]})"
      targets+=("$1")
      shift
      ;;
  esac
done
((${#targets[@]} > 0)) || targets=("${ALL_TARGETS[@]}")

[[ ${SKIP_DEPS:-} == 1 ]] || "$REPO_ROOT/scripts/install-deps.sh"
command -v clang++-14 >/dev/null 2>&1 || die "clang++-14 not found (scripts/install-deps.sh installs it)"

# Debian's gRPC, protobuf and Abseil are GCC builds against libstdc++, which
# clang++ on Debian uses too, so the fuzzers link against them as they are.
configure_args=(-S . -B "$FUZZ_BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo
  -DTOKENS_FUZZ=ON -DTOKENS_BUILD_TESTS=OFF -DTOKENS_BUILD_BENCH=OFF)
if [[ ! -f $FUZZ_BUILD_DIR/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
  configure_args+=(-G Ninja)
fi
log "cmake ${configure_args[*]}"
CC=clang-14 CXX=clang++-14 cmake "${configure_args[@]}" >/dev/null
log "cmake --build ${FUZZ_BUILD_DIR#"$REPO_ROOT"/} --target fuzzers -j2"
cmake --build "$FUZZ_BUILD_DIR" --target fuzzers -j2

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
artifacts="$FUZZ_BUILD_DIR/artifacts"
mkdir -p "$artifacts"
# shellcheck disable=SC2206 # FUZZ_ARGS is a list of flags
extra=(${FUZZ_ARGS:-})

for target in "${targets[@]}"; do
  binary="$FUZZ_BUILD_DIR/fuzz/$target"
  common=(-timeout=10 -artifact_prefix="$artifacts/$target-")

  regressions="$REPO_ROOT/fuzz/regressions/$target"
  if compgen -G "$regressions/*" >/dev/null; then
    log "$target: replaying fuzz/regressions/$target/"
    "$binary" "${common[@]}" "$regressions"/*
  fi

  work="$FUZZ_BUILD_DIR/corpus/$target"
  rm -rf "$work"
  mkdir -p "$work"
  cp -R "$REPO_ROOT/fuzz/corpus/$target/." "$work/"
  log "$target ${limit[*]} ${extra[*]} (corpus: a copy of fuzz/corpus/$target/)"
  start=$SECONDS
  if ! "$binary" "${common[@]}" "${limit[@]}" -print_final_stats=1 "${extra[@]}" "$work" \
    >"$FUZZ_BUILD_DIR/$target.log" 2>&1; then
    tail -n 60 "$FUZZ_BUILD_DIR/$target.log" >&2
    die "$target failed; the input is in ${artifacts#"$REPO_ROOT"/}/ (keep it in fuzz/regressions/$target/)"
  fi
  # The last status line and the final stats: executions, coverage, corpus.
  grep -E '^#[0-9]+.*(DONE|cov:)' "$FUZZ_BUILD_DIR/$target.log" | tail -n 1 >&2 || true
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$FUZZ_BUILD_DIR/$target.log" >&2 || true
  log "$target: no crash in $((SECONDS - start))s; corpus now $(find "$work" -type f | wc -l) inputs"
done
log "fuzzing passed: ${targets[*]}"
