#include "services/token_service/config.h"

#include <algorithm>
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/auth/scopes.h"
#include "common/config/command_line.h"
#include "common/config/env_flags.h"
#include "common/config/tls_flags.h"
#include "common/config/transport_flags.h"
#include "common/http/host_port.h"
#include "common/metrics/http_exporter.h"
#include "common/net/forwarded_for.h"
#include "common/process/ready_file.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/page_token.h"
#include "services/token_service/storage/connection_string.h"
#include "spdlog/common.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9101",
          "Prometheus metrics address: plain HTTP, GET /metrics (host:port; port 0 picks one; "
          "empty turns metrics off)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "The HTTP face: TokenService and UserService as Connect-protocol JSON "
          "(POST /tokens.v1.TokenService/ListTokens, bearer header), plain HTTP "
          "(host:port; port 0 picks one; empty turns it off)");
ABSL_FLAG(std::string, http_trusted_proxies, "",
          "Reverse proxies in front of the HTTP face (Envoy): comma-separated IP addresses or "
          "prefixes (10.0.0.0/8, 2001:db8::/32). A request from one is attributed to the "
          "rightmost X-Forwarded-For address that is no such proxy (the failed-authentication "
          "limit, the access log's peer); a request from any other peer to the "
          "peer, its X-Forwarded-For ignored. Empty: X-Forwarded-For is never read");
ABSL_FLAG(std::string, ready_file, "",
          "Once ready (its listeners are up), write this file: JSON with the pid and the "
          "bound addresses (grpc, sync, metrics, http); removed on shutdown. Empty: none");
ABSL_FLAG(std::string, database_url, "", "PostgreSQL connection URI (libpq); required");
ABSL_FLAG(std::string, page_token_key, "",
          "Secret that seals page tokens (at least 32 characters, e.g. `openssl rand -hex 32`); "
          "the same on every replica, so that a page from one continues on another. Empty: a "
          "random key per process. Prefer TOKEN_SERVICE_PAGE_TOKEN_KEY");
ABSL_FLAG(int, max_token_lifetime_days, 365, "How many days ahead a token's expiry date may be");
ABSL_FLAG(std::string, token_prefix, "utk", "Prefix of newly issued tokens ([a-z][a-z0-9]{0,15})");
ABSL_FLAG(int, db_pool_size, 8, "PostgreSQL connections kept by the server");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(absl::Duration, sync_poll_interval, absl::Seconds(1),
          "How often the change feed is read without a notification (the safety net "
          "behind LISTEN/NOTIFY)");
ABSL_FLAG(std::string, sync_listen, "",
          "Serve tokens.v1.TokenSync (the sidecars' feed) on this address only, apart from "
          "--listen (host:port; empty: TokenSync is served on --listen)");
