#pragma once

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/metrics/rpc_metrics.h"
#include "common/thread/worker_pool.h"
#include "common/time/clock.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/snapshot_images.h"
#include "services/token_service/domain/token_sync_manager.h"
#include "services/token_service/transport/rpc_serve.h"
#include "tokens/v1/sync.grpc.pb.h"

namespace tokens::service {

// The SnapshotImages encoding of tokens.v1: SNAPSHOT messages of at most
// kMaxTokensPerMessage tokens, then SNAPSHOT_END, each serialized.
SnapshotEncoding SyncTokensEncoding();

struct TokenSyncServiceOptions {
  // A stream with a message written but not taken by its caller for this
  // long is dropped (its caller does not read: a stalled or hostile
  // consumer).
  absl::Duration stall_timeout = absl::Seconds(30);
  // How often every stream is checked for a stall and for its caller's
  // token expiring.
  absl::Duration check_interval = absl::Milliseconds(250);
  // Threads that open streams (authentication, the first database read;
  // they may block) and how many openings may wait for one.
  int open_threads = 4;
  size_t max_waiting_opens = 10000;
  // The kept snapshot image is released after this long without a stream
  // asking for it.
  absl::Duration snapshot_idle = absl::Seconds(60);
};

// The gRPC face of tokens.v1.TokenSync. ReportUsage and LookupToken are
// plain unary handlers: authenticate, convert, call TokenSyncManager,
// convert (parsing their own requests: ParsesOwnRequests). SyncTokens runs
// on gRPC's callback API and holds no thread: a
// write reactor per stream pulls the next message from its FeedSession
// whenever the previous one was taken, and the change hub wakes it when an
// idle stream has something again. Messages of the shared snapshot image
// are written straight from the image's bytes, never copied per stream.
// Opening a stream (authentication and its first read may block on the
// database) runs on a small pool of threads of its own; one more thread
// checks every stream for a stall or an expired token.
class TokenSyncServiceImpl final
    : public ParsesOwnRequests<
          v1::TokenSync::WithRawCallbackMethod_SyncTokens<v1::TokenSync::Service>> {
 public:
  // `failed_auth` (optional): see TokenServiceImpl.
  // `rpc_metrics` (optional) records each call's handling time and code
  // (for SyncTokens: the stream's lifetime).
  TokenSyncServiceImpl(const Authenticator& auth, TokenSyncManager& sync, SnapshotImages& images,
                       const Clock& clock, metrics::RpcMetrics* rpc_metrics = nullptr,
                       FailedAuthLog* failed_auth = nullptr, TokenSyncServiceOptions options = {});
  // Stops the checker; the server must have shut down.
  ~TokenSyncServiceImpl() override;

  grpc::ServerWriteReactor<grpc::ByteBuffer>* SyncTokens(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request) override;
  grpc::Status ReportUsage(grpc::ServerContext* ctx, const v1::ReportUsageRequest* req,
                           v1::ReportUsageResponse* resp) override;
  grpc::Status LookupToken(grpc::ServerContext* ctx, const v1::LookupTokenRequest* req,
                           v1::LookupTokenResponse* resp) override;

  // For metrics.
  struct Stats {
    uint64_t stalled = 0;      // streams dropped for not reading
    size_t opens_waiting = 0;  // streams waiting for an opening thread
  };
  Stats stats() const;

 private:
  class Stream;

  void CheckStreams();
  void CountStall();

  const Authenticator& auth_;
  TokenSyncManager& sync_;
  SnapshotImages& images_;
  const Clock& clock_;
  metrics::RpcMetrics* const rpc_metrics_;
  FailedAuthLog* const failed_auth_;
  const TokenSyncServiceOptions options_;
  WorkerPool opener_;

  mutable absl::Mutex mu_;
  std::vector<std::weak_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  uint64_t stalled_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Notification stop_;
  std::thread checker_;
};

}  // namespace tokens::service
