#include "services/token_service/domain/token_sync_manager.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/token_manager.h"
#include "services/token_service/domain/validation.h"

namespace tokens::service {

namespace {

// Whether `batch` takes away what let the stream's caller in when the
// stream opened: its token revoked, its user disabled or given another role.
absl::Status CallerStillAllowed(const Principal& caller, const ChangeBatch& batch) {
  for (const SyncToken& t : batch.tokens) {
    if (t.revoked && t.token_id == caller.token_id) {
      return absl::UnauthenticatedError("the stream's token was revoked");
    }
  }
  for (const SyncUser& u : batch.users) {
    if (u.user_id != caller.user_id) continue;
    if (u.disabled) return absl::UnauthenticatedError("the stream's user was disabled");
    if (u.role != Role::kService) {
      return absl::PermissionDeniedError("the stream's user no longer has the SERVICE role");
    }
  }
  return absl::OkStatus();
}

// Writes `batch` unless it is empty, then ends the stream if the batch
// shows that its caller may no longer follow the feed: the sidecar still
// learns of the change (and stops accepting its own token) before it goes.
absl::Status SendDelta(const Principal& caller, const ChangeBatch& batch, SyncStream& stream) {
  if (!batch.empty()) {
    if (absl::Status s = stream.WriteDelta(batch); !s.ok()) return s;
  }
  return CallerStillAllowed(caller, batch);
}

}  // namespace

TokenSyncManager::TokenSyncManager(SyncStore& store, ChangeHub& hub, const Clock& clock,
                                   TokenSyncOptions options)
    : store_(store), hub_(hub), clock_(clock), options_(options) {}

absl::Status TokenSyncManager::AcquireSnapshotSlot(const SyncStream& stream) {
  const int limit = std::max(1, options_.max_concurrent_snapshots);
  absl::MutexLock lock(&snapshot_mu_);
  const auto free = [this, limit]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(snapshot_mu_) {
    return snapshots_running_ < limit;
  };
  ++snapshots_waiting_;
  while (!snapshot_mu_.AwaitWithTimeout(absl::Condition(&free), options_.cancel_check_interval)) {
    if (stream.Cancelled()) {
      --snapshots_waiting_;
      return absl::CancelledError("the caller went away");
    }
  }
  --snapshots_waiting_;
  ++snapshots_running_;
  ++snapshots_started_;
  return absl::OkStatus();
}

TokenSyncManager::Stats TokenSyncManager::stats() const {
  absl::MutexLock lock(&snapshot_mu_);
  return Stats{snapshots_running_, snapshots_waiting_, snapshots_started_};
}

void TokenSyncManager::ReleaseSnapshotSlot() {
  absl::MutexLock lock(&snapshot_mu_);
  --snapshots_running_;
}

absl::StatusOr<int64_t> TokenSyncManager::SendSnapshot(SyncStream& stream) {
  // The wait holds no connection and no place in the hub; the snapshot
  // holds a connection (and its transaction) until the caller has it all.
  if (absl::Status s = AcquireSnapshotSlot(stream); !s.ok()) return s;
  bool started = false;
  absl::StatusOr<int64_t> end = store_.Snapshot(
      UtcDay(clock_.Now()), [&stream, &started](SnapshotChunk chunk) -> absl::Status {
        if (stream.Cancelled()) return absl::CancelledError("the caller went away");
        started = true;
        return stream.WriteSnapshotChunk(chunk);
      });
  ReleaseSnapshotSlot();
  if (!end.ok()) return end.status();
  // A snapshot always opens with a chunk, even an empty one: that is what
  // tells a cache to start over, also when no token is left.
  if (!started) {
    if (absl::Status s = stream.WriteSnapshotChunk(SnapshotChunk{}); !s.ok()) return s;
  }
  if (absl::Status s = stream.WriteSnapshotEnd(*end); !s.ok()) return s;
  return *end;
}

absl::Status TokenSyncManager::CatchUp(const Principal& caller, int64_t* version,
                                       SyncStream& stream) {
  absl::StatusOr<ChangeBatch> batch = store_.ChangesSince(*version, options_.catch_up_max_rows);
  if (!batch.ok()) return batch.status();
  if (absl::Status s = SendDelta(caller, *batch, stream); !s.ok()) return s;
  *version = std::max(*version, batch->version);
  return absl::OkStatus();
}

absl::Status TokenSyncManager::CheckNotExpired(const Principal& caller) const {
  if (caller.token_expires_on.has_value() &&
      clock_.Now() >= StartOfUtcDay(*caller.token_expires_on)) {
    return absl::UnauthenticatedError("the stream's token expired");
  }
  return absl::OkStatus();
}

absl::Status TokenSyncManager::SyncTokens(const Principal& caller, int64_t from_version,
                                          SyncStream& stream) {
  if (absl::Status s = RequireService(caller); !s.ok()) return s;
  if (from_version < 0) return FieldError("from_version", "must not be negative");

  // 1. The stream's own read: the changes since from_version, or a snapshot
  //    when it asks for one, when the changes are too many, or when this
  //    database never issued that version (restored, or a different one).
  int64_t version = from_version;
  bool snapshot = from_version == 0;
  if (!snapshot) {
    absl::StatusOr<ChangeBatch> batch =
        store_.ChangesSince(from_version, options_.catch_up_max_rows);
    if (absl::IsOutOfRange(batch.status()) || (batch.ok() && batch->version < from_version)) {
      snapshot = true;
    } else if (!batch.ok()) {
      return batch.status();
    } else {
      if (absl::Status s = SendDelta(caller, *batch, stream); !s.ok()) return s;
      version = batch->version;
    }
  }
  if (snapshot) {
    absl::StatusOr<int64_t> end = SendSnapshot(stream);
    if (!end.ok()) return end.status();
    version = *end;
  }

  // 2. Join the hub right after that read. If the hub has meanwhile moved
  //    further than its history reaches, read the gap again and retry.
  std::unique_ptr<ChangeHub::Subscription> subscription;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<std::unique_ptr<ChangeHub::Subscription>> joined = hub_.Subscribe(version);
    if (joined.ok()) {
      subscription = *std::move(joined);
      break;
    }
    if (!absl::IsOutOfRange(joined.status())) return joined.status();
    if (attempt >= options_.join_attempts) {
      return absl::AbortedError("could not catch up with the change feed; reconnect");
    }
    absl::Status s = CatchUp(caller, &version, stream);
    if (absl::IsOutOfRange(s)) {
      return absl::AbortedError("too many changes to catch up with; reconnect");
    }
    if (!s.ok()) return s;
  }

