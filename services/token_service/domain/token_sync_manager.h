#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/token_service/domain/change_hub.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/snapshot_images.h"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service {

inline constexpr size_t kMaxUsageBatch = 10000;
inline constexpr size_t kMaxClientAddressChars = 64;

struct TokenSyncOptions {
  // A resuming stream with more changes than this to catch up on gets a
  // snapshot instead.
  size_t catch_up_max_rows = 50000;
  // Catch-up reads a joining stream may need when the hub keeps moving past
  // it; then the stream ends ABORTED and the sidecar resumes.
  int join_attempts = 5;
  // Streams open at once, in all and per SERVICE user; a stream over either
  // is refused RESOURCE_EXHAUSTED before it reads anything.
  int max_streams = 10000;
  int max_streams_per_caller = 1000;
};

// What a stream writes next: one encoded message of a shared snapshot
// image, or a batch of changes to send as DELTA messages.
struct FeedItem {
  std::shared_ptr<const SnapshotImage> image;
  size_t message = 0;  // index into image->messages
  ChangeHub::BatchPtr delta;
};

// One open SyncTokens stream, as a sequence to pull from: first what the
// stream read when it opened (the messages of a snapshot image, or the
// changes since its from_version), then every batch the change hub hands
// it. Holds no database connection and no thread; the transport pulls with
// Next() whenever it can write, and the `wake` given to Open() tells it when
// an idle stream has something again. Not thread-safe: one caller at a
// time.
class FeedSession {
 public:
  ~FeedSession();
  FeedSession(const FeedSession&) = delete;
  FeedSession& operator=(const FeedSession&) = delete;

  // The next item; nullopt when there is none now (the wake runs when there
  // is); or the status the stream ends with: after a delta that revoked the
  // caller's token or disabled its user (UNAUTHENTICATED) or took away its
  // SERVICE role (PERMISSION_DENIED), that delta first; or when the hub
  // ended the subscription (RESOURCE_EXHAUSTED: fell behind; ABORTED: the
  // feed went back; UNAVAILABLE: the server is stopping).
  absl::StatusOr<std::optional<FeedItem>> Next();

  // UNAUTHENTICATED once the clock reaches the caller's token's expiry;
  // the transport asks periodically.
  absl::Status CheckNotExpired(absl::Time now) const;

  const Principal& caller() const { return caller_; }
  // The snapshot this stream started with; null when it resumed.
  const SnapshotImage* snapshot() const { return image_.get(); }

 private:
  friend class TokenSyncManager;
  class Slot;
  FeedSession(Principal caller, std::unique_ptr<Slot> slot);

  // A batch to send unless empty; the caller's access is checked after it.
  absl::StatusOr<std::optional<FeedItem>> Delta(ChangeHub::BatchPtr batch);

  const Principal caller_;
  std::unique_ptr<Slot> slot_;
  std::shared_ptr<const SnapshotImage> image_;
  size_t next_message_ = 0;
  std::deque<ChangeHub::BatchPtr> caught_up_;  // read before joining the hub
  std::unique_ptr<ChangeHub::Subscription> subscription_;
  std::optional<absl::Status> end_;  // after the item just handed out
};

// The use cases behind tokens.v1.TokenSync, for the callers AccessPolicy
// lets in: role SERVICE only (PERMISSION_DENIED for everyone else), while
// the stream lasts too:
//  - Open (SyncTokens): a snapshot of every token that can still
//    authenticate (or, resuming from a version, the changes since), then the
//    changes as they commit, from the process's ChangeHub, for as long as
//    the caller's own token and user would still let it in;
//  - ReportUsage: a validated batch of last uses, one store write;
//  - LookupToken: one token by its hash, for a cache miss.
class TokenSyncManager {
 public:
  TokenSyncManager(SyncStore& store, ChangeHub& hub, SnapshotImages& images, const Clock& clock,
                   TokenSyncOptions options = {});

  // Opens one stream: checks the caller and the stream caps, reads where it
  // starts (blocking: run it off gRPC's threads) and joins the hub. A
  // from_version of 0, or one this database never issued, starts with the
  // shared snapshot image. RESOURCE_EXHAUSTED over a stream cap; any store
  // error; ABORTED if the hub kept moving past the stream's catch-up reads.
  // `wake` runs whenever the hub queued something for the session.
  absl::StatusOr<std::unique_ptr<FeedSession>> Open(const Principal& caller, int64_t from_version,
                                                    std::function<void()> wake);

  // One ReportUsage entry as received; validated here.
  struct UsageReport {
    std::string token_id;
    std::optional<absl::Time> last_used_at;
    std::string client_address;
  };
  // At most kMaxUsageBatch entries; each token_id a token id, last_used_at
  // set (clamped to now if in the future), client_address empty or an IP
  // address's characters. Any bad entry is a FieldError naming it
  // (usages[i].field) and nothing is written. Returns how many tokens' last
  // use moved forward.
  absl::StatusOr<int> ReportUsage(const Principal& caller, const std::vector<UsageReport>& usages);

  // `token_hash`: the 32-byte SHA-256 of a token's text. NOT_FOUND if no
  // token has it; a revoked token is found, flagged revoked.
  absl::StatusOr<SyncLookup> LookupToken(const Principal& caller, absl::string_view token_hash);

  // For metrics.
  struct Stats {
    int streams_open = 0;         // sessions alive
    uint64_t snapshots_sent = 0;  // sessions that started with a snapshot
    uint64_t refused_caller = 0;  // over max_streams_per_caller
    uint64_t refused_total = 0;   // over max_streams
  };
  Stats stats() const;

 private:
  friend class FeedSession::Slot;

  // A place under the caps, or RESOURCE_EXHAUSTED.
  absl::StatusOr<std::unique_ptr<FeedSession::Slot>> TakeSlot(const std::string& user_id);
  void ReturnSlot(const std::string& user_id);

  SyncStore& store_;
  ChangeHub& hub_;
  SnapshotImages& images_;
  const Clock& clock_;
  const TokenSyncOptions options_;

  mutable absl::Mutex mu_;
  int streams_open_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, int> streams_by_caller_ ABSL_GUARDED_BY(mu_);
  Stats counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokens::service
