#pragma once

#include "services/token_service/config.h"

namespace tokens::service {

// The three things the token-service binary can do. Each returns the process
// exit code; main() only parses the configuration and dispatches.

// Serves the gRPC API (TokenService, UserService, health, reflection) until
// SIGTERM or SIGINT, then stops accepting, lets in-flight calls finish for up
// to --shutdown_timeout, and returns 0.
int RunServer(const ServiceConfig& config);

// Applies pending schema migrations.
int RunMigrate(const ServiceConfig& config);

// Creates the admin user if missing and prints one new admin token (and
// nothing else) on stdout.
int RunBootstrapAdmin(const ServiceConfig& config);

}  // namespace tokens::service
