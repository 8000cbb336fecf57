#include "common/metrics/http_exporter.h"

#include <sys/socket.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "httplib.h"

namespace tokens::metrics {

bool SplitHostPort(absl::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') {
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != absl::string_view::npos) {
    return false;  // a bare IPv6 address needs brackets
  }
  int p = 0;
  if (h.empty() || !absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 || p > 65535) {
    return false;
  }
  *host = std::string(h);
  *port = p;
  return true;
}

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
  std::string host;
  int ignored = 0;
  SplitHostPort(listen, &host, &ignored);
  const bool v6 = host.find(':') != std::string::npos;
  log->info("metrics on http://{}{}{}:{}/metrics", v6 ? "[" : "", host, v6 ? "]" : "", *port);
  return true;
}

bool IsMetricsAddress(absl::string_view address) {
  std::string host;
  int port = 0;
  return address.empty() || SplitHostPort(address, &host, &port);
}

HttpExporter::HttpExporter(const Registry& registry) : registry_(registry) {}

HttpExporter::~HttpExporter() { Stop(); }

absl::StatusOr<int> HttpExporter::Start(absl::string_view listen) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", listen, "\" is not host:port"));
  }
  server_ = std::make_unique<httplib::Server>();
  // cpp-httplib sets SO_REUSEPORT by default, which would let a second
  // process bind the same port and silently take half the scrapes.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  server_->set_read_timeout(5, 0);
  server_->set_write_timeout(5, 0);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry_.Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  int bound = -1;
  if (port == 0) {
    bound = server_->bind_to_any_port(host);
  } else if (server_->bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("cannot listen for metrics on ", listen));
  }
  listen_returned_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // stop() only ends a server that is already running: wait for it, so that
  // a Stop() right after Start() cannot leave the thread serving forever.
  while (!server_->is_running() && !listen_returned_)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void HttpExporter::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace tokens::metrics
