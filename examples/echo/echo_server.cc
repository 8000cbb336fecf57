// example-echo-service: a microservice whose every call is authenticated by
// token-sidecar through tokens::auth_client. See README.md beside this file.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/server_runner.h"
#include "common/log/json_logger.h"
#include "examples/echo/v1/echo.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server_builder.h"
#include "sidecar/client/sidecar_authenticator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50061",
          "gRPC listen address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, sidecar, "127.0.0.1:50052",
          "token-sidecar's gRPC address (tokens.v1.Authenticator)");
ABSL_FLAG(absl::Duration, sidecar_timeout, absl::Milliseconds(200),
          "Deadline of one Authenticate call to the sidecar");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls may take to finish");

namespace {

using tokens::auth_client::Caller;
using tokens::auth_client::SidecarAuthenticator;
namespace echo = examples::echo::v1;

struct EchoConfig {
  std::string listen;
  std::string sidecar;
  absl::Duration sidecar_timeout;
  std::string log_level;
  absl::Duration shutdown_timeout;
};

absl::StatusOr<EchoConfig> LoadConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "example-echo-service: echoes a message and who sent it, every call "
      "authenticated by token-sidecar.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(std::string("unexpected argument \"") + positional[1] + "\"");
  }
  EchoConfig config{absl::GetFlag(FLAGS_listen), absl::GetFlag(FLAGS_sidecar),
                    absl::GetFlag(FLAGS_sidecar_timeout), absl::GetFlag(FLAGS_log_level),
                    absl::GetFlag(FLAGS_shutdown_timeout)};
  if (config.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--listen: must be host:port");
  }
  if (config.sidecar.empty()) return absl::InvalidArgumentError("--sidecar: must not be empty");
  if (config.sidecar_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--sidecar_timeout: must be positive");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown_timeout: must not be negative");
  }
  return config;
}

// The handler runs only for a caller the sidecar vouched for.
class EchoService final : public echo::Echo::Service {
 public:
  explicit EchoService(const SidecarAuthenticator& auth) : auth_(auth) {}

  grpc::Status Echo(grpc::ServerContext* ctx, const echo::EchoRequest* req,
                    echo::EchoResponse* resp) override {
    static const auto log = tokens::Logger("echo");
    grpc::Status status = tokens::auth_client::Authenticated(
        auth_, ctx, req, resp,
        [](const Caller& caller, const echo::EchoRequest* request, echo::EchoResponse* response) {
          response->set_message(request->message());
          response->set_user_id(caller.user_id);
          response->set_role(caller.role);
          response->set_token_id(caller.token_id);
          response->set_expires_on(caller.expires_on);
          return grpc::Status::OK;
        });
    // The sidecar's messages name a reason, never the token.
    if (status.ok()) {
      log->info("Echo user={} code=OK", resp->user_id());
    } else {
      log->info("Echo code={} error=\"{}\"",
                absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                status.error_message());
    }
    return status;
  }

 private:
  const SidecarAuthenticator& auth_;
};

}  // namespace

int main(int argc, char** argv) {
  tokens::BlockStopSignals();
  absl::StatusOr<EchoConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "example-echo-service: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (!tokens::InitLogging(config->log_level)) {
    std::fprintf(stderr, "example-echo-service: --log_level: unknown level \"%s\"\n",
                 config->log_level.c_str());
    return 2;
  }
  // The channel connects lazily and reconnects by itself: the service starts
  // without the sidecar and refuses calls (UNAVAILABLE) until it is there.
  const SidecarAuthenticator auth(
      grpc::CreateChannel(config->sidecar, grpc::InsecureChannelCredentials()),
      SidecarAuthenticator::Options{config->sidecar_timeout});
  EchoService service(auth);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  tokens::ServeOptions options;
  options.listen = config->listen;
  options.shutdown_timeout = config->shutdown_timeout;
  tokens::Logger("main")->info("authenticating calls through the sidecar at {}", config->sidecar);
  return tokens::ServeUntilStopped(builder, options);
}
