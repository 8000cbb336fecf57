#include "common/metrics/http_exporter.h"

#include <string>

#include "common/log/json_logger.h"
#include "httplib.h"

namespace tokens::metrics {

HttpExporter::HttpExporter(const Registry& registry)
    : server_(std::make_unique<httplib::Server>()),
      listener_(std::make_unique<HttpListener>(*server_)) {
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->Get("/metrics", [&registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
}

HttpExporter::~HttpExporter() { Stop(); }

absl::StatusOr<int> HttpExporter::Start(absl::string_view listen) {
  absl::StatusOr<int> port = listener_->Start(listen);
  if (!port.ok()) {
    return absl::Status(port.status().code(), absl::StrCat("metrics: ", port.status().message()));
  }
  return port;
}

void HttpExporter::Stop() { listener_->Stop(); }

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
