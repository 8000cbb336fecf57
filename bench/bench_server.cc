#include "bench/bench_server.h"

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/grpc/server_runner.h"
#include "common/log/json_logger.h"
#include "grpcpp/server_builder.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "gRPC address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");

namespace tokens::bench {

std::string InitServer(int argc, char** argv, const char* usage) {
  BlockStopSignals();
  absl::SetProgramUsageMessage(usage);
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "%s: unexpected argument \"%s\"\n", argv[0], positional[1]);
    std::exit(2);
  }
  if (!InitLogging(absl::GetFlag(FLAGS_log_level))) {
    std::fprintf(stderr, "%s: --log_level: unknown level\n", argv[0]);
    std::exit(2);
  }
  return absl::GetFlag(FLAGS_listen);
}

int Serve(grpc::Service& service, const std::string& listen) {
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  ServeOptions options;
  options.listen = listen;
  return ServeUntilStopped(builder, options);
}

}  // namespace tokens::bench