ABSL_FLAG(int, sync_max_streams, 10000,
          "SyncTokens streams open at once, all callers together; more are refused "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(int, sync_max_streams_per_caller, 1000,
          "SyncTokens streams open at once per SERVICE user; more are refused "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, sync_stall_timeout, absl::Seconds(30),
          "A SyncTokens stream whose caller has not taken a written message for this long "
          "is dropped");
ABSL_FLAG(int, max_live_tokens_per_user, 100,
          "ACTIVE tokens one user may hold; CreateToken beyond it is refused "
          "FAILED_PRECONDITION until one is revoked or expires");
ABSL_FLAG(int, token_create_rate, 30,
          "Tokens one caller may have issued (CreateToken, RotateToken) per minute after a "
          "burst, per token-service process; more are refused RESOURCE_EXHAUSTED");
ABSL_FLAG(int, token_create_burst, 60,
          "Tokens one caller may have issued at once before --token_create_rate applies");
ABSL_FLAG(int, auth_failure_rate_per_client, 5,
          "Failed authentications per second one client address may cause by token lookups "
          "(unknown, revoked or expired tokens, disabled users) after a burst; beyond it, "
          "its tokens are answered RESOURCE_EXHAUSTED without a lookup (0: no limit)");
ABSL_FLAG(int, auth_failure_burst_per_client, 50,
          "Failed authentications one client address may cause at once before "
          "--auth_failure_rate_per_client applies");
ABSL_FLAG(absl::Duration, auth_failure_log_interval, absl::Seconds(10),
          "Of each such interval, the first 10 calls refused for failed authentication are "
          "logged one by one and the rest summed up in one line");
ABSL_FLAG(std::string, token_scopes, "",
          "The catalogue of scopes a token may be given, comma-separated (e.g. "
          "things:read,things:write); each 1-64 characters of A-Z a-z 0-9 . _ : / -. A token "
          "created without scopes has its user's full access. Empty: tokens have no scopes");
ABSL_FLAG(std::string, user, "", "bootstrap-admin / bootstrap-service: the user id");
ABSL_FLAG(std::string, expires_on, "",
          "bootstrap-admin / bootstrap-service: expiry date of the printed token "
          "(default: 90 days ahead)");

namespace tokens::service {
namespace {

constexpr EnvBinding kEnv[] = {
    {"listen", "TOKEN_SERVICE_LISTEN"},
    {"metrics_listen", "TOKEN_SERVICE_METRICS_LISTEN"},
    {"http_listen", "TOKEN_SERVICE_HTTP_LISTEN"},
    {"http_trusted_proxies", "TOKEN_SERVICE_HTTP_TRUSTED_PROXIES"},
    {"ready_file", "TOKEN_SERVICE_READY_FILE"},
    {"database_url", "DATABASE_URL", /*secret=*/true},
    {"page_token_key", "TOKEN_SERVICE_PAGE_TOKEN_KEY", /*secret=*/true},
    {"max_token_lifetime_days", "TOKEN_SERVICE_MAX_TOKEN_LIFETIME_DAYS"},
    {"token_prefix", "TOKEN_SERVICE_TOKEN_PREFIX"},
    {"db_pool_size", "TOKEN_SERVICE_DB_POOL_SIZE"},
    {"log_level", "TOKEN_SERVICE_LOG_LEVEL"},
    {"shutdown_timeout", "TOKEN_SERVICE_SHUTDOWN_TIMEOUT"},
    {"sync_poll_interval", "TOKEN_SERVICE_SYNC_POLL_INTERVAL"},
    {"sync_listen", "TOKEN_SERVICE_SYNC_LISTEN"},
    {"sync_max_streams", "TOKEN_SERVICE_SYNC_MAX_STREAMS"},
    {"sync_max_streams_per_caller", "TOKEN_SERVICE_SYNC_MAX_STREAMS_PER_CALLER"},
    {"sync_stall_timeout", "TOKEN_SERVICE_SYNC_STALL_TIMEOUT"},
    {"max_live_tokens_per_user", "TOKEN_SERVICE_MAX_LIVE_TOKENS_PER_USER"},
    {"token_scopes", "TOKEN_SERVICE_TOKEN_SCOPES"},
    {"token_create_rate", "TOKEN_SERVICE_TOKEN_CREATE_RATE"},
    {"token_create_burst", "TOKEN_SERVICE_TOKEN_CREATE_BURST"},
    {"auth_failure_rate_per_client", "TOKEN_SERVICE_AUTH_FAILURE_RATE_PER_CLIENT"},
    {"auth_failure_burst_per_client", "TOKEN_SERVICE_AUTH_FAILURE_BURST_PER_CLIENT"},
    {"auth_failure_log_interval", "TOKEN_SERVICE_AUTH_FAILURE_LOG_INTERVAL"},
    {"max_concurrent_streams", "TOKEN_SERVICE_MAX_CONCURRENT_STREAMS"},
    {"max_connection_idle", "TOKEN_SERVICE_MAX_CONNECTION_IDLE"},
    {"max_connection_age", "TOKEN_SERVICE_MAX_CONNECTION_AGE"},
    {"max_connection_age_grace", "TOKEN_SERVICE_MAX_CONNECTION_AGE_GRACE"},
    {"grpc_memory_quota", "TOKEN_SERVICE_GRPC_MEMORY_QUOTA"},
    {"max_metadata_size", "TOKEN_SERVICE_MAX_METADATA_SIZE"},
    {"tls_cert", "TOKEN_SERVICE_TLS_CERT"},
    {"tls_key", "TOKEN_SERVICE_TLS_KEY"},
    {"tls_client_ca", "TOKEN_SERVICE_TLS_CLIENT_CA"},
    {"tls_reload_interval", "TOKEN_SERVICE_TLS_RELOAD_INTERVAL"},
};

constexpr char kSynopsis[] =
    "token-service: user API tokens over gRPC and PostgreSQL.\n"
    "\n"
    "  token-service [flags]                    serve the gRPC API\n"
    "  token-service migrate [flags]            apply the database schema (idempotent)\n"
    "  token-service bootstrap-admin --user ID  create admin ID if missing and print\n"
    "                                           one new admin token on stdout\n"
    "  token-service bootstrap-service --user ID\n"
    "                                           the same for a SERVICE user, whose\n"
    "                                           token a token-sidecar runs with\n"
    "  token-service probe [--address HOST:PORT] [--probe_timeout 5s]\n"
    "                                           exit 0 if the gRPC listener answers\n"
    "                                           SERVING over a new connection, else 1;\n"
    "                                           with --tls_cert/--tls_key it speaks TLS\n"
    "                                           and offers them as client certificate,\n"
    "                                           but does not verify the server's identity\n"
    "                                           (it checks its own process over loopback)\n"
    "  token-service --help | --version";

constexpr const char* kCommandOnly[] = {"user", "expires_on", "address", "probe_timeout"};

constexpr ProgramFlags kFlags = {"token-service", kSynopsis, kEnv, kCommandOnly};

absl::StatusOr<ServiceConfig> Validate(const CommandLine& line);

// --token_scopes: names separated by commas (spaces around them ignored),
// each a scope name (common/auth/scopes.h), each once.
absl::StatusOr<std::vector<std::string>> ParseScopeCatalogue(absl::string_view text) {
  std::vector<std::string> catalogue;
  if (absl::StripAsciiWhitespace(text).empty()) return catalogue;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    const absl::string_view name = absl::StripAsciiWhitespace(part);
    if (!IsScopeName(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "\"", absl::CHexEscape(name),
          "\" is not a scope name (1-64 characters of A-Z a-z 0-9 . _ : / -, comma-separated)"));
    }
    if (std::find(catalogue.begin(), catalogue.end(), name) != catalogue.end()) {
      return absl::InvalidArgumentError(absl::StrCat(name, " is listed twice"));
    }
    catalogue.emplace_back(name);
  }
  return catalogue;
}

}  // namespace

