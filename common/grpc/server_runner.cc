#include "common/grpc/server_runner.h"

#include <chrono>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "common/log/json_logger.h"
#include "common/process/stop_signals.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace tokens {
namespace {

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

}  // namespace

int ServeUntilStopped(grpc::ServerBuilder& builder, const ServeOptions& options) {
  const auto log = Logger("server");
  // Debian builds Abseil without NDEBUG, which leaves Mutex deadlock
  // detection on: every lock, gRPC's own included, then updates a global lock
  // graph (about 1.5 % of a Check's CPU in bench/ profiles). Lock order is
  // checked by the thread annotations and the tests, not on every lock of a
  // serving process.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Referencing the descriptor keeps health.pb.o linked in, so reflection can
  // describe grpc.health.v1.Health for grpcurl.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    log->critical("cannot listen on {}", options.listen);
    return 1;
  }
  std::vector<std::unique_ptr<grpc::Server>> extra_servers;
  std::vector<int> extra_ports;
  for (const ServeOptions::Extra& extra : options.extra) {
    int extra_port = 0;
    extra.builder->AddListeningPort(extra.listen, grpc::InsecureServerCredentials(), &extra_port);
    extra_servers.push_back(extra.builder->BuildAndStart());
    if (extra_servers.back() == nullptr || extra_port == 0) {
      log->critical("cannot listen on {} ({})", extra.listen, extra.name);
      for (const std::unique_ptr<grpc::Server>& started : extra_servers) {
        if (started != nullptr) started->Shutdown();
      }
      server->Shutdown();
      return 1;
    }
    extra_ports.push_back(extra_port);
  }
  if (options.on_built) options.on_built(*server);
  log->info("listening on {}:{}", HostOf(options.listen), port);
  for (size_t i = 0; i < options.extra.size(); ++i) {
    log->info("{} listening on {}:{}", options.extra[i].name, HostOf(options.extra[i].listen),
              extra_ports[i]);
  }
  if (options.on_started) options.on_started(port);

  const int signo = WaitForStopSignal();
  log->info("received signal {}; draining in-flight calls for up to {}", signo,
            absl::FormatDuration(options.shutdown_timeout));
  if (options.on_stopping) options.on_stopping();
  const auto deadline =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.shutdown_timeout);
  server->Shutdown(deadline);
  for (const std::unique_ptr<grpc::Server>& extra : extra_servers) extra->Shutdown(deadline);
  server->Wait();
  for (const std::unique_ptr<grpc::Server>& extra : extra_servers) extra->Wait();
  if (options.on_stopped) options.on_stopped();
  log->info("stopped");
  return 0;
}

}  // namespace tokens