  // 3. The changes as they commit, for as long as the caller listens and
  //    may.
  for (;;) {
    if (stream.Cancelled()) return absl::CancelledError("the caller went away");
    absl::StatusOr<ChangeHub::BatchPtr> batch = subscription->Next(options_.cancel_check_interval);
    if (!batch.ok()) return batch.status();
    if (absl::Status s = CheckNotExpired(caller); !s.ok()) return s;
    if (*batch == nullptr) continue;
    if (absl::Status s = SendDelta(caller, **batch, stream); !s.ok()) return s;
  }
}

absl::StatusOr<int> TokenSyncManager::ReportUsage(const Principal& caller,
                                                  const std::vector<UsageReport>& usages) {
  if (absl::Status s = RequireService(caller); !s.ok()) return s;
  if (usages.size() > kMaxUsageBatch) {
    return FieldError("usages", absl::StrCat("at most ", kMaxUsageBatch, " entries per batch (got ",
                                             usages.size(), ")"));
  }
  // A sidecar's clock may run ahead; a last use in the future would hide
  // every real one until then.
  const absl::Time now = clock_.Now();
  std::vector<TokenUsage> valid;
  valid.reserve(usages.size());
  for (size_t i = 0; i < usages.size(); ++i) {
    const UsageReport& u = usages[i];
    const std::string entry = absl::StrCat("usages[", i, "]");
    if (absl::Status s = ValidateTokenId(entry + ".token_id", u.token_id); !s.ok()) return s;
    if (!u.last_used_at.has_value()) return FieldError(entry + ".last_used_at", "is required");
    if (absl::Status s = ValidateClientAddress(entry + ".client_address", u.client_address,
                                               kMaxClientAddressChars);
        !s.ok()) {
      return s;
    }
    valid.push_back(TokenUsage{u.token_id, std::min(*u.last_used_at, now), u.client_address});
  }
  return store_.RecordUsage(valid);
}

absl::StatusOr<SyncLookup> TokenSyncManager::LookupToken(const Principal& caller,
                                                         absl::string_view token_hash) {
  if (absl::Status s = RequireService(caller); !s.ok()) return s;
  TokenHash hash;
  if (token_hash.size() != hash.size()) {
    return FieldError("token_hash",
                      absl::StrCat("must be the ", hash.size(), "-byte SHA-256 of a token (got ",
                                   token_hash.size(), " bytes)"));
  }
  std::copy(token_hash.begin(), token_hash.end(), hash.begin());
  absl::StatusOr<std::optional<SyncLookup>> found = store_.LookupToken(hash);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return absl::NotFoundError("no token has this hash");
  return **std::move(found);
}

}  // namespace tokens::service
