#include "common/metrics/http_exporter.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/http/host_port.h"
#include "common/log/json_logger.h"

namespace tokens::metrics {

HttpExporter::HttpExporter(const Registry& registry, HttpGetServer::Options limits)
    : server_(limits) {
  server_.Serve("/metrics", "text/plain; version=0.0.4; charset=utf-8",
                [&registry] { return registry.Render(); });
}

HttpExporter::~HttpExporter() { Stop(); }

absl::StatusOr<int> HttpExporter::Start(absl::string_view listen) {
  absl::StatusOr<int> port = server_.Start(listen);
  if (!port.ok()) {
    return absl::Status(port.status().code(), absl::StrCat("metrics: ", port.status().message()));
  }
  return port;
}

void HttpExporter::Stop() { server_.Stop(); }

bool StartMetricsExporter(HttpExporter& exporter, absl::string_view listen) {
  const auto log = Logger("metrics");
  if (listen.empty()) {
    log->info("metrics are off (--metrics_listen is empty)");
    return true;
  }
  absl::StatusOr<int> port = exporter.Start(listen);
  if (!port.ok()) {
    log->critical("{}", port.status().message());
    return false;
  }
  log->info("metrics on http://{}/metrics", exporter.address());
  return true;
}

bool IsMetricsAddress(absl::string_view address) {
  std::string host;
  int port = 0;
  return address.empty() || SplitHostPort(address, &host, &port);
}

}  // namespace tokens::metrics
