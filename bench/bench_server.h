#pragma once

#include <string>

#include "grpcpp/impl/service_type.h"

// What the benchmark servers share with the real binaries: the same server
// lifecycle (tokens::ServeUntilStopped: health, reflection, SIGTERM drain)
// and JSON logs, so that a comparison with token-sidecar measures the
// service, not a different server setup.
namespace tokens::bench {

// Blocks the stop signals, parses the command line (--listen, --log_level
// and any flags the binary defines itself) and sets up logging. Exits with
// code 2 and a one-line message on a bad command line. Returns --listen.
std::string InitServer(int argc, char** argv, const char* usage);

// Serves `service` on `listen` until SIGTERM; returns the exit code.
int Serve(grpc::Service& service, const std::string& listen);

}  // namespace tokens::bench
