#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/grpc/probe.h"
#include "common/grpc/tls.h"

// The TLS flags of every listener of both binaries (--tls_cert, --tls_key,
// --tls_client_ca, --tls_reload_interval) and the probe command's
// (--address, --probe_timeout), defined once here. Each binary lists the
// environment variables of the TLS flags in its own EnvBinding table; the
// probe's have none.
namespace tokens {

struct ServingTls {
  TlsFiles files;  // no cert: plaintext
  absl::Duration reload_interval = absl::Seconds(10);
};

// Reads and validates the flags (after parsing), files included
// (ReadTlsFiles). INVALID_ARGUMENT names the flag at fault.
absl::StatusOr<ServingTls> ServingTlsFromFlags();

// The probe's address and timeout; --address defaults to
// ProbeAddressFor(listen). INVALID_ARGUMENT names the flag at fault.
absl::StatusOr<ProbeOptions> ProbeOptionsFromFlags(const std::string& listen);

}  // namespace tokens
