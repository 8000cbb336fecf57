#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace tokens {

// Serves a few read-only resources (`GET path` -> a body computed per
// request) over HTTP/1.0 and 1.1 from one thread running a non-blocking
// poll() loop: the metrics port.
//
// Why not cpp-httplib (HttpListener): it gives each connection a worker
// thread for as long as the connection lives, and its timeouts bound one
// read() call, not the request, so a client dripping a byte a second holds
// a thread forever and a few of them stop every scrape. Here no connection
// owns anything but its buffers: every phase of a connection has a deadline
// for the WHOLE phase (the request head, the response, the idle wait
// between keep-alive requests), heads are capped in size, and past
// `max_connections` the least useful connection (one lingering after its
// last answer, else the longest-waiting reader, else the oldest writer) is
// closed to admit the new one. A scrape that sends its request at once is
// answered in the next turn of the loop, whatever the other connections do.
// One thread suffices because a turn never blocks: a resource is rendered in
// memory (the registry's text, microseconds to a few milliseconds) and
// written as far as the socket takes it.
//
// Request bodies are not read: a request announcing one is answered and its
// connection closed. Every method but GET and HEAD is 405; an unknown path
// is 404; an unparsable head 400; a head over `max_head_bytes` 431.
class HttpGetServer {
 public:
  struct Options {
    // From a connection's first byte of a request (or from its accept) to
    // the end of that request's head.
    absl::Duration head_timeout = absl::Seconds(10);
    // Between the end of an answer and the first byte of the next request
    // on a kept-alive connection.
    absl::Duration idle_timeout = absl::Seconds(60);
    // For writing one whole answer.
    absl::Duration write_timeout = absl::Seconds(10);
    // The request line and headers together.
    size_t max_head_bytes = 8 * 1024;
    // Open connections; one more closes the least useful one (above).
    int max_connections = 64;
  };

  explicit HttpGetServer(Options options);
  ~HttpGetServer();  // Stop()s
  HttpGetServer(const HttpGetServer&) = delete;
  HttpGetServer& operator=(const HttpGetServer&) = delete;

  // Before Start(): answers `GET path` (the query string ignored) with 200,
  // `content_type` and what `body` returns. `body` runs on the server's
  // thread, one call at a time.
  void Serve(std::string path, std::string content_type, std::function<std::string()> body);

  // Binds `listen` ("host:port", "[v6]:port"; port 0 picks a free one) with
  // SO_REUSEADDR and without SO_REUSEPORT (which would let a second process
  // bind the same port and take part of its traffic), and starts serving;
  // connections are accepted from the moment it returns the bound port.
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind,
  // FAILED_PRECONDITION if already serving.
  absl::StatusOr<int> Start(absl::string_view listen);
  // After Start(): the bound address, "host:port" ("[v6]:port"), with the
  // port picked for port 0.
  const std::string& address() const { return address_; }
  // Closes the listener and every connection and joins the thread.
  // Idempotent.
  void Stop();

 private:
  struct Resource {
    std::string content_type;
    std::function<std::string()> body;
  };
  class Loop;

  const Options options_;
  std::map<std::string, Resource, std::less<>> resources_;
  std::string address_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd: Stop() wakes the loop through it
  std::thread thread_;
};

}  // namespace tokens
