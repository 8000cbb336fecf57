#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/grpc/transport_limits.h"
#include "common/process/ready_file.h"
#include "common/process/stop_signals.h"  // BlockStopSignals(), for the binaries
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"

namespace tokens {

struct ServeOptions {
  std::string listen;  // host:port; port 0 picks a free port
  absl::Duration shutdown_timeout = absl::Seconds(10);
  // Applied to every listener, the extra ones included.
  TransportLimits limits;
  // Runs once the listener is up, with the bound port.
  std::function<void(int port)> on_started;
  // Runs after in-flight calls have drained, before returning.
  std::function<void()> on_stopped;
  // Runs once the server is built, before on_started; e.g. to report
  // NOT_SERVING on the health service until the binary is ready.
  std::function<void(grpc::Server& server)> on_built;
  // Runs after the stop signal, before the server stops accepting: ends
  // long-lived streams so that draining does not wait for them.
  std::function<void()> on_stopping;
  // Further servers, each with services of its own on an address of its own
  // (e.g. token-service's --sync_listen), started after the main one and
  // stopped with it. Each logs "<name> listening on host:port" and is
  // "<ready_name>" in the ready file.
  struct Extra {
    grpc::ServerBuilder* builder;
    std::string listen;
    std::string name;
    std::string ready_name;
  };
  std::vector<Extra> extra;
  // The credentials of every listener above (null: plaintext), and how the
  // log names them ("TLS", "TLS (client certificates required)"); the
  // runner logs "transport: ..." after the "listening on" lines.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::string transport;
  // Where the process says that it serves (null: nowhere). The runner adds
  // the bound addresses ("grpc", and each extra's ready_name) to what the
  // binary set (e.g. "metrics"), announces it once every listener is up and
  // the health service says SERVING, and withdraws it at the stop signal.
  // With announce_ready_later, the binary announces it itself when it is
  // ready (the sidecar: after its first snapshot).
  ReadyFile* ready_file = nullptr;
  bool announce_ready_later = false;
};

// The lifecycle every binary here shares: raises the soft RLIMIT_NOFILE to
// the hard limit (logging both), adds the listener with the transport
// limits, serves grpc.health.v1.Health (HealthService, reachable through
// grpc::Server::GetHealthCheckService()) and server reflection, starts, logs
// "listening on host:port", writes the ready file, and waits for SIGTERM or
// SIGINT. Then it drains: the ready file is removed, every health status
// becomes NOT_SERVING and Watch streams are told so and
// ended, on_stopping runs, the servers stop accepting and in-flight calls get
// up to shutdown_timeout; "stopped in N ms" is logged. Returns the process
// exit code: 0 after a clean stop, 1 if an address could not be bound.
int ServeUntilStopped(grpc::ServerBuilder& builder, const ServeOptions& options);

// Writes `ready_file`; a failure is logged, not fatal: the process serves
// all the same.
void AnnounceReady(ReadyFile& ready_file);

}  // namespace tokens
