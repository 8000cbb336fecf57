#!/usr/bin/env bash
# Configures and builds the project into build/ (RelWithDebInfo), or into
# TOKENS_BUILD_DIR when that is set.
# Uses Ninja when it's installed, Unix Makefiles otherwise; an existing
# build directory keeps the generator it was configured with.
# Extra arguments are passed to the cmake configure step, e.g.
#   scripts/build.sh -DTOKENS_WARNINGS_AS_ERRORS=ON
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

configure_args=(-S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ ! -f $BUILD_DIR/CMakeCache.txt ]]; then
  if command -v ninja >/dev/null 2>&1; then
    configure_args+=(-G Ninja)
  else
    configure_args+=(-G "Unix Makefiles")
  fi
fi

jobs=$(nproc 2>/dev/null || echo 2)

log "cmake ${configure_args[*]} $*"
cmake "${configure_args[@]}" "$@"
log "cmake --build ${BUILD_DIR#"$REPO_ROOT"/} -j$jobs"
cmake --build "$BUILD_DIR" -j"$jobs"
