#include "sidecar/config.h"

#include "absl/flags/flag.h"
#include "common/config/command_line.h"
#include "common/config/env_flags.h"
#include "common/config/tls_flags.h"
#include "common/config/transport_flags.h"
#include "common/metrics/http_exporter.h"
#include "common/process/ready_file.h"
#include "common/token/token_codec.h"
#include "spdlog/common.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052",
          "gRPC listen address for Envoy's Check and Authenticate (host:port; port 0 picks one)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9102",
          "Prometheus metrics address: plain HTTP, GET /metrics (host:port; port 0 picks one; "
          "empty turns metrics off)");
ABSL_FLAG(std::string, ready_file, "",
          "Once ready (its first snapshot is loaded (health SERVING)), write this file: JSON with "
          "the pid and the "
          "bound addresses (grpc, metrics); removed on shutdown. Empty: none");
ABSL_FLAG(std::string, token_service, "127.0.0.1:50051", "token-service's gRPC address");
ABSL_FLAG(std::string, service_token, "",
          "A token of a SERVICE user, for TokenSync; required. Prefer the environment "
          "variable: command lines are visible to other local users");
ABSL_FLAG(absl::Duration, usage_flush_interval, absl::Seconds(5),
          "How often last-used times are sent to token-service");
ABSL_FLAG(std::string, token_prefix, "utk", "Prefix of the tokens to accept");
ABSL_FLAG(absl::Duration, negative_cache_ttl, absl::Seconds(5),
          "How long an unknown or revoked token's lookup answer is remembered");
ABSL_FLAG(double, lookup_rate, 100, "Cache-miss lookups per second to token-service, at most");
ABSL_FLAG(double, lookup_burst, 200, "Cache-miss lookups allowed in a burst");
ABSL_FLAG(double, lookup_rate_per_client, 10,
          "Cache-miss lookups per second for one client address, at most (checked before "
          "--lookup_rate)");
ABSL_FLAG(double, lookup_burst_per_client, 20, "Cache-miss lookups one client may make in a burst");
ABSL_FLAG(absl::Duration, lookup_timeout, absl::Milliseconds(500),
          "Deadline of one cache-miss lookup");
ABSL_FLAG(int, lookup_threads, 16,
          "Threads that wait on token-service for cache-miss lookups, so that gRPC's own "
          "threads never do");
ABSL_FLAG(bool, remove_authorization_header, true,
          "Whether an allowed Check removes the authorization header before the upstream");
ABSL_FLAG(absl::Duration, max_reconnect_backoff, absl::Seconds(5),
          "Longest wait before reopening a sync stream that token-service ended before it "
          "delivered anything (a refusal); a stream that broke is reopened at once and waits "
          "for token-service");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(std::string, token_service_ca, "",
          "PEM CA certificates token-service's certificate must be signed by; when set, the "
          "link to token-service is TLS (and must name the host of --token_service)");
ABSL_FLAG(std::string, token_service_client_cert, "",
          "PEM client certificate offered to token-service (its mTLS); with "
          "--token_service_client_key, needs --token_service_ca");
ABSL_FLAG(std::string, token_service_client_key, "",
          "PEM private key of --token_service_client_cert (unencrypted)");

