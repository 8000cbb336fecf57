#include "common/http/http_listener.h"

#include <sys/socket.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace tokens {

HttpListener::HttpListener(httplib::Server& server) : server_(server) {}

HttpListener::~HttpListener() { Stop(); }

absl::StatusOr<int> HttpListener::Start(absl::string_view listen) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    return absl::InvalidArgumentError(absl::StrCat("address \"", listen, "\" is not host:port"));
  }
  server_.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  int bound = -1;
  if (port == 0) {
    bound = server_.bind_to_any_port(host);
  } else if (server_.bind_to_port(host, port)) {
    bound = port;
  }
  if (bound <= 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  listen_returned_ = false;
  thread_ = std::thread([this] {
    server_.listen_after_bind();
    listen_returned_ = true;
  });
  // stop() only ends a server that is already running: wait for it, so that
  // a Stop() right after Start() cannot leave the thread serving forever.
  while (!server_.is_running() && !listen_returned_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_.is_running()) {
    thread_.join();
    return absl::UnavailableError(absl::StrCat("cannot serve on ", listen));
  }
  const bool v6 = host.find(':') != std::string::npos;
  address_ = absl::StrCat(v6 ? "[" : "", host, v6 ? "]" : "", ":", bound);
  return bound;
}

void HttpListener::Stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

}  // namespace tokens
