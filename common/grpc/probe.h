#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/grpc/tls.h"

// `token-service probe` and `token-sidecar probe`: the binary's own health,
// asked the way a Kubernetes exec probe needs it.
namespace tokens {

struct ProbeOptions {
  std::string program;  // for the one line printed, e.g. "token-service probe"
  std::string address;  // host:port to ask
  absl::Duration timeout = absl::Seconds(5);
  // With cert and key: TLS, offering them as the client certificate, without
  // verifying the server's (see UnverifiedChannelCredentials).
  TlsFiles tls;
};

// --address's default: `listen` with a wildcard host (0.0.0.0, [::], ::, or
// none) replaced by loopback, since the probe runs beside the listener.
std::string ProbeAddressFor(const std::string& listen);

// One grpc.health.v1.Health/Check of service "" over a connection of its own
// (never a subchannel shared with anything else in the process), with
// `timeout` as its deadline. Prints one line: on stdout when the answer is
// SERVING, then returns 0; else on stderr saying why (NOT_SERVING, refused,
// no answer within the timeout: the listener may be wedged), and returns 1.
int RunProbe(const ProbeOptions& options);

}  // namespace tokens
