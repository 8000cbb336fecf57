#!/usr/bin/env bash
# Runs the tests under the compilers' sanitizers (docs/sanitizers.md says
# which suites run under which one, and why):
#   asan  AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer: the
#         whole suite, unit and integration (the real binaries are built
#         instrumented too), in build-asan/;
#   tsan  ThreadSanitizer: the unit tests of the sidecar's domain (token
#         cache, usage recorder, miss resolver) and of the metrics, but the
#         cases whose threads meet only under Abseil's locks, in build-tsan/.
# Any sanitizer report or failed test fails the run.
#
#   scripts/sanitize.sh [asan] [tsan]     (default: both, in that order)
#
# Environment:
#   TOKENS_ASAN_BUILD_DIR  default build-asan
#   TOKENS_TSAN_BUILD_DIR  default build-tsan
#   SKIP_DEPS=1            don't run scripts/install-deps.sh
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

ASAN_BUILD_DIR=$(realpath -m -- "${TOKENS_ASAN_BUILD_DIR:-$REPO_ROOT/build-asan}")
TSAN_BUILD_DIR=$(realpath -m -- "${TOKENS_TSAN_BUILD_DIR:-$REPO_ROOT/build-tsan}")
SUPPRESSIONS="$REPO_ROOT/tests/sanitizers"

# The TSan run: test binaries with the threads worth watching, relative to
# the build directory. None of them starts a gRPC server or channel.
TSAN_TESTS=(tests/sidecar/sidecar_domain_test tests/metrics_test)
# Left out of it: cases whose threads hand data over only through
# absl::Mutex or absl::Notification. Debian builds libabsl_synchronization
# without ThreadSanitizer, so it cannot see those locks and reports every
# access they order as a race (docs/sanitizers.md).
TSAN_UNSEEN_LOCK_TESTS=(
  TokenCacheTest.LookupsRaceWithTheFeedSafely
  UsageRecorderTest.RecordsFromManyThreadsAddUpExactly
  UsageRecorderTest.DrainingWhileThreadsRecordLosesNothing
  UsageFlusherTest.ConcurrentFlushesAreSerializedAndDeliverTheLatestUses
  MissResolverTest.ConcurrentCallersForOneHashShareASingleLookup
  MissResolverTest.ALookupInProgressDoesNotHoldUpOtherHashes
  MissResolverTest.CallersSharingAFailedLookupAllSeeItAndTheNextCallRetries
)

modes=()
for arg in "$@"; do
  case $arg in
    asan | tsan) modes+=("$arg") ;;
    *)
      echo "usage: scripts/sanitize.sh [asan] [tsan]" >&2
      exit 2
      ;;
  esac
done
((${#modes[@]} > 0)) || modes=(asan tsan)

[[ ${SKIP_DEPS:-} == 1 ]] || "$REPO_ROOT/scripts/install-deps.sh"

# configure DIR SANITIZERS: -O1, as the sanitizers' documentation advises:
# near -O2's speed at run time, much quicker to build, readable stacks.
configure() {
  local dir=$1 sanitize=$2
  local args=(-S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g -DNDEBUG"
    "-DTOKENS_SANITIZE=$sanitize" -DTOKENS_BUILD_TESTS=ON -DTOKENS_BUILD_BENCH=OFF)
  if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    args+=(-G Ninja)
  fi
  log "cmake ${args[*]}"
  cmake "${args[@]}" >/dev/null
}

run_asan() {
  configure "$ASAN_BUILD_DIR" address,undefined
  log "cmake --build ${ASAN_BUILD_DIR#"$REPO_ROOT"/} -j2"
  cmake --build "$ASAN_BUILD_DIR" -j2

  # Inherited by every instrumented process the tests start (token-service,
  # token-sidecar, the examples), so a report in any of them fails its test.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=1"
  export LSAN_OPTIONS="suppressions=$SUPPRESSIONS/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  log "ASAN_OPTIONS=$ASAN_OPTIONS"
  # Left out: the check that each Docker image installs the packages its
  # binary links. It is about release binaries; instrumented ones link more
  # (the sanitizers' runtimes libasan8 and libubsan1, and libre2-9 and
  # libc-ares2, which the release link drops as unneeded).
  local exclude='^DeployDockerfileTest\.EachImageInstallsThePackagesItsBinaryLinks$'
  log "ctest --test-dir ${ASAN_BUILD_DIR#"$REPO_ROOT"/} --output-on-failure -j2 -E '$exclude'"
  ctest --test-dir "$ASAN_BUILD_DIR" --output-on-failure -j2 --timeout 1800 --no-tests=error \
    -E "$exclude"
}

run_tsan() {
  configure "$TSAN_BUILD_DIR" thread
  local targets=() test
  for test in "${TSAN_TESTS[@]}"; do targets+=("$(basename "$test")"); done
  log "cmake --build ${TSAN_BUILD_DIR#"$REPO_ROOT"/} --target ${targets[*]} -j2"
  cmake --build "$TSAN_BUILD_DIR" --target "${targets[@]}" -j2

  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  log "TSAN_OPTIONS=$TSAN_OPTIONS"
  local filter
  filter="-$(IFS=:; echo "${TSAN_UNSEEN_LOCK_TESTS[*]}")"
  for test in "${TSAN_TESTS[@]}"; do
    log "$test (without the ${#TSAN_UNSEEN_LOCK_TESTS[@]} cases above)"
    "$TSAN_BUILD_DIR/$test" --gtest_brief=1 --gtest_filter="$filter"
  done
}

# Each part runs even when the one before failed; the exit code says
# whether all passed.
failed=()
for mode in "${modes[@]}"; do
  start=$SECONDS
  if ("run_$mode"); then
    log "$mode passed in $((SECONDS - start))s"
  else
    warn "$mode FAILED after $((SECONDS - start))s"
    failed+=("$mode")
  fi
done
((${#failed[@]} == 0)) || die "failed under the sanitizers: ${failed[*]}"
