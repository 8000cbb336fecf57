#pragma once

#include "services/token_service/config.h"
#include "services/token_service/domain/model.h"

namespace tokens::service {

// The things the token-service binary can do. Each returns the process
// exit code; main() only parses the configuration and dispatches.

// Serves the gRPC API (TokenService, UserService, TokenSync, health,
// reflection) until SIGTERM or SIGINT, then ends the SyncTokens streams,
// stops accepting, lets in-flight calls finish for up to --shutdown_timeout,
// and returns 0.
int RunServer(const ServiceConfig& config);

// Applies pending schema migrations.
int RunMigrate(const ServiceConfig& config);

// bootstrap-admin (role kAdmin) and bootstrap-service (kService, the user a
// sidecar authenticates as): creates the user with that role if missing and
// prints one new token of theirs (and nothing else) on stdout.
int RunBootstrap(const ServiceConfig& config, Role role);

}  // namespace tokens::service
