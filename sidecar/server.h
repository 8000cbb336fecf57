#pragma once

#include "sidecar/config.h"

namespace tokens::sidecar {

// Runs token-sidecar until SIGTERM or SIGINT: serves Check and Authenticate,
// keeps the cache in step with token-service, flushes usage every
// usage_flush_interval and once more before exiting. Returns the exit code.
int RunSidecar(const SidecarConfig& config);

}  // namespace tokens::sidecar
