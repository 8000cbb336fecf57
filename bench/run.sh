#!/usr/bin/env bash
# Runs a benchmark for each of the project's performance targets and writes a
# Markdown report.
#
#   bench/run.sh                         full run (about 6 minutes on 2 cores and
#                                        3-4 for the fleet stage, plus the first
#                                        Release build's few);
#                                        writes docs/benchmarks.md
#   bench/run.sh --quick [--out FILE]    every benchmark, small and short (under
#                                        a minute), to prove the harness works;
#                                        writes FILE (default: a temporary file),
#                                        never docs/benchmarks.md
#
#   bench/run.sh --only fleet [--out FILE]
#                                        only the fleet stage (below); writes FILE
#                                        (default: a temporary file), never
#                                        docs/benchmarks.md
#   bench/run.sh --only snapshot [--out FILE]
#                                        only the sidecar's snapshot of the main
#                                        stage (load time, bytes per cached
#                                        token), e.g. to compare two builds
#                                        with --build-dir; writes FILE as above
#
# Options:
#   --build-dir DIR   Release build directory (default build/bench-release)
#   --no-build        use the binaries already in --build-dir
#   --out FILE        where the report goes
#   --keep            keep the temporary directory (logs, raw results)
#   --only STAGE      run one stage: "main" (every benchmark of one sidecar and
#                     token-service) or "fleet"; both run by default; or
#                     "snapshot", the main stage's snapshot benchmark alone
#
# The fleet stage (bench-fleet) plays N sidecars following token-service's
# SyncTokens feed at once, each on its own connection, in a database of its
# own: N = 10, 50, 200 at 100,000 tokens and N = 20 at 1,000,000 (quick: N =
# 10 at 100,000). Then, on the last database loaded, one real token-sidecar
# follows a token-service of this build that is stopped, left down and
# started again on the same address, round after round (bench-client resync:
# how soon after token-service listens again a revocation made then reaches
# the sidecar): 10 rounds down 2 s and 3 rounds down 10 s (quick: 2 rounds
# down 2 s). Its environment:
#   FLEET_BASELINE_SERVICE=PATH  also measure this token-service binary (e.g.
#                     the design before the SyncTokens rewrite) on every
#                     configuration, for a second column; a file COMMIT next
#                     to it names its commit
#   FLEET_BASELINE_SAVE=FILE     write that binary's raw results to FILE too
#                     (bench/fleet-baseline.txt is what the report shows when
#                     no baseline was measured in the run)
#   FLEET_DESIGNS="new baseline" which of the two to run (default: both that
#                     exist)
#   FLEET_SERVICE_FLAGS, FLEET_BASELINE_FLAGS  extra flags for token-service /
#                     the baseline in the fleet stage (split on spaces)
#   FLEET_CONFIGS="N:TOKENS ..."   other configurations
#   FLEET_SNAPSHOT_TIMEOUT=300s  give up on phase 1 after this long
#   FLEET_RESYNC="DOWN:ROUNDS ..."  other restarts (seconds down : rounds);
#                     empty: none
#
# Builds the targets it needs in Release, starts a private PostgreSQL (its own
# data directory and Unix socket under a temporary directory, stopped at
# exit), token-service, token-sidecars and the bench servers of bench/, loads
# data, runs the benchmarks and renders the report (bench/report.py). Fails
# when any step fails; asserts nothing about speed. Token secrets exist only
# in memory and in a mode-0700 directory that is removed at exit.
set -euo pipefail

# shellcheck source=SCRIPTDIR/../scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"

# --- Settings ----------------------------------------------------------------

QUICK=0
BUILD=1
KEEP=0
OUT=""
BUILD_DIR="$REPO_ROOT/build/bench-release"
SHOWN_COMMAND=""

TOKENS_PER_USER=100 # bulk-loaded owners: one per 100 tokens
H2_CLIENTS=8        # h2load connections...
H2_STREAMS=32       # ...and concurrent streams on each
CREATE_CONCURRENCY=8
CHECK_CONCURRENCY=4 # write amplification: concurrent Check clients
USAGE_FLUSH=1s
SIDECARS=3          # propagation
PROFILE_SECONDS=4
ONLY="" # a stage to run alone: main or fleet

set_sizes() {
  if ((QUICK)); then
    MODE=quick
    CACHED_TOKENS=100000 # snapshot, ListTokens, and the sidecars' caches
    SNAPSHOT_ROUNDS=1
    CORE_MIN_TIME=0.01 # seconds per Google Benchmark case
    LOAD_SECONDS=3     # h2load, per run
    WARMUP_SECONDS=1
    LOAD_ROUNDS=1
    CREATE_COUNT=400
    LIST_ITERATIONS=50
    USAGE_SECONDS=4
    REVOCATIONS=50
    FLEET_DEFAULT_CONFIGS="10:$CACHED_TOKENS"
    FLEET_REVOCATIONS=20
    FLEET_DEFAULT_TIMEOUT=60s
    FLEET_DEFAULT_RESYNC="2:2"
  else
    MODE=full
    CACHED_TOKENS=1000000
    SNAPSHOT_ROUNDS=3
    CORE_MIN_TIME=0.5
    LOAD_SECONDS=10
    WARMUP_SECONDS=2
    LOAD_ROUNDS=6
    CREATE_COUNT=3000
    LIST_ITERATIONS=300
    USAGE_SECONDS=20
    REVOCATIONS=1000
    FLEET_DEFAULT_CONFIGS="10:100000 50:100000 200:100000 20:1000000"
    FLEET_REVOCATIONS=200
    FLEET_DEFAULT_TIMEOUT=300s
    FLEET_DEFAULT_RESYNC="2:10 10:3"
  fi
  # N consumers : tokens loaded, in order; configurations of one size share
  # one database, loaded once.
  read -r -a FLEET_CONFIG_LIST <<<"${FLEET_CONFIGS:-$FLEET_DEFAULT_CONFIGS}"
  FLEET_TIMEOUT=${FLEET_SNAPSHOT_TIMEOUT:-$FLEET_DEFAULT_TIMEOUT}
  # Unlike the others, set but empty means none.
  read -r -a FLEET_RESYNC_LIST <<<"${FLEET_RESYNC-$FLEET_DEFAULT_RESYNC}"
  local plan
  for plan in "${FLEET_RESYNC_LIST[@]}"; do
    [[ $plan =~ ^[0-9]+:[1-9][0-9]*$ ]] || die "FLEET_RESYNC: \"$plan\" is not DOWN:ROUNDS"
  done
}

