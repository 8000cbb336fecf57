#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/metrics/registry.h"

namespace httplib {
class Server;
}

namespace tokens::metrics {

// Serves `GET /metrics` (the registry in the Prometheus text format) on its
// own plain-HTTP port, apart from the gRPC listener, with cpp-httplib and
// two worker threads. Any other path is 404.
class HttpExporter {
 public:
  explicit HttpExporter(const Registry& registry);
  ~HttpExporter();  // Stop()s

  // Binds `listen` ("host:port", "[v6]:port"; port 0 picks a free one) and
  // starts serving in the background. Returns the bound port, or
  // INVALID_ARGUMENT (malformed address) / UNAVAILABLE (cannot bind).
  absl::StatusOr<int> Start(absl::string_view listen);
  // Stops serving and joins the thread. Idempotent.
  void Stop();

 private:
  const Registry& registry_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> listen_returned_{false};
};

// What the binaries do with --metrics_listen: nothing when it is empty;
// otherwise starts `exporter` there and logs
// "metrics on http://host:port/metrics", or logs why it cannot and returns
// false (the binary then exits: a metrics port silently missing is worse).
bool StartMetricsExporter(HttpExporter& exporter, absl::string_view listen);

// Splits "host:port" / "[v6]:port" into host (brackets removed) and port;
// false when malformed.
bool SplitHostPort(absl::string_view address, std::string* host, int* port);

// Whether `address` is a valid --metrics_listen value: host:port, or empty
// (metrics off).
bool IsMetricsAddress(absl::string_view address);

}  // namespace tokens::metrics
