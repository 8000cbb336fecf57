#!/usr/bin/env bash
# Installs the Debian packages needed to build, run and test the project,
# buf (npm @bufbuild/buf) for its "buf curl" gRPC client, and the console's
# end-to-end test's npm packages (tests/console/package-lock.json: puppeteer-core).
# Only missing packages are installed; when nothing is missing apt isn't run.
# Needs root (or sudo). A PostgreSQL cluster that Debian may auto-start when
# installing postgresql is left alone: scripts/pg.sh runs a private one.
set -euo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libpqxx-dev libpq-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev zlib1g-dev
  libcpp-httplib-dev libyaml-cpp-dev libicu-dev docker-compose
  postgresql postgresql-contrib nghttp2-client libnghttp2-dev util-linux procps curl jq
  clang-14 libclang-rt-14-dev
  python3 python3-grpcio python3-protobuf python3-prometheus-client
  chromium fonts-dejavu-core
)

# grpcurl is not packaged by Debian; "buf curl" is the reflection client that
# tests/docs runs docs/walkthrough.md's grpcurl commands with. Pinned, so that
# every machine runs the same client.
BUF_NPM_PACKAGE="@bufbuild/buf@1.75.0"

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || printf '%s\n' "$pkg"
  done
}

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"

apt_install() {
  run_privileged env DEBIAN_FRONTEND=noninteractive apt-get update
  run_privileged env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "$@"
}

# npm comes from Debian's npm package unless a node installation already
# brought its own (NodeSource's nodejs does, and conflicts with Debian's npm).
install_buf() {
  if command -v buf >/dev/null 2>&1; then
    log "buf is installed ($(buf --version 2>&1))"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    log "installing npm, to install buf"
    apt_install npm
  fi
  log "npm install -g $BUF_NPM_PACKAGE"
  run_privileged npm install -g "$BUF_NPM_PACKAGE"
  command -v buf >/dev/null 2>&1 || die "buf not found after npm install -g $BUF_NPM_PACKAGE"
}

# The console's end-to-end test (tests/console, docs/console.md) drives
# Debian's chromium with puppeteer-core, which is installed here by `npm ci`
# from the test's lock file into a fixed directory outside the tree, where
# CMake's TOKENS_CONSOLE_E2E_DIR (the same default) finds it. Nothing
# downloads a browser: puppeteer-core has no install script, and
# PUPPETEER_SKIP_DOWNLOAD says so again.
CONSOLE_E2E_DIR="${TOKENS_CONSOLE_E2E_DIR:-/usr/local/lib/user-tokens/console-e2e}"
CONSOLE_E2E_SRC="$REPO_ROOT/tests/console"

install_console_e2e() {
  if cmp -s "$CONSOLE_E2E_SRC/package-lock.json" "$CONSOLE_E2E_DIR/package-lock.json" &&
    [[ -d $CONSOLE_E2E_DIR/node_modules/puppeteer-core ]]; then
    log "the console test's npm packages are installed in $CONSOLE_E2E_DIR"
    return 0
  fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  log "npm ci of tests/console/package-lock.json into $CONSOLE_E2E_DIR"
  run_privileged mkdir -p "$CONSOLE_E2E_DIR"
  run_privileged cp "$CONSOLE_E2E_SRC/package.json" "$CONSOLE_E2E_SRC/package-lock.json" "$CONSOLE_E2E_DIR/"
  run_privileged env PUPPETEER_SKIP_DOWNLOAD=1 npm ci --prefix "$CONSOLE_E2E_DIR" \
    --ignore-scripts --no-audit --no-fund
  [[ -d $CONSOLE_E2E_DIR/node_modules/puppeteer-core ]] ||
    die "puppeteer-core not found in $CONSOLE_E2E_DIR after npm ci"
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]} == 0)); then
  log "all ${#PACKAGES[@]} required packages are installed"
else
  log "installing ${#missing[@]} missing package(s): ${missing[*]}"
  apt_install "${missing[@]}"

  mapfile -t still_missing < <(missing_packages)
  if ((${#still_missing[@]} > 0)); then
    die "still not installed after apt-get install: ${still_missing[*]}"
  fi
  log "dependencies installed"
fi

install_buf
install_console_e2e
