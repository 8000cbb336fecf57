#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/http_get_server.h"
#include "common/metrics/registry.h"

namespace tokens::metrics {

// Serves `GET /metrics` (the registry in the Prometheus text format) on its
// own plain-HTTP port, apart from the gRPC listener, from one thread that no
// client can hold (see HttpGetServer for why and how). Any other path is
// 404.
class HttpExporter {
 public:
  // `limits`: the defaults are what the binaries use; tests shorten them.
  explicit HttpExporter(const Registry& registry, HttpGetServer::Options limits = {});
  ~HttpExporter();  // Stop()s

  // See HttpGetServer::Start().
  absl::StatusOr<int> Start(absl::string_view listen);
  // Stops serving and joins the thread. Idempotent.
  void Stop();
  // After Start(): the bound "host:port".
  const std::string& address() const { return server_.address(); }

 private:
  HttpGetServer server_;
};

// What the binaries do with --metrics_listen: nothing when it is empty;
// otherwise starts `exporter` there and logs
// "metrics on http://host:port/metrics", or logs why it cannot and returns
// false (the binary then exits: a metrics port silently missing is worse).
bool StartMetricsExporter(HttpExporter& exporter, absl::string_view listen);

// Whether `address` is a valid --metrics_listen value: host:port, or empty
// (metrics off).
bool IsMetricsAddress(absl::string_view address);

}  // namespace tokens::metrics
