#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "sidecar/domain/model.h"

// The feed from token-service as the domain sees it: SyncTokens' messages
// without the proto, and the stream behind an interface, so that SyncClient
// and FeedApplier are built and tested without gRPC.
namespace tokens::sidecar {

// One SyncTokensResponse.
struct FeedMessage {
  enum class Kind {
    kSnapshot,     // part of a snapshot; the first one of a stream starts it
    kSnapshotEnd,  // the snapshot is complete as of `version` (may carry rows)
    kDelta,        // changes up to `version`
    kUnknown,      // a kind this sidecar does not know: never applied
  };
  Kind kind = Kind::kUnknown;
  // kSnapshotEnd and kDelta: the version reached once this message is
  // applied. Not set on kSnapshot.
  int64_t version = 0;
  std::vector<SyncedUser> users;
  std::vector<SyncedToken> tokens;
};

// One open SyncTokens stream. Read() and Finish() are called by one thread;
// Cancel() by any.
class FeedStream {
 public:
  virtual ~FeedStream() = default;
  // Waits for the next message; false once the stream has ended (or a
  // message could not be read: Finish() then says why).
  virtual bool Read(FeedMessage* message) = 0;
  // Ends the stream from this side: a waiting or later Read() returns false
  // soon. Safe at any time before the stream is destroyed.
  virtual void Cancel() = 0;
  // After Read() returned false, or after Cancel(): waits until the stream
  // is over and returns why it ended.
  virtual absl::Status Finish() = 0;
};

// Opens SyncTokens streams.
class FeedSource {
 public:
  virtual ~FeedSource() = default;
  // A stream of the changes after `from_version` (0: a snapshot first). An
  // attempt made while token-service is unreachable waits for it rather than
  // failing; Cancel() ends the wait.
  virtual std::unique_ptr<FeedStream> Open(int64_t from_version) = 0;
};

}  // namespace tokens::sidecar