# fleet_resyncs: whether the fleet stage restarts token-service under a
# sidecar (this build's binaries only).
fleet_resyncs() {
  run_stage fleet && ((${#FLEET_RESYNC_LIST[@]})) && [[ " ${FLEET_DESIGNS:-new} " == *" new "* ]]
}

# run_stage NAME: whether this run includes stage NAME.
run_stage() { [[ -z $ONLY || $ONLY == "$1" ]]; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit 2
}

parse_args() {
  local args=("$@")
  while (($#)); do
    case $1 in
      --quick) QUICK=1 ;;
      --no-build) BUILD=0 ;;
      --keep) KEEP=1 ;;
      --out | --build-dir | --only)
        [[ $# -ge 2 ]] || usage
        case $1 in
          --out) OUT=$2 ;;
          --build-dir) BUILD_DIR=$2 ;;
          --only) ONLY=$2 ;;
        esac
        shift
        ;;
      -h | --help) usage ;;
      *)
        printf 'error: unknown argument %s\n' "$1" >&2
        usage
        ;;
    esac
    shift
  done
  [[ -z $ONLY || $ONLY == main || $ONLY == fleet || $ONLY == snapshot ]] ||
    die "--only takes main, fleet or snapshot"
  [[ $BUILD_DIR == /* ]] || BUILD_DIR="$PWD/$BUILD_DIR"
  if [[ -n $OUT && $OUT != /* ]]; then OUT="$PWD/$OUT"; fi
  SHOWN_COMMAND="bench/run.sh $(shown_args "${args[@]}")"
}

# shown_args ARGS...: the arguments as the report shows them: paths inside
# the repository relative to it, other absolute paths as a placeholder.
shown_args() {
  local arg shown=()
  for arg in "$@"; do
    if [[ $arg == "$REPO_ROOT"/* ]]; then
      shown+=("${arg#"$REPO_ROOT"/}")
    elif [[ $arg == /* ]]; then
      shown+=("PATH")
    else
      shown+=("$arg")
    fi
  done
  echo "${shown[*]}"
}

# --- Processes and cleanup ---------------------------------------------------

WORK=""
PRIVATE=""
LOGS=""
RESULTS=""
PG_DIR=""
PG_BIN=""
PG_STARTED=0
declare -A PID_OF=() # name -> pid of what we started
STARTED=()           # names, in start order
declare -A HAS_READY_FILE=() # binary -> 1 if it takes --ready_file, else 0

make_work_dir() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/tokens-bench.XXXXXX")
  # PostgreSQL runs as another user when we are root: it must traverse WORK.
  chmod 0711 "$WORK"
  PRIVATE="$WORK/private" # secrets: the token file, the Check body
  LOGS="$WORK/logs"
  RESULTS="$WORK/results"
  PG_DIR="$WORK/pg"
  mkdir -m 0700 "$PRIVATE" "$LOGS" "$RESULTS" "$WORK/run"
}

# stop NAME: SIGTERM, up to 15 s to drain, then SIGKILL.
stop() {
  local name=$1 pid deadline
  pid=${PID_OF[$name]:-}
  [[ -n $pid ]] || return 0
  unset "PID_OF[$name]"
  if pid_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while ((SECONDS < deadline)) && pid_alive "$pid"; do sleep 0.05; done
    if pid_alive "$pid"; then
      warn "$name (pid $pid) ignored SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local status=$? i f
  trap - EXIT INT TERM
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do stop "${STARTED[i]}"; done
  if ((PG_STARTED)); then
    pg_stop "$PG_BIN" "$PG_DIR/data" 2>/dev/null || true
  fi
  [[ -n $WORK ]] || exit "$status"
  if ((status != 0)); then
    printf 'error: the benchmark run failed (exit %s); last lines of its logs:\n' "$status" >&2
    for f in "$LOGS"/*.log; do
      [[ -f $f ]] || continue
      printf -- '--- %s\n' "$(basename "$f")" >&2
      tail -n 15 "$f" >&2
    done
  fi
  # Secrets go first, whatever else is kept.
  rm -rf "$PRIVATE"
  if ((KEEP)); then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}

# start NAME CMD...: starts CMD in the background, output to $LOGS/NAME.log,
# and waits until it is ready (scripts/lib.sh's wait_until_ready): a binary
# with --ready_file once it has written that file, any other server (the
# baselines, an older build) once it listens.
start() {
  local name=$1 timeout=${START_TIMEOUT:-120} ready=port
  shift
  local args=("$@") bin
  : >"$LOGS/$name.log"
  # The server binary: the first argument that is a path (not env, taskset,
  # nor a VAR=value of env).
  for bin in "$@"; do
    [[ $bin == */* && $bin != *=* ]] && break
  done
  rm -f "$WORK/run/$name.ready"
  # Asked once per binary, so that no timed start pays for it.
  if [[ -z ${HAS_READY_FILE[$bin]:-} ]]; then
    HAS_READY_FILE[$bin]=0
    if supports_flag "$bin" ready_file; then HAS_READY_FILE[$bin]=1; fi
  fi
  if ((HAS_READY_FILE[$bin])); then
    args+=(--ready_file "$WORK/run/$name.ready")
    ready="ready-file:$WORK/run/$name.ready"
  fi
  "${args[@]}" >>"$LOGS/$name.log" 2>&1 </dev/null &
  PID_OF[$name]=$!
  STARTED+=("$name")
  wait_until_ready "$name" "${PID_OF[$name]}" "$ready" "$timeout" "$LOGS/$name.log" ||
    die "$name did not become ready"
}

# address_of NAME [WHICH]: where NAME serves: WHICH ("grpc" by default,
# "metrics") from its ready file, or the port a server without one listens on.
address_of() {
  local name=$1 which=${2:-grpc}
  if [[ -f $WORK/run/$name.ready ]]; then
    ready_address "$WORK/run/$name.ready" "$which"
  elif [[ $which == grpc ]]; then
    client_address "$(listening_address "${PID_OF[$name]}")"
  else
    return 1
  fi
}

# scrape_metrics NAME FILE: NAME's Prometheus metrics, when it serves them.
scrape_metrics() {
  local address
  address=$(address_of "$1" metrics) || return 0
  python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
    "http://$address/metrics" >"$2" 2>/dev/null || rm -f "$2"
}

# supports_flag BINARY FLAG: whether BINARY --helpfull lists --FLAG.
supports_flag() {
  { "$1" --helpfull 2>&1 || true; } | grep -qE -- "--$2( |\$)"
}

vm_kib() { sed -nE "s/^$2:[[:space:]]+([0-9]+) kB/\1/p" "/proc/$1/status"; }

now_ns() { date +%s%N; }

seconds_since() { python3 -c "print(($(now_ns) - $1) / 1e9)"; }

# cpu_sample SERVER_PID CLIENT_PID: "<server's CPU ticks> <busy ticks of the
# server core> <ns> <client's CPU ticks>". The server's own CPU time per
# request does not depend on what else ran on its core; the core's busy time
# minus the server's shows how much did; the client's, whether the load
# generator was the limit.
cpu_sample() {
  local core_line=cpu
  [[ -n $SERVER_CPU ]] && core_line="cpu$SERVER_CPU"
  printf '%s %s %s %s' \
    "$(awk '{print $14 + $15}' "/proc/$1/stat")" \
    "$(awk -v c="$core_line" '$1 == c {print $2 + $3 + $4 + $7 + $8}' /proc/stat)" \
    "$(now_ns)" \
    "$(awk '{print $14 + $15}' "/proc/$2/stat" 2>/dev/null || echo -1)"
}

