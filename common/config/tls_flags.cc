#include "common/config/tls_flags.h"

#include "absl/flags/flag.h"
#include "common/config/env_flags.h"

ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain (leaf first) the gRPC listeners serve; with --tls_key. Empty: "
          "plaintext");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert (unencrypted)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates; when set, clients must present a certificate signed by one of "
          "them (mTLS). Needs --tls_cert");
ABSL_FLAG(absl::Duration, tls_reload_interval, absl::Seconds(10),
          "How often the TLS files are read again; a changed set that passes the checks is "
          "served to new connections, a bad one is logged and the previous set kept");
ABSL_FLAG(std::string, address, "",
          "probe: host:port to check (default: --listen, a wildcard host replaced by loopback)");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(5),
          "probe: how long to wait for the health answer, connection included");

namespace tokens {

absl::StatusOr<ServingTls> ServingTlsFromFlags() {
  ServingTls tls;
  tls.files.cert = absl::GetFlag(FLAGS_tls_cert);
  tls.files.key = absl::GetFlag(FLAGS_tls_key);
  tls.files.ca = absl::GetFlag(FLAGS_tls_client_ca);
  tls.reload_interval = absl::GetFlag(FLAGS_tls_reload_interval);
  // gRPC's file watcher counts whole seconds.
  if (tls.reload_interval < absl::Seconds(1) || tls.reload_interval > absl::Hours(24)) {
    return InvalidFlag("tls_reload_interval", "must be between 1s and 24h");
  }
  if (!tls.files.ca.empty() && tls.files.cert.empty()) {
    return InvalidFlag("tls_client_ca", "needs --tls_cert and --tls_key (mTLS is TLS first)");
  }
  absl::StatusOr<TlsMaterial> material = ReadTlsFiles(tls.files);
  if (!material.ok()) return material.status();
  return tls;
}

absl::StatusOr<ProbeOptions> ProbeOptionsFromFlags(const std::string& listen) {
  ProbeOptions probe;
  probe.address = absl::GetFlag(FLAGS_address);
  if (probe.address.empty()) probe.address = ProbeAddressFor(listen);
  const size_t colon = probe.address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == probe.address.size()) {
    return InvalidFlag("address", "must be host:port");
  }
  probe.timeout = absl::GetFlag(FLAGS_probe_timeout);
  if (probe.timeout < absl::Milliseconds(100) || probe.timeout > absl::Minutes(5)) {
    return InvalidFlag("probe_timeout", "must be between 100ms and 5m");
  }
  return probe;
}

}  // namespace tokens
