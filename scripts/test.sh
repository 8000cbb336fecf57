#!/usr/bin/env bash
# The project's test command: installs the dependencies, builds, and runs
# every test with ctest. Integration tests start their own private
# PostgreSQL, so nothing needs to be running beforehand.
# Exits with ctest's exit code.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/install-deps.sh"
"$REPO_ROOT/scripts/build.sh"

log "ctest --test-dir ${BUILD_DIR#"$REPO_ROOT"/} --output-on-failure -j2 --timeout 1200 --no-tests=error"
# exec: ctest's summary is the last thing printed, and its exit code is ours.
exec ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 1200 --no-tests=error
