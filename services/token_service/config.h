#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/env_flags.h"
#include "common/config/tls_flags.h"
#include "common/grpc/transport_limits.h"
#include "common/net/forwarded_for.h"

namespace tokens::service {

// kHelp and kVersion: --help or --version was given; nothing else is read.
enum class Command {
  kServe,
  kMigrate,
  kBootstrapAdmin,
  kBootstrapService,
  kProbe,
  kHelp,
  kVersion
};

// Everything token-service reads from its flags (each with an environment
// fallback; the command line wins), validated once at start-up.
struct ServiceConfig {
  Command command = Command::kServe;
  std::string listen;                 // --listen, TOKEN_SERVICE_LISTEN
  std::string metrics_listen;         // --metrics_listen, TOKEN_SERVICE_METRICS_LISTEN ("": off)
  std::string http_listen;            // --http_listen, TOKEN_SERVICE_HTTP_LISTEN ("": off)
  std::string ready_file;             // --ready_file, TOKEN_SERVICE_READY_FILE ("": none)
  std::string database_url;           // --database_url, DATABASE_URL (required)
  int max_token_lifetime_days = 365;  // --max_token_lifetime_days
  std::string token_prefix;           // --token_prefix
  int db_pool_size = 8;               // --db_pool_size
  std::string log_level;              // --log_level
  absl::Duration shutdown_timeout;    // --shutdown_timeout
  absl::Duration sync_poll_interval;  // --sync_poll_interval
  std::string sync_listen;            // --sync_listen ("": TokenSync on --listen)
  int sync_max_streams = 10000;       // --sync_max_streams
  int sync_max_streams_per_caller = 1000;  // --sync_max_streams_per_caller
  absl::Duration sync_stall_timeout;       // --sync_stall_timeout
  int max_live_tokens_per_user = 100;      // --max_live_tokens_per_user
  std::vector<std::string> token_scopes;   // --token_scopes, in the operator's order
  int token_create_rate = 30;              // --token_create_rate (per caller, per minute)
  int token_create_burst = 60;             // --token_create_burst
  // --auth_failure_rate_per_client (per second; 0: no limit),
  // --auth_failure_burst_per_client, --auth_failure_log_interval
  int auth_failure_rate_per_client = 5;
  int auth_failure_burst_per_client = 50;
  absl::Duration auth_failure_log_interval;
  // bootstrap-admin and bootstrap-service only.
  std::string bootstrap_user;        // --user
  std::string bootstrap_expires_on;  // --expires_on (empty: default)
  // --http_trusted_proxies, TOKEN_SERVICE_HTTP_TRUSTED_PROXIES: the peers
  // whose X-Forwarded-For names the HTTP client (empty: nobody's).
  TrustedProxies http_trusted_proxies;
  // --page_token_key, TOKEN_SERVICE_PAGE_TOKEN_KEY: seals page tokens ("": a
  // random key per process).
  std::string page_token_key;
  // --max_concurrent_streams, --max_connection_idle, --max_connection_age,
  // --max_connection_age_grace, --grpc_memory_quota, --max_metadata_size:
  // every listener's.
  TransportLimits limits;
  // TLS of every gRPC listener: --tls_cert, --tls_key, --tls_client_ca,
  // --tls_reload_interval (TOKEN_SERVICE_TLS_*). The probe command's
  // --address and --probe_timeout (probe only).
  ServingTls tls;
  ProbeOptions probe;
};

// One line per flag: name, environment variable, default, meaning. Used by
// --help and checked against the operator docs by a test.
std::vector<FlagDoc> DescribeFlags();

// --help's text: the commands, then every flag with its environment
// variable, default and meaning.
std::string HelpText();

// Parses argv (after applying environment fallbacks) and validates the
// result. INVALID_ARGUMENT, one line, names the flag at fault (and its
// environment variable when the value came from there).
absl::StatusOr<ServiceConfig> LoadConfig(int argc, char** argv);

}  // namespace tokens::service