# perf_record OUT ARGS...: samples (with call graphs: the Release build has
# no frame pointers) into OUT. The software clock needs no hardware counters.
perf_record() {
  local out=$1
  shift
  perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -o "$out" "$@" \
    >>"$LOGS/perf.log" 2>&1 || die "perf record failed"
}

# perf_report DATA [FILTER...]: inclusive and own share of each function.
perf_report() {
  local data=$1
  shift
  perf report -i "$data" --children --stdio --sort sym -g none --percent-limit 0.2 "$@" \
    2>>"$LOGS/perf.log" || die "perf report failed"
}

# --- Build and machine ---------------------------------------------------------

# What the main stage needs built; the fleet stage needs token-service and
# bench-fleet, and token-sidecar and bench-client for its restarts.
MAIN_TARGETS=(token-service token-sidecar bench-empty-authz bench-naive-authz bench-core bench-client)

build() {
  local targets=(token-service)
  if run_stage main; then targets=("${MAIN_TARGETS[@]}"); fi
  if run_stage fleet; then targets+=(bench-fleet token-sidecar bench-client); fi
  if [[ $ONLY == snapshot ]]; then targets+=(token-sidecar); fi
  local configure=(-S "$REPO_ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
    -DTOKENS_BUILD_TESTS=OFF -DTOKENS_BUILD_BENCH=ON)
  if [[ ! -f $BUILD_DIR/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    configure+=(-G Ninja)
  fi
  log "building ${targets[*]} (Release) in $(shown_args "$BUILD_DIR")"
  cmake "${configure[@]}" >"$LOGS/cmake.log" 2>&1 || die "cmake configure failed"
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}" >"$LOGS/build.log" 2>&1 ||
    die "the Release build failed"
}

find_tools() {
  local bin
  TOKEN_SERVICE="$BUILD_DIR/services/token_service/token-service"
  TOKEN_SIDECAR="$BUILD_DIR/sidecar/token-sidecar"
  EMPTY_AUTHZ="$BUILD_DIR/bench/bench-empty-authz"
  NAIVE_AUTHZ="$BUILD_DIR/bench/bench-naive-authz"
  BENCH_CORE="$BUILD_DIR/bench/bench-core"
  BENCH_CLIENT="$BUILD_DIR/bench/bench-client"
  BENCH_FLEET="$BUILD_DIR/bench/bench-fleet"
  local needed=()
  if run_stage main || [[ " ${FLEET_DESIGNS:-new} " == *" new "* ]]; then needed+=("$TOKEN_SERVICE"); fi
  if run_stage main; then
    needed+=("$TOKEN_SIDECAR" "$EMPTY_AUTHZ" "$NAIVE_AUTHZ" "$BENCH_CORE" "$BENCH_CLIENT")
    command -v h2load >/dev/null || die "h2load not found (Debian package nghttp2-client)"
  fi
  if run_stage fleet; then needed+=("$BENCH_FLEET"); fi
  if fleet_resyncs; then needed+=("$TOKEN_SIDECAR" "$BENCH_CLIENT"); fi
  if [[ $ONLY == snapshot ]]; then needed+=("$TOKEN_SIDECAR"); fi
  for bin in "${needed[@]}"; do
    [[ -x $bin ]] || die "$(shown_args "$bin") is missing: build first or drop --no-build"
  done
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' "$BUILD_DIR/CMakeCache.txt" ||
    die "$(shown_args "$BUILD_DIR") is not a Release build"
  if run_stage fleet; then find_fleet_designs; fi

  # Every process gets its own metrics port, once the binaries have one;
  # several sidecars on the default port would collide.
  SERVICE_FLAGS=()
  SIDECAR_FLAGS=()
  if [[ -x $TOKEN_SERVICE ]] && supports_flag "$TOKEN_SERVICE" metrics_listen; then
    SERVICE_FLAGS+=(--metrics_listen=127.0.0.1:0)
  fi
  # The benchmarks issue tokens as fast as they can, thousands for a few
  # users: out of reach of the per-user cap and the issuing rate limit.
  if [[ -x $TOKEN_SERVICE ]] && supports_flag "$TOKEN_SERVICE" token_create_rate; then
    SERVICE_FLAGS+=(--token_create_rate=1000000 --token_create_burst=1000000
      --max_live_tokens_per_user=1000000)
  fi
  if [[ -x $TOKEN_SIDECAR ]] && supports_flag "$TOKEN_SIDECAR" metrics_listen; then
    SIDECAR_FLAGS+=(--metrics_listen=127.0.0.1:0)
  fi

  # Load generator and server each on a core of their own when there are two.
  local cpus
  mapfile -t cpus < <(python3 -c 'import os; print(*sorted(os.sched_getaffinity(0)), sep="\n")')
  SERVER_CPU=""
  CLIENT_CPU=""
  PIN_SERVER=()
  PIN_CLIENT=()
  if ((${#cpus[@]} >= 2)); then
    SERVER_CPU=${cpus[0]}
    CLIENT_CPU=${cpus[1]}
    PIN_SERVER=(taskset -c "$SERVER_CPU")
    PIN_CLIENT=(taskset -c "$CLIENT_CPU")
  fi

  # Full runs profile where the time goes; quick runs don't.
  PROFILE=0
  if ((!QUICK)) && command -v perf >/dev/null 2>&1 &&
    perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1; then
    PROFILE=1
  fi
}

describe_machine() {
  local cxx
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
  {
    echo "mode=$MODE"
    echo "command=$SHOWN_COMMAND"
    echo "cores=$(nproc)"
    echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
    echo "memory_kib=$(sed -nE 's/^MemTotal:[[:space:]]+([0-9]+) kB/\1/p' /proc/meminfo)"
    echo "kernel=$(uname -sr)"
    echo "debian=$(cat /etc/debian_version 2>/dev/null || echo unknown)"
    echo "os=$(sed -n 's/^PRETTY_NAME=//p' /etc/os-release | tr -d '"')"
    echo "compiler=$("${cxx:-c++}" --version | head -n1)"
    echo "cxx_flags=$(sed -n 's/^CMAKE_CXX_FLAGS_RELEASE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")"
    echo "grpc=$(dpkg-query -W -f='${Version}' libgrpc++-dev 2>/dev/null || echo unknown)"
    echo "protobuf=$(dpkg-query -W -f='${Version}' libprotobuf-dev 2>/dev/null || echo unknown)"
    echo "libpqxx=$(dpkg-query -W -f='${Version}' libpqxx-dev 2>/dev/null || echo unknown)"
    echo "benchmark=$(dpkg-query -W -f='${Version}' libbenchmark-dev 2>/dev/null || echo unknown)"
    echo "h2load=$(h2load --version 2>/dev/null | head -n1 || echo unknown)"
    echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "profile=$PROFILE"
    echo "profile_seconds=$PROFILE_SECONDS"
    echo "server_cpu=$SERVER_CPU"
    echo "client_cpu=$CLIENT_CPU"
    echo "cached_tokens=$CACHED_TOKENS"
    echo "tokens_per_user=$TOKENS_PER_USER"
    echo "snapshot_rounds=$SNAPSHOT_ROUNDS"
    echo "core_min_time=$CORE_MIN_TIME"
    echo "load_seconds=$LOAD_SECONDS"
    echo "warmup_seconds=$WARMUP_SECONDS"
    echo "load_rounds=$LOAD_ROUNDS"
    echo "h2_clients=$H2_CLIENTS"
    echo "h2_streams=$H2_STREAMS"
    echo "create_count=$CREATE_COUNT"
    echo "create_concurrency=$CREATE_CONCURRENCY"
    echo "list_iterations=$LIST_ITERATIONS"
    echo "usage_seconds=$USAGE_SECONDS"
    echo "usage_flush=$USAGE_FLUSH"
    echo "check_concurrency=$CHECK_CONCURRENCY"
    echo "revocations=$REVOCATIONS"
    echo "sidecars=$SIDECARS"
    echo "stages=${ONLY:-main fleet}"
    echo "fleet_configs=${FLEET_CONFIG_LIST[*]}"
    echo "fleet_revocations=$FLEET_REVOCATIONS"
    echo "fleet_snapshot_timeout=$FLEET_TIMEOUT"
    echo "fleet_resync=${FLEET_RESYNC_LIST[*]}"
  } >"$RESULTS/machine.txt"
}

# --- PostgreSQL, token-service, sidecars ----------------------------------------

start_postgres() {
  PG_BIN=$(pg_bindir)
  mkdir -m 0700 "$PG_DIR"
  if [[ $EUID -eq 0 ]]; then chown postgres:postgres "$PG_DIR"; fi
  log "PostgreSQL: a private cluster on a Unix socket"
  pg_init "$PG_BIN" "$PG_DIR/data" "$LOGS/initdb.log"
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
port = 5432
unix_socket_directories = '$PG_DIR'
max_connections = 200
shared_buffers = 256MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
EOF
  pg_start "$PG_BIN" "$PG_DIR/data" "$PG_DIR/server.log"
  PG_STARTED=1
  echo "postgresql=$("$PG_BIN/postgres" --version)" >>"$RESULTS/machine.txt"
  psql_db -d postgres -c "CREATE DATABASE tokens" >/dev/null
  psql_db -d tokens -c "CREATE EXTENSION pg_stat_statements" >/dev/null
  DATABASE_URL=$(database_url tokens)
  export DATABASE_URL
}

# database_url DB: the URI of database DB of the private cluster.
database_url() { pg_url "$PG_DIR" "$1"; }

psql_db() { "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres "$@"; }
sql_in() {
  local db=$1
  shift
  psql_db -d "$db" -tA "$@"
}
sql() { sql_in tokens "$@"; }

bootstrap() {
  "$TOKEN_SERVICE" migrate >"$LOGS/migrate.log" 2>&1 || die "token-service migrate failed"
  ADMIN_TOKEN=$("$TOKEN_SERVICE" bootstrap-admin --user bench-admin 2>"$LOGS/bootstrap-admin.log")
  SERVICE_TOKEN=$("$TOKEN_SERVICE" bootstrap-service --user bench-sidecar 2>"$LOGS/bootstrap-service.log")
  [[ -n $ADMIN_TOKEN && -n $SERVICE_TOKEN ]] || die "bootstrap printed no token"
}

# The bench client reads the admin token from its environment, sidecars
# their service token from theirs: never on a command line.
client() { BENCH_ADMIN_TOKEN=$ADMIN_TOKEN "$BENCH_CLIENT" "$@"; }

start_service() {
  start token-service "$TOKEN_SERVICE" --listen 127.0.0.1:0 "${SERVICE_FLAGS[@]}"
  SERVICE_ADDR=$(address_of token-service)
}

# start_sidecar NAME [--pinned] [FLAGS...]: --pinned puts it on the server
# core. Waits until it is ready (its first snapshot loaded); its address is
# then $(address_of NAME).
start_sidecar() {
  local name=$1 pin=()
  shift
  if [[ ${1:-} == --pinned ]]; then
    pin=("${PIN_SERVER[@]}")
    shift
  fi
  TOKEN_SIDECAR_SERVICE_TOKEN=$SERVICE_TOKEN start "$name" "${pin[@]}" "$TOKEN_SIDECAR" \
    --listen 127.0.0.1:0 --token_service "$SERVICE_ADDR" "${SIDECAR_FLAGS[@]}" "$@"
}

# --- The benchmarks ----------------------------------------------------------------

bench_core() {
  log "core: Google Benchmark of the sidecar's verification (min time ${CORE_MIN_TIME}s a case)"
  "$BENCH_CORE" --benchmark_min_time="$CORE_MIN_TIME" --benchmark_format=json \
    --benchmark_out="$RESULTS/core.json" --benchmark_out_format=json \
    >"$LOGS/bench-core.log" 2>&1 || die "bench-core failed"
}

# Where one verification's time goes, at a million cached tokens.
profile_core() {
  log "core: profiling BM_Verifier at 1,000,000 tokens (perf)"
  perf_record "$WORK/core.perf" -- "$BENCH_CORE" --benchmark_filter='^BM_Verifier/tokens:1000000$' \
    --benchmark_min_time=3
  perf_report "$WORK/core.perf" >"$RESULTS/profile-core.txt"
}

# The memory of a sidecar whose snapshot is empty, the baseline of the
# bytes per cached token.
snapshot_baseline() {
  log "snapshot: a sidecar with an empty snapshot (memory baseline)"
  start_sidecar sidecar-empty
  sleep 1
  local pid=${PID_OF[sidecar-empty]}
  echo "empty_rss_kib=$(vm_kib "$pid" VmRSS) empty_hwm_kib=$(vm_kib "$pid" VmHWM)" \
    >"$RESULTS/snapshot-empty.txt"
  stop sidecar-empty
}

# CACHED_TOKENS tokens of CACHED_TOKENS / TOKENS_PER_USER users, with
# token-service stopped: its change feed would otherwise read every new row
# and fan them out to the sidecars as one huge delta. The rows skip the
# change-feed trigger (session_replication_role) and take their versions
# directly; only their hashes need to be distinct.
bulk_load() {
  local t0
  t0=$(now_ns)
  load_tokens "$CACHED_TOKENS" tokens
  echo "load_seconds=$(seconds_since "$t0")" >"$RESULTS/load.txt"
}

# load_tokens COUNT DB: COUNT tokens of COUNT / TOKENS_PER_USER users into
# database DB, as above. Where the schema has token scopes, two thirds of the
# tokens have some, as a catalogue of a few scopes would give them: none,
# things:read, or things:read and things:write, in turn.
load_tokens() {
  local count=$1 db=$2 users=$(($1 / TOKENS_PER_USER))
  local scopes_column="" scopes_value=""
  if [[ $(sql_in "$db" -c "SELECT count(*) FROM information_schema.columns
        WHERE table_name = 'tokens' AND column_name = 'scopes'") == 1 ]]; then
    scopes_column=", scopes"
    scopes_value=", CASE i % 3 WHEN 0 THEN '{}'::text[] WHEN 1 THEN '{things:read}'
                     ELSE '{things:read,things:write}' END"
    # i % 3 == 0 has none.
    echo "scoped_tokens=$((count - (count + 2) / 3))" >"$RESULTS/scopes-$db.txt"
  fi
  log "loading $count tokens of $users users into $db (generate_series)"
  sql_in "$db" >"$LOGS/load-$db.log" 2>&1 <<EOF || die "the bulk load into $db failed"
SET session_replication_role = replica;
INSERT INTO users (user_id, display_name, email, role, created_at, updated_at, version)
SELECT 'load-' || u, 'Load user ' || u, 'load-' || u || '@bench.invalid', 'USER', now(), now(),
       nextval('change_version_seq')
  FROM generate_series(0, $((users - 1))) AS u;
INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on, version$scopes_column)
SELECT gen_random_uuid(), 'load-' || (i % $users), 'load-' || i,
       sha256(('bench-load-' || i)::bytea), 'utk_load…' || lpad((i % 10000)::text, 4, '0'),
       now() - i * interval '1 second', current_date + 30 + (i % 300),
       nextval('change_version_seq')$scopes_value
  FROM generate_series(0, $((count - 1))) AS i;
EOF
  sql_in "$db" -c "VACUUM ANALYZE users" -c "VACUUM ANALYZE tokens" >>"$LOGS/load-$db.log" 2>&1 ||
    die "VACUUM ANALYZE failed"
}

snapshot_rounds() {
  local round t0 t1 pid hwm rss
  for ((round = 1; round <= SNAPSHOT_ROUNDS; round++)); do
    log "snapshot: a sidecar loads $CACHED_TOKENS tokens (round $round of $SNAPSHOT_ROUNDS)"
    t0=$(now_ns)
    start_sidecar sidecar-snapshot
    t1=$(now_ns)
    pid=${PID_OF[sidecar-snapshot]}
    hwm=$(vm_kib "$pid" VmHWM)
    scrape_metrics sidecar-snapshot "$RESULTS/snapshot-metrics-$round.txt"
    # What stays once the load is over (the builder's and the stream's
    # buffers are gone).
    sleep 1
    rss=$(vm_kib "$pid" VmRSS)
    echo "round=$round ready_ms=$(((t1 - t0) / 1000000)) hwm_kib=$hwm rss_kib=$rss" >>"$RESULTS/snapshot.txt"
    stop sidecar-snapshot
  done
}

# CreateToken throughput; the tokens' secrets go to the private directory
# for the Check benchmarks.
create_tokens() {
  log "management: CreateToken x $CREATE_COUNT by $CREATE_CONCURRENCY concurrent clients"
  client create-tokens --service "$SERVICE_ADDR" --count "$CREATE_COUNT" \
    --concurrency "$CREATE_CONCURRENCY" --users 20 --user_prefix bench-user \
    --secrets "$PRIVATE/secrets" >"$RESULTS/create.json" 2>"$LOGS/create.log" ||
    die "create-tokens failed"
}

declare -A CHECK_ADDR=()
declare -A CHECK_NAME=([sidecar]=sidecar-1 [empty]=empty-authz [naive]=naive-authz)
CHECK_SERVERS=(sidecar empty naive)

# h2load_run SERVER ROUND [SECONDS]: one measured run, checked; with the
# server's CPU time over the measured part.
h2load_run() {
  local server=$1 round=$2 seconds=${3:-$LOAD_SECONDS} h2 before pid
  local out="$RESULTS/h2load-$server-$round.txt" requests="$WORK/h2load-$server-$round.log"
  pid=${PID_OF[${CHECK_NAME[$server]}]}
  "${PIN_CLIENT[@]}" h2load -t 1 -c "$H2_CLIENTS" -m "$H2_STREAMS" \
    -D "$seconds" --warm-up-time="$WARMUP_SECONDS" \
    -d "$PRIVATE/check.bin" -H 'content-type: application/grpc' -H 'te: trailers' \
    --log-file="$requests" \
    "http://${CHECK_ADDR[$server]}/envoy.service.auth.v3.Authorization/Check" >"$out" 2>&1 &
  h2=$!
  # Both samples inside the measured part, while h2load still runs.
  sleep "$WARMUP_SECONDS.3"
  before=$(cpu_sample "$pid" "$h2")
  sleep "$((seconds - 1))"
  echo "$before $(cpu_sample "$pid" "$h2")" >"$RESULTS/h2load-$server-$round.cpu"
  wait "$h2" || die "h2load against $server failed: $(tail -n 3 "$out")"
  grep -qE 'requests: .* 0 failed, 0 errored, 0 timeout' "$out" ||
    die "h2load against $server had failed requests: $(grep 'requests:' "$out")"
  grep -qE 'status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx' "$out" ||
    die "h2load against $server got non-2xx answers: $(grep 'status codes:' "$out")"
  # Per-request latencies (microseconds) -> percentiles.
  python3 "$REPO_ROOT/bench/report.py" latencies "$requests" >"$RESULTS/h2load-$server-$round.lat.json"
  rm -f "$requests"
}

# Check: the sidecar against the ceiling (an empty service) and the naive
# baseline, all pinned to the server core, h2load on the other.
check_load() {
  local round server
  client check-body --secrets "$PRIVATE/secrets" --body "$PRIVATE/check.bin" \
    >"$RESULTS/check-body.json" 2>"$LOGS/check-body.log" || die "check-body failed"
  start empty-authz "${PIN_SERVER[@]}" "$EMPTY_AUTHZ" --listen 127.0.0.1:0
  start naive-authz "${PIN_SERVER[@]}" "$NAIVE_AUTHZ" --listen 127.0.0.1:0
  CHECK_ADDR[sidecar]=$(address_of sidecar-1)
  CHECK_ADDR[empty]=$(address_of empty-authz)
  CHECK_ADDR[naive]=$(address_of naive-authz)

  # A real gRPC client first: the body must be a Check that each server allows.
  for server in "${CHECK_SERVERS[@]}"; do
    client verify-check --target "${CHECK_ADDR[$server]}" --body "$PRIVATE/check.bin" \
      >"$RESULTS/verify-$server.json" 2>>"$LOGS/verify.log" ||
      die "Check on $server was not allowed: $(tail -n 1 "$LOGS/verify.log")"
  done
  # Each round runs the sidecar and the empty service back to back, taking
  # turns at going first, so that a round compares two runs made under the
  # same conditions; the naive server's runs, which load PostgreSQL on both
  # cores, come after all of them.
  local order
  for ((round = 1; round <= LOAD_ROUNDS; round++)); do
    order=(sidecar empty)
    if ((round % 2 == 0)); then order=(empty sidecar); fi
    for server in "${order[@]}"; do
      log "check: h2load against $server (round $round of $LOAD_ROUNDS, ${LOAD_SECONDS}s)"
      h2load_run "$server" "$round"
    done
  done
  for ((round = 1; round <= LOAD_ROUNDS; round++)); do
    log "check: h2load against naive (round $round of $LOAD_ROUNDS, ${LOAD_SECONDS}s)"
    h2load_run naive "$round"
  done
  # Still allowed after the load: nothing degraded into denials.
  for server in "${CHECK_SERVERS[@]}"; do
    client verify-check --target "${CHECK_ADDR[$server]}" --body "$PRIVATE/check.bin" \
      >/dev/null 2>>"$LOGS/verify.log" || die "Check on $server not allowed after the load"
  done
  if ((PROFILE)); then profile_check; fi
  stop naive-authz
  stop empty-authz
}

# Where the sidecar's core goes under this load: perf samples the server
# core during one more run.
profile_check() {
  local profiled core=(-a)
  log "check: profiling the sidecar under h2load (perf, ${PROFILE_SECONDS}s)"
  [[ -n $SERVER_CPU ]] && core+=(-C "$SERVER_CPU")
  h2load_run sidecar profile $((PROFILE_SECONDS + 2)) &
  profiled=$!
  sleep "$((WARMUP_SECONDS + 1))"
  perf_record "$WORK/check.perf" "${core[@]}" -- sleep "$PROFILE_SECONDS"
  wait "$profiled" || die "h2load failed while profiling"
  perf_report "$WORK/check.perf" --pid "${PID_OF[sidecar-1]}" >"$RESULTS/profile-check.txt"
}

# ListTokens latency as the client sees it, and PostgreSQL's own time for
# the statements it ran meanwhile.
list_tokens() {
  log "management: ListTokens first page x $LIST_ITERATIONS over $(sql -c 'SELECT count(*) FROM tokens') tokens"
  sql -c "SELECT pg_stat_statements_reset()" >/dev/null
  client list-tokens --service "$SERVICE_ADDR" --iterations "$LIST_ITERATIONS" --user load-7 \
    >"$RESULTS/list.json" 2>"$LOGS/list.log" || die "list-tokens failed"
  sql -c "SELECT coalesce(json_agg(s ORDER BY s.total_exec_time DESC), '[]')
            FROM (SELECT calls, total_exec_time, mean_exec_time, max_exec_time, query FROM pg_stat_statements
                   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'tokens')
                     AND calls >= $LIST_ITERATIONS) s" >"$RESULTS/list-statements.json"
}

# Last-used under a sustained Check load over the created tokens, on the
# only sidecar running: every usage statement in the window is its.
usage_writes() {
  local t0
  start_sidecar sidecar-2 --usage_flush_interval="$USAGE_FLUSH"
  log "last-used: ${USAGE_SECONDS}s of Checks over $CREATE_COUNT tokens, usage flushed every $USAGE_FLUSH"
  sql -c "SELECT pg_stat_statements_reset()" >/dev/null
  scrape_metrics token-service "$RESULTS/usage-service-metrics-before.txt"
  scrape_metrics sidecar-2 "$RESULTS/usage-sidecar-metrics-before.txt"
  t0=$(now_ns)
  client check-load --target "$(address_of sidecar-2)" --secrets "$PRIVATE/secrets" \
    --duration "${USAGE_SECONDS}s" --concurrency "$CHECK_CONCURRENCY" \
    >"$RESULTS/usage-load.json" 2>"$LOGS/usage-load.log" || die "check-load failed"
  # Let the last flush land.
  sleep 3
  sql -c "SELECT coalesce(json_agg(s ORDER BY s.calls DESC), '[]')
            FROM (SELECT calls, rows, query FROM pg_stat_statements
                   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'tokens')
                     AND query NOT ILIKE '%pg_stat_statements%') s" >"$RESULTS/usage-statements.json"
  echo "window_seconds=$(seconds_since "$t0")" >"$RESULTS/usage-window.txt"
  scrape_metrics token-service "$RESULTS/usage-service-metrics-after.txt"
  scrape_metrics sidecar-2 "$RESULTS/usage-sidecar-metrics-after.txt"
  sql -c "SELECT count(*) FROM tokens WHERE last_used_at IS NOT NULL AND user_id LIKE 'bench-user-%'" \
    >"$RESULTS/usage-tokens.txt"
}

# RevokeToken -> every sidecar denies: sidecar-2 and SIDECARS - 1 more.
propagation() {
  local i addresses
  addresses=$(address_of sidecar-2)
  for ((i = 3; i <= SIDECARS + 1; i++)); do
    start_sidecar "sidecar-$i"
    addresses+=",$(address_of "sidecar-$i")"
  done
  log "propagation: $REVOCATIONS revocations, each timed until $SIDECARS sidecars deny"
  client propagation --service "$SERVICE_ADDR" --sidecars "$addresses" \
    --count "$REVOCATIONS" --user_prefix bench-revoke \
    >"$RESULTS/propagation.json" 2>"$LOGS/propagation.log" || die "propagation failed"
}

# --- The fleet stage -----------------------------------------------------------

declare -A FLEET_BIN=()   # design -> token-service binary
declare -A FLEET_FLAGS=() # design -> extra flags, one string
FLEET_RUN=()              # the designs measured, in order
FLEET_DB=""               # the fleet database now loaded
FLEET_ADMIN=""            # its tokens
FLEET_SERVICE=""

# The token-service binaries the fleet stage measures: this build's ("new")
# and FLEET_BASELINE_SERVICE ("baseline"), as far as FLEET_DESIGNS asks.
find_fleet_designs() {
  local design
  FLEET_BIN=([new]=$TOKEN_SERVICE [baseline]=${FLEET_BASELINE_SERVICE:-})
  [[ -x $TOKEN_SERVICE ]] || FLEET_BIN[new]=""
  FLEET_FLAGS=([new]=${FLEET_SERVICE_FLAGS:-} [baseline]=${FLEET_BASELINE_FLAGS:-})
  FLEET_RUN=()
  for design in ${FLEET_DESIGNS:-new baseline}; do
    [[ $design == new || $design == baseline ]] ||
      die "FLEET_DESIGNS: \"$design\" is neither new nor baseline"
    [[ -n ${FLEET_BIN[$design]} ]] || continue
    [[ -x ${FLEET_BIN[$design]} ]] || die "FLEET_BASELINE_SERVICE is not an executable file"
    FLEET_RUN+=("$design")
  done
  ((${#FLEET_RUN[@]})) || die "the fleet stage has no token-service to measure (FLEET_DESIGNS)"
}

# fleet_header DESIGN: what the results of DESIGN were measured with.
fleet_header() {
  local design=$1 bin=${FLEET_BIN[$1]} commit compiled
  # The compiler's flags, from the debug information when there is some.
  compiled=$(readelf --debug-dump=info "$bin" 2>/dev/null | grep -m1 'DW_AT_producer' |
    sed -E 's/.*\): //' || true)
  if [[ $design == new ]]; then
    compiled="CMAKE_BUILD_TYPE=Release: $(sed -n 's/^CMAKE_CXX_FLAGS_RELEASE:[A-Z]*=//p' \
      "$BUILD_DIR/CMakeCache.txt")"
    commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
    if ! git -C "$REPO_ROOT" diff --quiet HEAD -- services common proto 2>/dev/null; then
      commit+=" with uncommitted changes"
    fi
  elif [[ -f $(dirname "$bin")/COMMIT ]]; then
    commit=$(head -c 64 "$(dirname "$bin")/COMMIT" | tr -d '[:space:]')
  else
    commit=unknown
  fi
  echo "# bench/run.sh's fleet stage: bench-fleet against one token-service binary (the"
  echo "# \"$design\" column of docs/benchmarks.md's \"Sync feed at fleet scale\"); bench/report.py reads it."
  echo "design=$design"
  echo "commit=$commit"
  echo "binary=$(shown_args "$bin")"
  echo "sha256=$(sha256sum "$bin" | cut -d' ' -f1)"
  echo "compiled=${compiled:-unknown}"
  echo "flags=${FLEET_FLAGS[$design]:-(defaults)}"
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "command=$SHOWN_COMMAND"
  echo "environment=FLEET_DESIGNS=\"${FLEET_RUN[*]}\"${FLEET_BASELINE_SERVICE:+ FLEET_BASELINE_SERVICE=PATH}"
  echo "cores=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "kernel=$(uname -sr)"
  echo "postgresql=$("$PG_BIN/postgres" --version)"
  echo "revocations=$FLEET_REVOCATIONS"
  echo "snapshot_timeout=$FLEET_TIMEOUT"
}

# fleet_database COUNT: a database of its own holding COUNT bulk-loaded
# tokens, with an admin and a SERVICE token; the previous one is dropped.
fleet_database() {
  local count=$1 db="fleet_$1" bin=${FLEET_BIN[${FLEET_RUN[0]}]} url
  [[ $FLEET_DB == "$db" ]] && return 0
  if [[ -n $FLEET_DB ]]; then psql_db -d postgres -c "DROP DATABASE $FLEET_DB" >/dev/null; fi
  psql_db -d postgres -c "CREATE DATABASE $db" >/dev/null
  FLEET_DB=$db
  url=$(database_url "$db")
  DATABASE_URL=$url "$bin" migrate >>"$LOGS/fleet-migrate.log" 2>&1 || die "migrating $db failed"
  FLEET_ADMIN=$(DATABASE_URL=$url "$bin" bootstrap-admin --user fleet-admin 2>>"$LOGS/fleet-migrate.log")
  FLEET_SERVICE=$(DATABASE_URL=$url "$bin" bootstrap-service --user fleet-sidecar \
    2>>"$LOGS/fleet-migrate.log")
  [[ -n $FLEET_ADMIN && -n $FLEET_SERVICE ]] || die "bootstrap printed no token for $db"
  load_tokens "$count" "$db"
}

# fleet_run DESIGN CONSUMERS COUNT: one configuration against a fresh
# token-service of DESIGN on the loaded fleet database.
fleet_run() {
  local design=$1 consumers=$2 count=$3 bin=${FLEET_BIN[$1]} name="fleet-$1" url extra flags=() loadavg
  url=$(database_url "$FLEET_DB")
  read -r -a extra <<<"${FLEET_FLAGS[$design]}"
  # A binary without a ready file is found by the one port it listens on.
  if supports_flag "$bin" metrics_listen; then
    if supports_flag "$bin" ready_file; then
      flags+=(--metrics_listen=127.0.0.1:0)
    else
      flags+=(--metrics_listen=)
    fi
  fi
  # The revocations to time are issued up front, faster than the issuing
  # rate limit lets any caller.
  if supports_flag "$bin" token_create_rate; then
    flags+=(--token_create_rate=1000000 --token_create_burst=1000000
      --max_live_tokens_per_user=1000000)
  fi
  DATABASE_URL=$url "$bin" migrate >>"$LOGS/fleet-migrate.log" 2>&1 || die "migrating $FLEET_DB failed"
  start "$name" env DATABASE_URL="$url" "$bin" --listen 127.0.0.1:0 "${flags[@]}" "${extra[@]}"
  log "fleet: $consumers consumers × $count tokens against the $design token-service"
  # How busy the machine was (other work on it shows here), before and after.
  loadavg=$(cut -d' ' -f1 /proc/loadavg)
  BENCH_ADMIN_TOKEN=$FLEET_ADMIN BENCH_SERVICE_TOKEN=$FLEET_SERVICE "$BENCH_FLEET" \
    --target "$(address_of "$name")" --consumers "$consumers" \
    --revocations "$FLEET_REVOCATIONS" --service_pid "${PID_OF[$name]}" --database_url "$url" \
    --label "$design" --snapshot_timeout "$FLEET_TIMEOUT" >"$WORK/fleet.out" 2>>"$LOGS/bench-fleet.log" ||
    die "bench-fleet against the $design token-service failed: $(tail -n 2 "$LOGS/bench-fleet.log")"
  loadavg+=",$(cut -d' ' -f1 /proc/loadavg)"
  sed "s/\$/ loaded=$count loadavg=$loadavg/" "$WORK/fleet.out" >>"$RESULTS/fleet-$design.txt"
  stop "$name"
}

# --- Back in sync after token-service returns

RESYNC_ADDR="" # where token-service listens, the same after each restart

# resync_service LISTEN: this build's token-service on the fleet database.
resync_service() {
  local extra
  read -r -a extra <<<"${FLEET_FLAGS[new]}"
  start resync-service env DATABASE_URL="$(database_url "$FLEET_DB")" "$TOKEN_SERVICE" \
    --listen "$1" "${SERVICE_FLAGS[@]}" "${extra[@]}"
}

# resync_restart VARIANT DOWN: stops token-service, leaves it down DOWN
# seconds (its sidecar's stream breaks and the channel backs off), starts it
# again on the same address and waits until it is ready.
resync_restart() {
  local variant=$1 down=$2 t0 t1 t2
  t0=$(now_ns)
  stop resync-service
  t1=$(now_ns)
  sleep "$down"
  # start truncates the log; keep what each run said.
  cat "$LOGS/resync-service.log" >>"$LOGS/resync-service-before.log"
  t2=$(now_ns)
  resync_service "$RESYNC_ADDR"
  echo "variant=$variant down_s=$down stop_ms=$(((t1 - t0) / 1000000))" \
    "listening_ms=$((($(now_ns) - t2) / 1000000))" >>"$RESULTS/resync-restarts.txt"
}

# resync_run VARIANT DOWN ROUNDS: bench-client resync as a coprocess, which
# says "restart" before each round and is told "ready" once token-service
# listens again.
resync_run() {
  local variant=$1 down=$2 rounds=$3 sidecar pid rfd wfd line status=0 restarts=0 loadavg
  local out="$RESULTS/resync-$variant.json"
  sidecar=$(address_of resync-sidecar)
  log "fleet: resync: $rounds restarts of token-service under a sidecar, each down ${down}s"
  loadavg=$(cut -d' ' -f1 /proc/loadavg)
  coproc RESYNC {
    BENCH_ADMIN_TOKEN=$FLEET_ADMIN exec "$BENCH_CLIENT" resync --service "$RESYNC_ADDR" \
      --sidecars "$sidecar" --count "$rounds" --user_prefix "resync-$variant" --out "$out" \
      2>>"$LOGS/resync.log"
  }
  # Bash forgets the coprocess's variables once it has exited.
  pid=$RESYNC_PID
  rfd=${RESYNC[0]}
  wfd=${RESYNC[1]}
  while :; do
    IFS= read -r -t 300 -u "$rfd" line || status=$?
    ((status == 0)) || break
    [[ $line == restart ]] || die "bench-client resync said \"$line\", not \"restart\""
    resync_restart "$variant" "$down"
    pid_alive "$pid" || break
    echo ready >&"$wfd"
    restarts=$((restarts + 1))
  done
  if ((status > 128)); then
    kill "$pid" 2>/dev/null || true
    die "bench-client resync said nothing for 300 s"
  fi
  wait "$pid" || die "bench-client resync failed: $(tail -n 2 "$LOGS/resync.log")"
  ((restarts == rounds)) || die "bench-client resync asked for $restarts restarts, not $rounds"
  loadavg+=",$(cut -d' ' -f1 /proc/loadavg)"
  echo "variant=$variant down_s=$down rounds=$rounds loaded=${FLEET_DB#fleet_} loadavg=$loadavg" \
    "file=$(basename "$out")" >>"$RESULTS/resync.txt"
}

# resync_environment: the fleet stage's variables that shape the restarts,
# as set for this run ("NAME=VALUE ...", with a trailing space).
resync_environment() {
  local name
  for name in FLEET_CONFIGS FLEET_RESYNC FLEET_SERVICE_FLAGS; do
    if [[ -n ${!name+set} ]]; then printf '%s="%s" ' "$name" "${!name}"; fi
  done
}

# One token-sidecar of this build follows token-service through restarts,
# on the fleet database loaded last.
fleet_resync() {
  local i
  [[ -n $FLEET_DB ]] || die "the fleet stage's restarts need a fleet database"
  {
    echo "# bench/run.sh's fleet stage: one token-sidecar through token-service restarts"
    echo "# (docs/benchmarks.md's \"Back in sync after token-service returns\"); bench/report.py reads it."
    echo "commit=$(git -C "$REPO_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
    if ! git -C "$REPO_ROOT" diff --quiet HEAD -- services sidecar common proto 2>/dev/null; then
      echo "uncommitted=with uncommitted changes under services, sidecar, common or proto"
    fi
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "service_flags=${FLEET_FLAGS[new]:-(defaults)}"
    echo "command=$(resync_environment)$SHOWN_COMMAND"
  } >"$RESULTS/resync.txt"
  resync_service 127.0.0.1:0
  RESYNC_ADDR=$(address_of resync-service)
  SERVICE_ADDR=$RESYNC_ADDR SERVICE_TOKEN=$FLEET_SERVICE start_sidecar resync-sidecar
  for i in "${!FLEET_RESYNC_LIST[@]}"; do
    resync_run "$((i + 1))" "${FLEET_RESYNC_LIST[i]%:*}" "${FLEET_RESYNC_LIST[i]#*:}"
  done
  stop resync-sidecar
  stop resync-service
}

# Every configuration against every design, each on a token-service of its
# own started for it; configurations of one size share a database.
fleet() {
  local config design
  for design in "${FLEET_RUN[@]}"; do fleet_header "$design" >"$RESULTS/fleet-$design.txt"; done
  for config in "${FLEET_CONFIG_LIST[@]}"; do
    [[ $config =~ ^([0-9]+):([0-9]+)$ ]] || die "fleet configuration \"$config\" is not N:TOKENS"
    fleet_database "${BASH_REMATCH[2]}"
    for design in "${FLEET_RUN[@]}"; do fleet_run "$design" "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; done
  done
  if fleet_resyncs; then fleet_resync; fi
  if [[ -n ${FLEET_BASELINE_SAVE:-} && -f $RESULTS/fleet-baseline.txt ]]; then
    cp "$RESULTS/fleet-baseline.txt" "$FLEET_BASELINE_SAVE"
    log "the baseline's results are in $FLEET_BASELINE_SAVE"
  fi
}

render() {
  local start_seconds=$1
  echo "loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/machine.txt"
  echo "elapsed_seconds=$((SECONDS - start_seconds))" >>"$RESULTS/machine.txt"
  python3 "$REPO_ROOT/bench/report.py" render "$RESULTS" >"$OUT.tmp" ||
    die "rendering the report failed"
  mv -f "$OUT.tmp" "$OUT"
  log "report written to $OUT ($((SECONDS - start_seconds))s)"
}

# --- main --------------------------------------------------------------------

# The snapshot benchmark, first of the main stage: a sidecar's memory and
# load time before and after the bulk load. token-service stays up.
snapshot_benchmark() {
  bootstrap
  start_service
  snapshot_baseline
  stop token-service
  bulk_load
  start_service
  snapshot_rounds
}

# The main stage's snapshot benchmark alone.
snapshot_stage() {
  local name
  snapshot_benchmark
  for name in "${STARTED[@]}"; do stop "$name"; done
}

# Every benchmark of one sidecar and token-service, on one database.
main_stage() {
  local name
  snapshot_benchmark

  # One sidecar with default flags, on the server core, follows the feed
  # while tokens are created and then serves the Check benchmarks.
  start_sidecar sidecar-1 --pinned
  create_tokens
  check_load
  # Stopped (its last usage flushed): the usage benchmark counts the
  # statements of one sidecar only.
  stop sidecar-1
  list_tokens
  usage_writes
  propagation

  for name in "${STARTED[@]}"; do stop "$name"; done
}

# Everything runs from main, so the whole file is read before anything runs.
main() {
  local start_seconds=$SECONDS
  parse_args "$@"
  set_sizes
  cd "$REPO_ROOT"
  if [[ -z $OUT ]]; then
    if ((QUICK)) || [[ -n $ONLY ]]; then
      OUT=$(mktemp "${TMPDIR:-/tmp}/benchmarks-${ONLY:-quick}.XXXXXX.md")
    else
      OUT="$REPO_ROOT/docs/benchmarks.md"
    fi
  fi
  if { ((QUICK)) || [[ -n $ONLY ]]; } &&
    [[ $(realpath -m -- "$OUT") == "$(realpath -m -- "$REPO_ROOT/docs/benchmarks.md")" ]]; then
    die "--quick and --only never overwrite docs/benchmarks.md; pass another --out"
  fi
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  make_work_dir

  if ((BUILD)); then build; fi
  find_tools
  describe_machine
  # First, while nothing else of ours runs.
  if run_stage main; then bench_core; fi

  start_postgres
  if run_stage main; then main_stage; fi
  if run_stage fleet; then fleet; fi
  if [[ $ONLY == snapshot ]]; then snapshot_stage; fi
  if run_stage main && ((PROFILE)); then profile_core; fi
  render "$start_seconds"
}

# One line, so that bash has read it whole before main runs.
main "$@"; exit