std::vector<FlagDoc> DescribeFlags() { return tokens::DescribeFlags(kEnv, kCommandOnly); }

std::string HelpText() { return tokens::HelpText(kFlags); }

absl::StatusOr<ServiceConfig> LoadConfig(int argc, char** argv) {
  return LoadConfigFrom<ServiceConfig>(kFlags, argc, argv, Validate);
}

namespace {

absl::StatusOr<ServiceConfig> Validate(const CommandLine& line) {
  ServiceConfig config;
  if (line.args.size() > 1) {
    return absl::InvalidArgumentError(
        "expected at most one command (migrate, bootstrap-admin, bootstrap-service, probe)");
  }
  if (line.args.size() == 1) {
    const std::string& command = line.args[0];
    if (command == "migrate") {
      config.command = Command::kMigrate;
    } else if (command == "bootstrap-admin") {
      config.command = Command::kBootstrapAdmin;
    } else if (command == "bootstrap-service") {
      config.command = Command::kBootstrapService;
    } else if (command == "probe") {
      config.command = Command::kProbe;
    } else if (command != "serve") {
      return absl::InvalidArgumentError(
          "unknown command \"" + command +
          "\" (expected migrate, bootstrap-admin, bootstrap-service or probe)");
    }
  }
  config.listen = absl::GetFlag(FLAGS_listen);
  config.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  config.http_listen = absl::GetFlag(FLAGS_http_listen);
  const std::string http_trusted_proxies = absl::GetFlag(FLAGS_http_trusted_proxies);
  config.ready_file = absl::GetFlag(FLAGS_ready_file);
  config.database_url = FlagOrEnvironment(absl::GetFlag(FLAGS_database_url), "DATABASE_URL");
  config.page_token_key =
      FlagOrEnvironment(absl::GetFlag(FLAGS_page_token_key), "TOKEN_SERVICE_PAGE_TOKEN_KEY");
  config.max_token_lifetime_days = absl::GetFlag(FLAGS_max_token_lifetime_days);
  config.token_prefix = absl::GetFlag(FLAGS_token_prefix);
  config.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  config.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  config.sync_poll_interval = absl::GetFlag(FLAGS_sync_poll_interval);
  config.sync_listen = absl::GetFlag(FLAGS_sync_listen);
  config.sync_max_streams = absl::GetFlag(FLAGS_sync_max_streams);
  config.sync_max_streams_per_caller = absl::GetFlag(FLAGS_sync_max_streams_per_caller);
  config.sync_stall_timeout = absl::GetFlag(FLAGS_sync_stall_timeout);
  config.max_live_tokens_per_user = absl::GetFlag(FLAGS_max_live_tokens_per_user);
  const std::string token_scopes = absl::GetFlag(FLAGS_token_scopes);
  config.token_create_rate = absl::GetFlag(FLAGS_token_create_rate);
  config.token_create_burst = absl::GetFlag(FLAGS_token_create_burst);
  config.auth_failure_rate_per_client = absl::GetFlag(FLAGS_auth_failure_rate_per_client);
  config.auth_failure_burst_per_client = absl::GetFlag(FLAGS_auth_failure_burst_per_client);
  config.auth_failure_log_interval = absl::GetFlag(FLAGS_auth_failure_log_interval);
  config.bootstrap_user = absl::GetFlag(FLAGS_user);
  config.bootstrap_expires_on = absl::GetFlag(FLAGS_expires_on);

  absl::StatusOr<ServingTls> tls = ServingTlsFromFlags();
  if (!tls.ok()) return tls.status();
  config.tls = *std::move(tls);
  // The probe only talks to a listener: no database, no secrets.
  if (config.command == Command::kProbe) {
    if (config.listen.empty() || config.listen.find(':') == std::string::npos) {
      return InvalidFlag("listen", "must be host:port");
    }
    absl::StatusOr<ProbeOptions> probe = ProbeOptionsFromFlags(config.listen);
    if (!probe.ok()) return probe.status();
    config.probe = *std::move(probe);
    config.probe.program = "token-service probe";
    config.probe.tls = config.tls.files;
    return config;
  }
  if (config.database_url.empty()) {
    return InvalidFlag("database_url",
                       "is required (or set DATABASE_URL), e.g. postgresql://user@host/db");
  }
  // Checked here, not at the first connection: libpq's complaint about a
  // string it cannot read quotes the string, password included, and serve
  // would repeat it at every attempt.
  if (absl::Status s = CheckConnectionString(config.database_url); !s.ok()) {
    return InvalidFlag("database_url", std::string(s.message()));
  }
  // A short key could be guessed; the message never quotes it.
  if (!config.page_token_key.empty() &&
      config.page_token_key.size() < PageTokenCodec::kMinKeySize) {
    return InvalidFlag("page_token_key",
                       "must be at least 32 characters (e.g. `openssl rand -hex 32`), or empty "
                       "for a random key per process");
  }
  if (config.listen.empty() || config.listen.find(':') == std::string::npos) {
    return InvalidFlag("listen", "must be host:port");
  }
  if (!metrics::IsMetricsAddress(config.metrics_listen)) {
    return InvalidFlag("metrics_listen", "must be host:port, or empty to turn metrics off");
  }
  std::string http_host;
  int http_port = 0;
  if (!config.http_listen.empty() && !SplitHostPort(config.http_listen, &http_host, &http_port)) {
    return InvalidFlag("http_listen", "must be host:port, or empty to turn the HTTP face off");
  }
  absl::StatusOr<TrustedProxies> trusted = TrustedProxies::Parse(http_trusted_proxies);
  if (!trusted.ok()) {
    return InvalidFlag("http_trusted_proxies",
                       absl::StrCat(trusted.status().message(),
                                    "; expected IP addresses or prefixes separated by commas"));
  }
  config.http_trusted_proxies = *std::move(trusted);
  if (absl::Status s = CheckReadyFilePath(config.ready_file); !s.ok()) {
    return InvalidFlag("ready_file", std::string(s.message()));
  }
  if (config.max_token_lifetime_days < 1 || config.max_token_lifetime_days > 3650) {
    return InvalidFlag("max_token_lifetime_days", "must be between 1 and 3650");
  }
  if (!TokenCodec::IsValidPrefix(config.token_prefix)) {
    return InvalidFlag("token_prefix", "must match [a-z][a-z0-9]{0,15}");
  }
  // As InitLogging() reads it, checked here so that the message can name
  // the variable the level came from.
  if (spdlog::level::from_str(config.log_level) == spdlog::level::off &&
      config.log_level != "off") {
    return InvalidFlag("log_level", "must be trace, debug, info, warn, error, critical or off");
  }
  if (config.db_pool_size < 1 || config.db_pool_size > 256) {
    return InvalidFlag("db_pool_size", "must be between 1 and 256");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return InvalidFlag("shutdown_timeout", "must not be negative");
  }
  if (config.sync_poll_interval < absl::Milliseconds(10) ||
      config.sync_poll_interval > absl::Hours(1)) {
    return InvalidFlag("sync_poll_interval", "must be between 10ms and 1h");
  }
  if (!config.sync_listen.empty() && config.sync_listen.find(':') == std::string::npos) {
    return InvalidFlag("sync_listen", "must be host:port, or empty to serve TokenSync on --listen");
  }
  if (config.sync_max_streams < 1 || config.sync_max_streams > 1000000) {
    return InvalidFlag("sync_max_streams", "must be between 1 and 1000000");
  }
  if (config.sync_max_streams_per_caller < 1 ||
      config.sync_max_streams_per_caller > config.sync_max_streams) {
    return InvalidFlag("sync_max_streams_per_caller", "must be between 1 and --sync_max_streams (" +
                                                          std::to_string(config.sync_max_streams) +
                                                          ")");
  }
  if (config.sync_stall_timeout < absl::Seconds(1) || config.sync_stall_timeout > absl::Hours(1)) {
    return InvalidFlag("sync_stall_timeout", "must be between 1s and 1h");
  }
  absl::StatusOr<std::vector<std::string>> scopes = ParseScopeCatalogue(token_scopes);
  if (!scopes.ok()) return InvalidFlag("token_scopes", std::string(scopes.status().message()));
  config.token_scopes = *std::move(scopes);
  if (config.max_live_tokens_per_user < 1 || config.max_live_tokens_per_user > 1000000) {
    return InvalidFlag("max_live_tokens_per_user", "must be between 1 and 1000000");
  }
  if (config.token_create_rate < 1 || config.token_create_rate > 1000000) {
    return InvalidFlag("token_create_rate", "must be between 1 and 1000000 (per minute)");
  }
  if (config.token_create_burst < 1 || config.token_create_burst > 1000000) {
    return InvalidFlag("token_create_burst", "must be between 1 and 1000000");
  }
  if (config.auth_failure_rate_per_client < 0 || config.auth_failure_rate_per_client > 1000000) {
    return InvalidFlag("auth_failure_rate_per_client", "must be between 0 (no limit) and 1000000");
  }
  if (config.auth_failure_burst_per_client < 1 || config.auth_failure_burst_per_client > 1000000) {
    return InvalidFlag("auth_failure_burst_per_client", "must be between 1 and 1000000");
  }
  if (config.auth_failure_log_interval < absl::Seconds(1) ||
      config.auth_failure_log_interval > absl::Hours(1)) {
    return InvalidFlag("auth_failure_log_interval", "must be between 1s and 1h");
  }
  absl::StatusOr<TransportLimits> limits = TransportLimitsFromFlags();
  if (!limits.ok()) return limits.status();
  config.limits = *limits;
  if ((config.command == Command::kBootstrapAdmin ||
       config.command == Command::kBootstrapService) &&
      config.bootstrap_user.empty()) {
    return InvalidFlag("user", "is required for bootstrap-admin and bootstrap-service");
  }
  return config;
}

}  // namespace
}  // namespace tokens::service
