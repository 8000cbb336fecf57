// token-service: parses the configuration and runs the chosen command.
#include <cstdio>

#include "common/log/json_logger.h"
#include "services/token_service/config.h"
#include "services/token_service/server.h"

int main(int argc, char** argv) {
  using namespace tokens::service;
  absl::StatusOr<ServiceConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "token-service: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (!tokens::InitLogging(config->log_level)) {
    std::fprintf(stderr, "token-service: --log_level: unknown level \"%s\"\n",
                 config->log_level.c_str());
    return 2;
  }
  switch (config->command) {
    case Command::kMigrate:
      return RunMigrate(*config);
    case Command::kBootstrapAdmin:
      return RunBootstrap(*config, Role::kAdmin);
    case Command::kBootstrapService:
      return RunBootstrap(*config, Role::kService);
    case Command::kServe:
      break;
  }
  return RunServer(*config);
}
