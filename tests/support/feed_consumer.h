#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tokens/v1/sync.grpc.pb.h"

namespace tokens::testing {

// One SyncTokens stream as a sidecar opens it, on a channel (and so a TCP
// connection) of its own, on gRPC's callback API: no thread per consumer,
// so a test can hold a thousand of them. It takes every message as it
// comes. (A consumer that does not read is not something a gRPC library
// can play: its transport keeps taking data; see RawH2Connection.)
class FeedConsumer {
 public:
  FeedConsumer(const std::string& address, const std::string& token, int64_t from_version = 0);
  // Cancels the stream if it is still open and waits until it has ended.
  ~FeedConsumer();
  FeedConsumer(const FeedConsumer&) = delete;
  FeedConsumer& operator=(const FeedConsumer&) = delete;

  // Waits until SNAPSHOT_END arrived; false if the stream ended first or
  // `timeout` passed.
  bool AwaitSnapshotEnd(absl::Duration timeout);
  // Waits until a DELTA carried `token_id` revoked; false as above.
  bool AwaitRevoked(const std::string& token_id, absl::Duration timeout);
  // Waits until the stream has ended; its status, or nullopt after
  // `timeout`.
  std::optional<grpc::Status> AwaitEnd(absl::Duration timeout);

  int64_t messages() const;
  int64_t snapshot_version() const;

 private:
  class Reactor;
  std::unique_ptr<Reactor> reactor_;
};

}  // namespace tokens::testing
