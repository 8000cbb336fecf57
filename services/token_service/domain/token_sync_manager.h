#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/token_service/domain/change_hub.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/storage/sync_store.h"

namespace tokens::service {

inline constexpr size_t kMaxUsageBatch = 10000;
inline constexpr size_t kMaxClientAddressChars = 64;

// Where one SyncTokens stream writes; the transport implements it over the
// gRPC writer. A write fails (e.g. CANCELLED) once the caller has gone.
class SyncStream {
 public:
  virtual ~SyncStream() = default;
  virtual absl::Status WriteSnapshotChunk(const SnapshotChunk& chunk) = 0;
  virtual absl::Status WriteSnapshotEnd(int64_t version) = 0;
  virtual absl::Status WriteDelta(const ChangeBatch& batch) = 0;
  // True once the caller went away or the server cancelled the call.
  virtual bool Cancelled() const = 0;
};

struct TokenSyncOptions {
  // A resuming stream with more changes than this to catch up on gets a
  // snapshot instead, which streams in bounded chunks.
  size_t catch_up_max_rows = 50000;
  // How long a stream waits for changes before checking for cancellation.
  absl::Duration cancel_check_interval = absl::Milliseconds(200);
  // Catch-up reads a joining stream may need when the hub keeps moving past
  // it; then the stream ends ABORTED and the sidecar resumes.
  int join_attempts = 5;
  // Snapshots that may run at once (values below 1 count as 1). A snapshot
  // holds a pooled database connection and its transaction for as long as
  // the caller takes to receive it, so sidecars starting together could
  // otherwise take the whole pool from every other call. A stream over the
  // limit waits for a slot, holding no connection and no place in the hub,
  // and then proceeds; if its caller goes away meanwhile (checked every
  // cancel_check_interval) it leaves the line, CANCELLED.
  int max_concurrent_snapshots = 2;
};

// The use cases behind tokens.v1.TokenSync, for callers with role SERVICE
// only (PERMISSION_DENIED for everyone else):
//  - SyncTokens: a snapshot of every token that can still authenticate (or,
//    resuming from a version, the changes since), then the changes as they
//    commit, from the process's ChangeHub, for as long as the caller's own
//    token and user would still let it in;
//  - ReportUsage: a validated batch of last uses, one store write;
//  - LookupToken: one token by its hash, for a cache miss.
class TokenSyncManager {
 public:
  TokenSyncManager(SyncStore& store, ChangeHub& hub, const Clock& clock,
                   TokenSyncOptions options = {});

  // Runs one stream until it ends: CANCELLED when the caller goes away;
  // RESOURCE_EXHAUSTED, ABORTED or UNAVAILABLE when the hub ends it (see
  // ChangeHub::Subscription::Next); any store or write error. A
  // from_version of 0, or one this database never issued, gets a snapshot.
  //
  // The caller was authenticated when the stream opened; a delta that
  // revokes its token or disables its user is written and then ends the
  // stream UNAUTHENTICATED, one that takes away its SERVICE role ends it
  // PERMISSION_DENIED, and the stream ends UNAUTHENTICATED once the clock
  // reaches caller.token_expires_on (checked each time the stream wakes).
  absl::Status SyncTokens(const Principal& caller, int64_t from_version, SyncStream& stream);

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
    int snapshots_running = 0;
    int snapshots_waiting = 0;  // for a free slot
    uint64_t snapshots_started = 0;
  };
  Stats stats() const;

 private:
  // Streams a snapshot once one of the max_concurrent_snapshots slots is
  // free; returns its version.
  absl::StatusOr<int64_t> SendSnapshot(SyncStream& stream);
  // Catches a stream up from `*version` with one read, writing the changes
  // as a delta (see SendDelta); advances `*version`.
  absl::Status CatchUp(const Principal& caller, int64_t* version, SyncStream& stream);
  // UNAUTHENTICATED once the caller's token has expired.
  absl::Status CheckNotExpired(const Principal& caller) const;

  // Waits for a snapshot slot; CANCELLED if the caller leaves first.
  absl::Status AcquireSnapshotSlot(const SyncStream& stream);
  void ReleaseSnapshotSlot();

  SyncStore& store_;
  ChangeHub& hub_;
  const Clock& clock_;
  const TokenSyncOptions options_;

  mutable absl::Mutex snapshot_mu_;
  int snapshots_running_ ABSL_GUARDED_BY(snapshot_mu_) = 0;
  int snapshots_waiting_ ABSL_GUARDED_BY(snapshot_mu_) = 0;
  uint64_t snapshots_started_ ABSL_GUARDED_BY(snapshot_mu_) = 0;
};

}  // namespace tokens::service
