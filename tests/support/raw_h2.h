#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace tokens::testing {

// An HTTP/2 client connection driven by nghttp2, for tests that must behave
// as no gRPC library would: a peer that never opens its flow-control window
// (a stalled or hostile consumer), or one that opens streams by the
// thousand. A thread of its own keeps the connection serviced (settings
// acknowledged, pings answered) until the object is destroyed.
class RawH2Connection {
 public:
  struct Options {
    // SETTINGS_INITIAL_WINDOW_SIZE announced for every stream; 0 lets the
    // server send no DATA at all.
    uint32_t initial_window_size = 65535;
    // Whether windows reopen as data is received (false: they never do).
    bool window_updates = true;
    // Whether to open streams beyond the server's
    // SETTINGS_MAX_CONCURRENT_STREAMS, as a hostile client would: the
    // server's value is hidden from nghttp2 (which would otherwise queue
    // such streams itself), while the server still sees its settings
    // acknowledged.
    bool ignore_stream_limit = false;
  };

  // Connects to host:port (plain TCP, HTTP/2 prior knowledge).
  static absl::StatusOr<std::unique_ptr<RawH2Connection>> Connect(const std::string& address,
                                                                  Options options);
  ~RawH2Connection();
  RawH2Connection(const RawH2Connection&) = delete;
  RawH2Connection& operator=(const RawH2Connection&) = delete;

  // Starts a gRPC call: POST `path` with `metadata`, one length-prefixed
  // message `message`, end of stream. Returns the stream id (negative: the
  // library refused it).
  int32_t StartGrpcCall(const std::string& path, const std::map<std::string, std::string>& metadata,
                        const std::string& message);
  // Opens a stream with these request headers and sends nothing more: a
  // call the server must hold until its message arrives (half-open).
  int32_t OpenHalfOpenCall(const std::string& path,
                           const std::map<std::string, std::string>& metadata);

  struct Stream {
    bool closed = false;
    uint32_t reset_code = 0;  // RST_STREAM's error code, when reset
    std::optional<int> grpc_status;
    std::string grpc_message;
    size_t data_bytes = 0;
  };
  // What is known of a stream so far.
  Stream stream(int32_t id) const;
  // Waits until stream `id` is closed; false after `timeout`.
  bool AwaitClosed(int32_t id, absl::Duration timeout) const;
  // Whether the server closed the connection (or sent GOAWAY).
  bool connection_closed() const;
  // Waits until the server has acknowledged our SETTINGS, sent its own and
  // every submitted frame has been written; false after `timeout`.
  bool AwaitSettled(absl::Duration timeout) const;
  // Sends a PING and waits for its answer: the server has then read every
  // frame sent before it. False after `timeout` or if the connection closed.
  bool RoundTrip(absl::Duration timeout);

 private:
  struct Session;
  RawH2Connection(int fd, Options options);
  void Run();
  // Hands received bytes to nghttp2 (see Options::ignore_stream_limit).
  bool Receive(const uint8_t* data, size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const int fd_;
  std::unique_ptr<Session> session_;
  mutable absl::Mutex mu_;
  std::map<int32_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool settings_acked_ ABSL_GUARDED_BY(mu_) = false;
  bool all_sent_ ABSL_GUARDED_BY(mu_) = false;
  int pings_acked_ ABSL_GUARDED_BY(mu_) = 0;
  const bool ignore_stream_limit_;
  std::string inbound_ ABSL_GUARDED_BY(mu_);  // bytes of an incomplete frame
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokens::testing
