// token-service: parses the configuration and runs the chosen command.
#include <cstdio>
#include <string>
#include <utility>

#include "common/config/command_line.h"
#include "common/grpc/probe.h"
#include "common/log/json_logger.h"
#include "common/log/library_logs.h"
#include "services/token_service/config.h"
#include "services/token_service/server.h"
#include "services/token_service/storage/connection_string.h"

int main(int argc, char** argv) {
  using namespace tokens::service;
  absl::StatusOr<ServiceConfig> config = LoadConfig(argc, argv);
  if (!config.ok()) {
    std::fprintf(stderr, "token-service: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->command == Command::kHelp) {
    std::fputs(HelpText().c_str(), stdout);
    return 0;
  }
  if (config->command == Command::kVersion) {
    std::printf("%s\n", tokens::VersionLine("token-service").c_str());
    return 0;
  }
  // The probe prints its one line itself and needs no logging, database or
  // secrets (it may run as a Kubernetes exec probe every few seconds).
  if (config->command == Command::kProbe) return tokens::RunProbe(config->probe);
  // Before anything is logged: an error that quotes the database URL (a
  // libpq message, a status passed up) must not carry its password.
  for (std::string& secret : ConnectionSecrets(config->database_url)) {
    tokens::RedactFromLogs(std::move(secret));
  }
  if (!config->expiry_webhook_secret.empty()) {
    tokens::RedactFromLogs(config->expiry_webhook_secret);
  }
  if (!tokens::InitLogging(config->log_level)) {
    std::fprintf(stderr, "token-service: --log_level: unknown level \"%s\"\n",
                 config->log_level.c_str());
    return 2;
  }
  // From here on protobuf's and gRPC's own messages are JSON lines too.
  tokens::RouteLibraryLogsToJson();
  switch (config->command) {
    case Command::kMigrate:
      return RunMigrate(*config);
    case Command::kBootstrapAdmin:
      return RunBootstrap(*config, Role::kAdmin);
    case Command::kBootstrapService:
      return RunBootstrap(*config, Role::kService);
    case Command::kServe:
    case Command::kProbe:
    case Command::kHelp:
    case Command::kVersion:
      break;
  }
  return RunServer(*config);
}
