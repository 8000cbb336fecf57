#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/env_flags.h"
#include "common/config/tls_flags.h"
#include "common/grpc/transport_limits.h"

namespace tokens::sidecar {

// kHelp and kVersion: --help or --version was given; nothing else is read.
enum class Command { kServe, kProbe, kHelp, kVersion };

// Everything token-sidecar reads from its flags (each with an environment
// fallback; the command line wins), validated once at start-up.
struct SidecarConfig {
  Command command = Command::kServe;
  std::string listen;                   // --listen, TOKEN_SIDECAR_LISTEN
  std::string metrics_listen;           // --metrics_listen, TOKEN_SIDECAR_METRICS_LISTEN ("": off)
  std::string ready_file;               // --ready_file, TOKEN_SIDECAR_READY_FILE ("": none)
  std::string token_service;            // --token_service, TOKEN_SERVICE_ADDR
  std::string service_token;            // --service_token, TOKEN_SIDECAR_SERVICE_TOKEN (required)
  absl::Duration usage_flush_interval;  // --usage_flush_interval
  std::string token_prefix;             // --token_prefix
  absl::Duration negative_cache_ttl;
  double lookup_rate = 100;
  double lookup_burst = 200;
  double lookup_rate_per_client = 10;
  double lookup_burst_per_client = 20;
  absl::Duration lookup_timeout;
  int lookup_threads = 16;
  bool remove_authorization = true;
  absl::Duration max_reconnect_backoff;
  std::string log_level;
  absl::Duration shutdown_timeout;
  // --max_concurrent_streams, --max_connection_idle, --max_connection_age,
  // --max_connection_age_grace, --grpc_memory_quota, --max_metadata_size.
  TransportLimits limits;
  // TLS: the listener's (--tls_cert, --tls_key, --tls_client_ca,
  // --tls_reload_interval) and the link to token-service's
  // (--token_service_ca, --token_service_client_cert,
  // --token_service_client_key; no ca: plaintext). The probe command's
  // --address and --probe_timeout (probe only).
  ServingTls tls;
  TlsFiles token_service_tls;
  ProbeOptions probe;  // probe only
};

// One line per flag: name, environment variable, default, meaning; a test
// holds docs/sidecar.md to it.
std::vector<FlagDoc> DescribeFlags();

// --help's text: the commands, then every flag with its environment
// variable, default and meaning.
std::string HelpText();

// Parses argv (after applying environment fallbacks) and validates the
// result. INVALID_ARGUMENT, one line, names the flag at fault (and its
// environment variable when the value came from there); the service token's
// value never appears in a message.
absl::StatusOr<SidecarConfig> LoadConfig(int argc, char** argv);

}  // namespace tokens::sidecar
