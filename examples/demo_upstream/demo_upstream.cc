// demo-upstream: the HTTP service behind Envoy in the deployment examples
// (deploy/). It answers every request with the caller that token-sidecar
// vouched for, as Envoy passed it on in the x-auth-* headers:
//
//   GET /anything  ->  200 {"user_id":"alice","role":"USER","token_id":"...",
//                           "expires_on":"2027-04-11","scopes":"things:read","path":"/anything"}
//   GET /healthz   ->  200 ok
//
// It trusts those headers blindly, as an application behind Envoy's ext_authz
// does: it must only be reachable through Envoy (in a pod it listens on
// loopback).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/config/command_line.h"
#include "common/config/env_flags.h"
#include "common/http/http_listener.h"
#include "common/log/json_logger.h"
#include "common/process/stop_signals.h"
#include "httplib.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:8081",
          "HTTP listen address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");

namespace {

constexpr tokens::EnvBinding kEnv[] = {
    {"listen", "DEMO_UPSTREAM_LISTEN"},
    {"log_level", "DEMO_UPSTREAM_LOG_LEVEL"},
};

constexpr tokens::ProgramFlags kFlags = {
    "demo-upstream",
    "demo-upstream: an HTTP service for Envoy to route to; answers every request\n"
    "with the x-auth-* headers that token-sidecar added.\n"
    "\n"
    "  demo-upstream [flags]\n"
    "  demo-upstream --help | --version",
    kEnv,
    {}};

// The headers token-sidecar sets through Envoy on an allowed request.
constexpr char kUserIdHeader[] = "x-auth-user-id";
constexpr char kRoleHeader[] = "x-auth-user-role";
constexpr char kTokenIdHeader[] = "x-auth-token-id";
constexpr char kExpiresOnHeader[] = "x-auth-token-expires-on";
// Absent for a token without scopes: its user's full access.
constexpr char kScopesHeader[] = "x-auth-token-scopes";

struct DemoConfig {
  tokens::Request request = tokens::Request::kRun;  // --help, --version
  std::string listen;
  std::string log_level;
};

absl::StatusOr<DemoConfig> LoadConfig(int argc, char** argv) {
  absl::StatusOr<tokens::CommandLine> line = tokens::ParseFlags(kFlags, argc, argv);
  if (!line.ok()) return line.status();
  DemoConfig config;
  config.request = line->request;
  if (config.request != tokens::Request::kRun) return config;
  if (!line->args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", line->args[0], "\""));
  }
  config.log_level = absl::GetFlag(FLAGS_log_level);
  config.listen = absl::GetFlag(FLAGS_listen);
  std::string host;
  int port = 0;
  if (!tokens::SplitHostPort(config.listen, &host, &port)) {
    return tokens::AttributeToSource(*line, tokens::InvalidFlag("listen", "must be host:port"));
  }
  return config;
}

// {"user_id":...,"role":...,"token_id":...,"expires_on":...,"scopes":...,"path":...};
// a missing header is "".
std::string CallerJson(const httplib::Request& req) {
  auto field = [&](const char* name, const std::string& value) {
    return absl::StrCat("\"", name, "\":\"", tokens::JsonEscape(value), "\"");
  };
  return absl::StrCat("{", field("user_id", req.get_header_value(kUserIdHeader)), ",",
                      field("role", req.get_header_value(kRoleHeader)), ",",
                      field("token_id", req.get_header_value(kTokenIdHeader)), ",",
                      field("expires_on", req.get_header_value(kExpiresOnHeader)), ",",
                      field("scopes", req.get_header_value(kScopesHeader)), ",",
                      field("path", req.path), "}\n");
}

void ServeCaller(const httplib::Request& req, httplib::Response& res) {
  res.set_content(CallerJson(req), "application/json");
}

// Only the x-auth-* values are logged: any other header (authorization
// above all, should one get through) may carry a secret.
void LogRequest(const httplib::Request& req, const httplib::Response& res) {
  static const auto log = tokens::Logger("http");
  log->info("{} {} status={} user={} token_id={}", req.method, req.path, res.status,
            req.get_header_value(kUserIdHeader), req.get_header_value(kTokenIdHeader));
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that only WaitForStopSignal() sees them.
  tokens::BlockStopSignals();

  absl::StatusOr<DemoConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "demo-upstream: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->request == tokens::Request::kHelp) {
    std::fputs(tokens::HelpText(kFlags).c_str(), stdout);
    return 0;
  }
  if (config->request == tokens::Request::kVersion) {
    std::printf("%s\n", tokens::VersionLine(kFlags.program).c_str());
    return 0;
  }
  if (!tokens::InitLogging(config->log_level)) {
    std::fprintf(stderr, "demo-upstream: --log_level: unknown level \"%s\"\n",
                 config->log_level.c_str());
    return 2;
  }
  const auto log = tokens::Logger("server");

  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  // Routes match in order: the health check first, then every path.
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  server.Get(".*", ServeCaller);
  server.Post(".*", ServeCaller);
  server.Put(".*", ServeCaller);
  server.Patch(".*", ServeCaller);
  server.Delete(".*", ServeCaller);
  server.set_logger(LogRequest);

  tokens::HttpListener listener(server);
  absl::StatusOr<int> port = listener.Start(config->listen);
  if (!port.ok()) {
    log->critical("{}", port.status().message());
    return 1;
  }
  log->info("listening on {}", listener.address());

  const int signo = tokens::WaitForStopSignal();
  log->info("received signal {}; stopping", signo);
  listener.Stop();
  log->info("stopped");
  return 0;
}
