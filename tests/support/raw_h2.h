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

 private:
  struct Session;
  RawH2Connection(int fd, Options options);
  void Run();

  const int fd_;
  std::unique_ptr<Session> session_;
  mutable absl::Mutex mu_;
  std::map<int32_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokens::testing