namespace tokens::sidecar {
namespace {

constexpr EnvBinding kEnv[] = {
    {"listen", "TOKEN_SIDECAR_LISTEN"},
    {"metrics_listen", "TOKEN_SIDECAR_METRICS_LISTEN"},
    {"ready_file", "TOKEN_SIDECAR_READY_FILE"},
    {"token_service", "TOKEN_SERVICE_ADDR"},
    {"service_token", "TOKEN_SIDECAR_SERVICE_TOKEN", /*secret=*/true},
    {"usage_flush_interval", "TOKEN_SIDECAR_USAGE_FLUSH_INTERVAL"},
    {"token_prefix", "TOKEN_SIDECAR_TOKEN_PREFIX"},
    {"negative_cache_ttl", "TOKEN_SIDECAR_NEGATIVE_CACHE_TTL"},
    {"lookup_rate", "TOKEN_SIDECAR_LOOKUP_RATE"},
    {"lookup_burst", "TOKEN_SIDECAR_LOOKUP_BURST"},
    {"lookup_rate_per_client", "TOKEN_SIDECAR_LOOKUP_RATE_PER_CLIENT"},
    {"lookup_burst_per_client", "TOKEN_SIDECAR_LOOKUP_BURST_PER_CLIENT"},
    {"lookup_timeout", "TOKEN_SIDECAR_LOOKUP_TIMEOUT"},
    {"lookup_threads", "TOKEN_SIDECAR_LOOKUP_THREADS"},
    {"remove_authorization_header", "TOKEN_SIDECAR_REMOVE_AUTHORIZATION_HEADER"},
    {"max_reconnect_backoff", "TOKEN_SIDECAR_MAX_RECONNECT_BACKOFF"},
    {"log_level", "TOKEN_SIDECAR_LOG_LEVEL"},
    {"shutdown_timeout", "TOKEN_SIDECAR_SHUTDOWN_TIMEOUT"},
    {"max_concurrent_streams", "TOKEN_SIDECAR_MAX_CONCURRENT_STREAMS"},
    {"max_connection_idle", "TOKEN_SIDECAR_MAX_CONNECTION_IDLE"},
    {"max_connection_age", "TOKEN_SIDECAR_MAX_CONNECTION_AGE"},
    {"max_connection_age_grace", "TOKEN_SIDECAR_MAX_CONNECTION_AGE_GRACE"},
    {"grpc_memory_quota", "TOKEN_SIDECAR_GRPC_MEMORY_QUOTA"},
    {"max_metadata_size", "TOKEN_SIDECAR_MAX_METADATA_SIZE"},
    {"tls_cert", "TOKEN_SIDECAR_TLS_CERT"},
    {"tls_key", "TOKEN_SIDECAR_TLS_KEY"},
    {"tls_client_ca", "TOKEN_SIDECAR_TLS_CLIENT_CA"},
    {"tls_reload_interval", "TOKEN_SIDECAR_TLS_RELOAD_INTERVAL"},
    {"token_service_ca", "TOKEN_SIDECAR_TOKEN_SERVICE_CA"},
    {"token_service_client_cert", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_CERT"},
    {"token_service_client_key", "TOKEN_SIDECAR_TOKEN_SERVICE_CLIENT_KEY"},
};

constexpr char kSynopsis[] =
    "token-sidecar: checks bearer tokens from an in-memory cache kept in step with\n"
    "token-service; serves Envoy's ext_authz Check and tokens.v1.Authenticator.\n"
    "\n"
    "  TOKEN_SIDECAR_SERVICE_TOKEN=<token of a SERVICE user> token-sidecar [flags]\n"
    "  token-sidecar probe [--address HOST:PORT] [--probe_timeout 5s]\n"
    "      exit 0 if the gRPC listener answers SERVING over a new connection, else 1\n"
    "      (NOT_SERVING until the first snapshot from token-service). With\n"
    "      --tls_cert/--tls_key it speaks TLS and offers them as its client\n"
    "      certificate, but does not verify the server's identity: it checks its\n"
    "      own process over loopback.\n"
    "  token-sidecar --help | --version";

constexpr const char* kProbeOnly[] = {"address", "probe_timeout"};

constexpr ProgramFlags kFlags = {"token-sidecar", kSynopsis, kEnv, kProbeOnly};

bool IsHostPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  return colon != std::string::npos && colon > 0 && colon + 1 < address.size();
}

absl::StatusOr<SidecarConfig> Validate(const CommandLine& line);

}  // namespace

std::vector<FlagDoc> DescribeFlags() { return tokens::DescribeFlags(kEnv, kProbeOnly); }

std::string HelpText() { return tokens::HelpText(kFlags); }

absl::StatusOr<SidecarConfig> LoadConfig(int argc, char** argv) {
  return LoadConfigFrom<SidecarConfig>(kFlags, argc, argv, Validate);
}

namespace {

absl::StatusOr<SidecarConfig> Validate(const CommandLine& line) {
  if (line.args.size() > 1 || (line.args.size() == 1 && line.args[0] != "probe")) {
    return absl::InvalidArgumentError("unexpected argument \"" + line.args.back() +
                                      "\" (the one command is probe)");
  }

  SidecarConfig config;
  if (line.args.size() == 1) config.command = Command::kProbe;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.ready_file = absl::GetFlag(FLAGS_ready_file);
  config.token_service = absl::GetFlag(FLAGS_token_service);
  config.service_token =
      FlagOrEnvironment(absl::GetFlag(FLAGS_service_token), "TOKEN_SIDECAR_SERVICE_TOKEN");
  config.usage_flush_interval = absl::GetFlag(FLAGS_usage_flush_interval);
  config.token_prefix = absl::GetFlag(FLAGS_token_prefix);
  config.negative_cache_ttl = absl::GetFlag(FLAGS_negative_cache_ttl);
  config.lookup_rate = absl::GetFlag(FLAGS_lookup_rate);
  config.lookup_burst = absl::GetFlag(FLAGS_lookup_burst);
  config.lookup_rate_per_client = absl::GetFlag(FLAGS_lookup_rate_per_client);
  config.lookup_burst_per_client = absl::GetFlag(FLAGS_lookup_burst_per_client);
  config.lookup_timeout = absl::GetFlag(FLAGS_lookup_timeout);
  config.lookup_threads = absl::GetFlag(FLAGS_lookup_threads);
  config.remove_authorization = absl::GetFlag(FLAGS_remove_authorization_header);
  config.max_reconnect_backoff = absl::GetFlag(FLAGS_max_reconnect_backoff);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  config.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);

