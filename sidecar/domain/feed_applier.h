#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "sidecar/domain/feed.h"
#include "sidecar/domain/token_cache.h"

// Applies one SyncTokens stream's messages to the TokenCache, in order:
//
//   SNAPSHOT      starts a snapshot (built beside the cache's contents) or
//                 adds to it
//   SNAPSHOT_END  adds its rows, if any, and publishes the snapshot; it may
//                 come alone (an empty database)
//   DELTA         applies its changes at once
//
// Refused, as a stream the sidecar cannot trust (the caller cancels it and
// opens another; the snapshot in progress, if any, is dropped):
//
//   a DELTA inside a snapshot                    FAILED_PRECONDITION
//   a DELTA or SNAPSHOT_END at a version below   FAILED_PRECONDITION
//     one this stream has already reached
//   a message of unknown kind                    INTERNAL
//   anything after a refusal                     FAILED_PRECONDITION
//
// Versions are compared within the stream only: a new stream's snapshot may
// be older than what the cache holds (token-service's database was restored
// or replaced), and then replaces it. A stream that ends before SNAPSHOT_END
// leaves the cache untouched. One applier per stream; one thread.
namespace tokens::sidecar {

class FeedApplier {
 public:
  // What one accepted message did.
  struct Outcome {
    enum class Kind {
      kSnapshotPart,       // added to a snapshot not yet published
      kSnapshotPublished,  // a snapshot replaced the cache's contents
      kDeltaApplied,
    };
    Kind kind = Kind::kSnapshotPart;
    // This message started a snapshot (a lone SNAPSHOT_END does too).
    bool started_snapshot = false;
    // kSnapshotPublished: the tokens every message of the snapshot carried.
    size_t snapshot_tokens = 0;
  };

  explicit FeedApplier(TokenCache& cache);
  ~FeedApplier();  // StreamEnded()
  FeedApplier(const FeedApplier&) = delete;
  FeedApplier& operator=(const FeedApplier&) = delete;

  absl::StatusOr<Outcome> Apply(const FeedMessage& message);

  // The stream is over: a snapshot it had not finished is dropped and the
  // cache keeps serving what it had. Returns whether one was dropped.
  bool StreamEnded();

  bool in_snapshot() const { return snapshot_ != nullptr; }

 private:
  absl::Status Refuse(absl::Status status);
  absl::Status CheckNotBehind(const char* kind, int64_t version) const;

  TokenCache& cache_;
  std::unique_ptr<TokenCache::SnapshotBuilder> snapshot_;
  size_t snapshot_tokens_ = 0;
  // The highest version this stream has published or applied.
  std::optional<int64_t> reached_;
  bool refused_ = false;
};

}  // namespace tokens::sidecar
