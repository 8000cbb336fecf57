#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/http/host_port.h"

namespace httplib {
class Server;
}

namespace tokens {

// Serves a configured cpp-httplib server on one address from a background
// thread: the demo upstream, and token-service's HTTP face (an admin port,
// loopback by default). Not for a port that untrusted clients reach:
// cpp-httplib gives each connection a worker thread and bounds each read()
// rather than the request, so slow clients can hold every worker (the
// metrics port uses HttpGetServer instead).
class HttpListener {
 public:
  explicit HttpListener(httplib::Server& server);
  ~HttpListener();  // Stop()s

  // Binds `listen` ("host:port"; port 0 picks a free one) without
  // SO_REUSEPORT (cpp-httplib's default, which would let a second process
  // bind the same port and take part of its traffic), starts serving and
  // returns once connections are accepted, with the bound port.
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind.
  absl::StatusOr<int> Start(absl::string_view listen);
  // After Start(): the bound address, "host:port" ("[v6]:port"), with the
  // port picked for port 0.
  const std::string& address() const { return address_; }
  // Stops accepting, finishes the requests in progress and joins. Idempotent.
  void Stop();

 private:
  httplib::Server& server_;
  std::thread thread_;
  std::string address_;
  std::atomic<bool> listen_returned_{false};
};

}  // namespace tokens
