// token-sidecar: parses the configuration and runs the sidecar.
#include <cstdio>
#include <string>

#include "common/config/command_line.h"
#include "common/grpc/probe.h"
#include "common/log/json_logger.h"
#include "common/log/library_logs.h"
#include "sidecar/config.h"
#include "sidecar/server.h"

int main(int argc, char** argv) {
  using namespace tokens::sidecar;
  absl::StatusOr<SidecarConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "token-sidecar: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->command == Command::kHelp) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }
  if (config->command == Command::kVersion) {
    std::printf("%s\n", tokens::VersionLine("token-sidecar").c_str());
    return 0;
  }
  // The probe prints its one line itself and needs no logging or service
  // token (it may run as a Kubernetes exec probe every few seconds).
  if (config->command == Command::kProbe) return tokens::RunProbe(config->probe);
  if (!tokens::InitLogging(config->log_level)) {
    std::fprintf(stderr, "token-sidecar: --log_level: unknown level \"%s\"\n",
                 config->log_level.c_str());
    return 2;
  }
  // From here on protobuf's and gRPC's own messages are JSON lines too.
  tokens::RouteLibraryLogsToJson();
  return RunSidecar(*config);
}
