// example-echo-service: a microservice whose every call is authenticated by
// token-sidecar through UserTokens::auth_client. It needs only the installed
// package, gRPC, protobuf and Abseil. See README.md beside this file.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "echo.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "user_tokens/auth_client/sidecar_authenticator.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50061",
          "gRPC listen address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, sidecar, "127.0.0.1:50052",
          "token-sidecar's gRPC address (tokens.v1.Authenticator)");
ABSL_FLAG(absl::Duration, sidecar_timeout, absl::Milliseconds(200),
          "Deadline of one Authenticate call to the sidecar");
ABSL_FLAG(std::string, api, "sync",
          "gRPC's server API the service is written on: sync (a thread per call, "
          "blocking Authenticate) or callback (reactors, AuthenticateAsync)");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "On SIGTERM or SIGINT, how long in-flight calls may take to finish");
ABSL_FLAG(std::string, required_scopes, "",
          "Scopes every call needs, separated by spaces or commas (e.g. things:read); "
          "a token that names scopes but not these is refused PERMISSION_DENIED, a "
          "token without scopes has its user's full access; empty: none");

namespace {

using tokens::auth_client::Caller;
using tokens::auth_client::Requirements;
using tokens::auth_client::SidecarAuthenticator;
namespace echo = examples::echo::v1;

struct EchoConfig {
  std::string listen;
  std::string sidecar;
  absl::Duration sidecar_timeout;
  std::string api;
  absl::Duration shutdown_timeout;
  Requirements required;
};

absl::StatusOr<EchoConfig> LoadConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "example-echo-service: echoes a message and who sent it, every call "
      "authenticated by token-sidecar.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", positional[1], "\""));
  }
  EchoConfig config{absl::GetFlag(FLAGS_listen),           absl::GetFlag(FLAGS_sidecar),
                    absl::GetFlag(FLAGS_sidecar_timeout),  absl::GetFlag(FLAGS_api),
                    absl::GetFlag(FLAGS_shutdown_timeout), {}};
  if (config.listen.find(':') == std::string::npos) {
    return absl::InvalidArgumentError("--listen: must be host:port");
  }
  if (config.sidecar.empty()) return absl::InvalidArgumentError("--sidecar: must not be empty");
  if (config.sidecar_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--sidecar_timeout: must be positive");
  }
  if (config.api != "sync" && config.api != "callback") {
    return absl::InvalidArgumentError("--api: must be sync or callback");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--shutdown_timeout: must not be negative");
  }
  // The sidecar checks the names: one that is not a scope name fails every
  // call (INTERNAL), never allows one.
  for (absl::string_view scope : absl::StrSplit(absl::GetFlag(FLAGS_required_scopes),
                                                absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    config.required.scopes.emplace_back(scope);
  }
  return config;
}

// The service's own logic, run only for a caller the sidecar vouched for.
// The same for both APIs below.
grpc::Status Reply(const Caller& caller, const echo::EchoRequest* request,
                   echo::EchoResponse* response) {
  response->set_message(request->message());
  response->set_user_id(caller.user_id);
  response->set_role(caller.role);
  response->set_token_id(caller.token_id);
  response->set_expires_on(caller.expires_on);
  for (const std::string& scope : caller.scopes) response->add_scopes(scope);
  return grpc::Status::OK;
}

// On gRPC's synchronous API: the handler's thread waits for the sidecar.
class SyncEchoService final : public echo::Echo::Service {
 public:
  SyncEchoService(const SidecarAuthenticator& auth, const Requirements& required)
      : auth_(auth), required_(required) {}

  grpc::Status Echo(grpc::ServerContext* ctx, const echo::EchoRequest* req,
                    echo::EchoResponse* resp) override {
    return tokens::auth_client::Authenticated(auth_, ctx, req, resp, required_, Reply);
  }

 private:
  const SidecarAuthenticator& auth_;
  const Requirements& required_;
};

// On gRPC's callback API: no thread waits; the reactor finishes when the
// sidecar has answered.
class CallbackEchoService final : public echo::Echo::CallbackService {
 public:
  CallbackEchoService(const SidecarAuthenticator& auth, const Requirements& required)
      : auth_(auth), required_(required) {}

  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx, const echo::EchoRequest* req,
                                 echo::EchoResponse* resp) override {
    return tokens::auth_client::Authenticated(auth_, ctx, req, resp, required_, Reply);
  }

 private:
  const SidecarAuthenticator& auth_;
  const Requirements& required_;
};

}  // namespace

int main(int argc, char** argv) {
  // Blocked before gRPC starts its threads, so that only sigwait() below
  // receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  absl::StatusOr<EchoConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "example-echo-service: %s\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }

  // The channel connects lazily and reconnects by itself: the service starts
  // without the sidecar and refuses calls (UNAVAILABLE) until it is there.
  const SidecarAuthenticator auth(
      grpc::CreateChannel(config->sidecar, grpc::InsecureChannelCredentials()),
      SidecarAuthenticator::Options{config->sidecar_timeout});
  SyncEchoService sync_service(auth, config->required);
  CallbackEchoService callback_service(auth, config->required);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen, grpc::InsecureServerCredentials(), &port);
  if (config->api == "sync") {
    builder.RegisterService(&sync_service);
  } else {
    builder.RegisterService(&callback_service);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "example-echo-service: --listen: cannot listen on %s\n",
                 config->listen.c_str());
    return 1;
  }
  const std::string host = config->listen.substr(0, config->listen.rfind(':'));
  std::fprintf(stderr, "example-echo-service: %s API, listening on %s:%d, sidecar at %s\n",
               config->api.c_str(), host.c_str(), port, config->sidecar.c_str());

  int signo = 0;
  sigwait(&stop_signals, &signo);
  std::fprintf(stderr, "example-echo-service: signal %d, draining\n", signo);
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMilliseconds(config->shutdown_timeout));
  server->Wait();
  return 0;
}
