#include "common/grpc/server_runner.h"

#include <chrono>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/grpc/health_service.h"
#include "common/log/json_logger.h"
#include "common/process/file_limit.h"
#include "common/process/stop_signals.h"
#include "grpcpp/ext/health_check_service_server_builder_option.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"

namespace tokens {
namespace {

std::string HostOf(const std::string& listen) { return listen.substr(0, listen.rfind(':')); }

// Whether only this host can reach `listen`: a loopback address or name.
bool IsLoopback(const std::string& listen) {
  const std::string host = HostOf(listen);
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" || host == "::1";
}

std::shared_ptr<grpc::ServerCredentials> CredentialsOf(const ServeOptions& options) {
  return options.credentials != nullptr ? options.credentials : grpc::InsecureServerCredentials();
}

// One line for the transport of all listeners, and a warning for each
// plaintext one that other hosts can reach.
void LogTransport(const ServeOptions& options) {
  const auto log = Logger("server");
  if (options.credentials != nullptr) {
    log->info("transport: {}", options.transport.empty() ? "TLS" : options.transport);
    return;
  }
  log->info("transport: plaintext");
  std::vector<std::string> listens = {options.listen};
  for (const ServeOptions::Extra& extra : options.extra) listens.push_back(extra.listen);
  for (const std::string& listen : listens) {
    if (!IsLoopback(listen)) {
      log->warn("{} is plaintext and not on loopback: tokens cross the network readable "
                "(give --tls_cert and --tls_key)",
                listen);
    }
  }
}

int Milliseconds(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

// The same limits, one memory quota and one health service for every
// listener of the process.
void Prepare(grpc::ServerBuilder& builder, const TransportLimits& limits,
             grpc::ResourceQuota& quota, HealthService& health) {
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams);
  if (limits.max_connection_idle > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                               Milliseconds(limits.max_connection_idle));
  }
  if (limits.max_connection_age > absl::ZeroDuration()) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                               Milliseconds(limits.max_connection_age));
    builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                               Milliseconds(limits.max_connection_age_grace));
  }
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, limits.max_metadata_size);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(kMinClientPingInterval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, kMaxPingStrikes);
  builder.SetResourceQuota(quota);
  builder.RegisterService(&health);
  builder.SetOption(std::make_unique<grpc::HealthCheckServiceServerBuilderOption>(health.NewHandle()));
}

void LogFileLimit() {
  const auto log = Logger("server");
  absl::StatusOr<FileLimit> limit = RaiseFileLimit();
  if (!limit.ok()) {
    log->warn("open files limit left as it is: {}", limit.status().ToString());
  } else if (limit->soft_before != limit->soft) {
    log->info("open files limit: soft {} raised to the hard limit {}", limit->soft_before,
              limit->hard);
  } else {
    log->info("open files limit: soft {}, hard {}", limit->soft, limit->hard);
  }
}

}  // namespace

void AnnounceReady(ReadyFile& ready_file) {
  // The process serves either way; whoever waits for the file times out
  // and finds this line.
  if (absl::Status status = ready_file.Announce(); !status.ok()) {
    Logger("server")->error("ready file not written: {}", status.message());
  }
}

int ServeUntilStopped(grpc::ServerBuilder& builder, const ServeOptions& options) {
  const auto log = Logger("server");
  // Debian builds Abseil without NDEBUG, which leaves Mutex deadlock
  // detection on: every lock, gRPC's own included, then updates a global lock
  // graph (about 1.5 % of a Check's CPU in bench/ profiles). Lock order is
  // checked by the thread annotations and the tests, not on every lock of a
  // serving process.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  LogFileLimit();
  // Declared before the servers, which it outlives.
  HealthService health;
  grpc::ResourceQuota quota("grpc-server");
  quota.Resize(static_cast<size_t>(options.limits.grpc_memory_quota));
  Prepare(builder, options.limits, quota, health);
  for (const ServeOptions::Extra& extra : options.extra) {
    Prepare(*extra.builder, options.limits, quota, health);
  }

  int port = 0;
  builder.AddListeningPort(options.listen, CredentialsOf(options), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    log->critical("cannot listen on {}", options.listen);
    return 1;
  }
  std::vector<std::unique_ptr<grpc::Server>> extra_servers;
  std::vector<int> extra_ports;
  for (const ServeOptions::Extra& extra : options.extra) {
    int extra_port = 0;
    extra.builder->AddListeningPort(extra.listen, CredentialsOf(options), &extra_port);
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
  const auto bound = [](const std::string& listen, int bound_port) {
    return absl::StrCat(HostOf(listen), ":", bound_port);
  };
  if (options.ready_file != nullptr) {
    options.ready_file->SetAddress("grpc", bound(options.listen, port));
    for (size_t i = 0; i < options.extra.size(); ++i) {
      options.ready_file->SetAddress(options.extra[i].ready_name,
                                     bound(options.extra[i].listen, extra_ports[i]));
    }
  }
  if (options.on_built) options.on_built(*server);
  log->info("listening on {}", bound(options.listen, port));
  for (size_t i = 0; i < options.extra.size(); ++i) {
    log->info("{} listening on {}", options.extra[i].name,
              bound(options.extra[i].listen, extra_ports[i]));
  }
  LogTransport(options);
  if (options.on_started) options.on_started(port);
  if (options.ready_file != nullptr && !options.announce_ready_later) {
    AnnounceReady(*options.ready_file);
  }

  const int signo = WaitForStopSignal();
  const absl::Time stop_started = absl::Now();
  // Not ready from here on: whoever waits for the file must not find it.
  if (options.ready_file != nullptr) options.ready_file->Withdraw();
  log->info("received signal {}; draining in-flight calls for up to {}", signo,
            absl::FormatDuration(options.shutdown_timeout));
  // First tell load balancers and health watchers; then the Watch streams end
  // like every other long-lived stream, so the drain waits for none of them.
  health.Drain();
  if (options.on_stopping) options.on_stopping();
  const auto deadline =
      std::chrono::system_clock::now() + absl::ToChronoMilliseconds(options.shutdown_timeout);
  server->Shutdown(deadline);
  for (const std::unique_ptr<grpc::Server>& extra : extra_servers) extra->Shutdown(deadline);
  server->Wait();
  for (const std::unique_ptr<grpc::Server>& extra : extra_servers) extra->Wait();
  if (options.on_stopped) options.on_stopped();
  log->info("stopped in {} ms", absl::ToInt64Milliseconds(absl::Now() - stop_started));
  return 0;
}

}  // namespace tokens