  if (!IsHostPort(config.listen)) return InvalidFlag("listen", "must be host:port");
  if (!metrics::IsMetricsAddress(config.metrics_listen)) {
    return InvalidFlag("metrics_listen", "must be host:port, or empty to turn metrics off");
  }
  if (absl::Status s = CheckReadyFilePath(config.ready_file); !s.ok()) {
    return InvalidFlag("ready_file", std::string(s.message()));
  }
  if (!IsHostPort(config.token_service)) return InvalidFlag("token_service", "must be host:port");
  if (!TokenCodec::IsValidPrefix(config.token_prefix)) {
    return InvalidFlag("token_prefix", "must match [a-z][a-z0-9]{0,15}");
  }
  absl::StatusOr<ServingTls> tls = ServingTlsFromFlags();
  if (!tls.ok()) return tls.status();
  config.tls = *std::move(tls);
  // The probe only talks to the listener: no service token, no token-service.
  if (config.command == Command::kProbe) {
    absl::StatusOr<ProbeOptions> probe = ProbeOptionsFromFlags(config.listen);
    if (!probe.ok()) return probe.status();
    config.probe = *std::move(probe);
    config.probe.program = "token-sidecar probe";
    config.probe.tls = config.tls.files;
    return config;
  }
  config.token_service_tls.ca = absl::GetFlag(FLAGS_token_service_ca);
  config.token_service_tls.cert = absl::GetFlag(FLAGS_token_service_client_cert);
  config.token_service_tls.key = absl::GetFlag(FLAGS_token_service_client_key);
  config.token_service_tls.ca_flag = "token_service_ca";
  config.token_service_tls.cert_flag = "token_service_client_cert";
  config.token_service_tls.key_flag = "token_service_client_key";
  if (config.token_service_tls.ca.empty() &&
      !(config.token_service_tls.cert.empty() && config.token_service_tls.key.empty())) {
    return InvalidFlag(config.token_service_tls.cert.empty() ? "token_service_client_key"
                                                             : "token_service_client_cert",
                       "needs --token_service_ca (a client certificate is offered over TLS only)");
  }
  if (absl::Status s = ReadTlsFiles(config.token_service_tls).status(); !s.ok()) return s;
  if (config.service_token.empty()) {
    return InvalidFlag(
        "service_token",
        "is required (or set TOKEN_SIDECAR_SERVICE_TOKEN): a token of a SERVICE user");
  }
  if (TokenCodec(config.token_prefix).Validate(config.service_token) != TokenFormatError::kOk) {
    return InvalidFlag("service_token", "is not a well-formed token");
  }
  if (config.usage_flush_interval <= absl::ZeroDuration()) {
    return InvalidFlag("usage_flush_interval", "must be positive");
  }
  if (config.negative_cache_ttl < absl::ZeroDuration()) {
    return InvalidFlag("negative_cache_ttl", "must not be negative");
  }
  if (!(config.lookup_rate > 0)) return InvalidFlag("lookup_rate", "must be positive");
  if (!(config.lookup_burst >= 1)) return InvalidFlag("lookup_burst", "must be at least 1");
  if (!(config.lookup_rate_per_client > 0)) {
    return InvalidFlag("lookup_rate_per_client", "must be positive");
  }
  if (!(config.lookup_burst_per_client >= 1)) {
    return InvalidFlag("lookup_burst_per_client", "must be at least 1");
  }
  if (config.lookup_timeout <= absl::ZeroDuration()) {
    return InvalidFlag("lookup_timeout", "must be positive");
  }
  if (config.lookup_threads < 1 || config.lookup_threads > 1024) {
    return InvalidFlag("lookup_threads", "must be from 1 to 1024");
  }
  if (config.max_reconnect_backoff < absl::Milliseconds(100)) {
    return InvalidFlag("max_reconnect_backoff", "must be at least 100ms");
  }
  // As InitLogging() reads it, checked here so that the message can name
  // the variable the level came from.
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off &&
      config.log_level != "off") {
    return InvalidFlag("log_level", "must be trace, debug, info, warn, error, critical or off");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return InvalidFlag("shutdown_timeout", "must not be negative");
  }
  absl::StatusOr<TransportLimits> limits = TransportLimitsFromFlags();
  if (!limits.ok()) return limits.status();
  config.limits = *limits;
  return config;
}

}  // namespace
}  // namespace tokens::sidecar
