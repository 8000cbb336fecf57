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

TokenSyncManager::TokenSyncManager(SyncStore& store, ChangeHub& hub, const Clock& clock,
                                   TokenSyncOptions options)
    : store_(store), hub_(hub), clock_(clock), options_(options) {}

absl::Status TokenSyncManager::CatchUp(int64_t* version, SyncStream& stream) {
  absl::StatusOr<ChangeBatch> batch = store_.ChangesSince(*version, options_.catch_up_max_rows);
  if (!batch.ok()) return batch.status();
  if (!batch->empty()) {
    if (absl::Status s = stream.WriteDelta(*batch); !s.ok()) return s;
  }
  *version = std::max(*version, batch->version);
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
      if (!batch->empty()) {
        if (absl::Status s = stream.WriteDelta(*batch); !s.ok()) return s;
      }
      version = batch->version;
    }
  }
  if (snapshot) {
    bool started = false;
    absl::StatusOr<int64_t> end = store_.Snapshot(
        UtcDay(clock_.Now()), [&stream, &started](SnapshotChunk chunk) -> absl::Status {
          if (stream.Cancelled()) return absl::CancelledError("the caller went away");
          started = true;
          return stream.WriteSnapshotChunk(chunk);
        });
    if (!end.ok()) return end.status();
    // A snapshot always opens with a chunk, even an empty one: that is what
    // tells a cache to start over, also when no token is left.
    if (!started) {
      if (absl::Status s = stream.WriteSnapshotChunk(SnapshotChunk{}); !s.ok()) return s;
    }
    if (absl::Status s = stream.WriteSnapshotEnd(*end); !s.ok()) return s;
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
    absl::Status s = CatchUp(&version, stream);
    if (absl::IsOutOfRange(s)) {
      return absl::AbortedError("too many changes to catch up with; reconnect");
    }
    if (!s.ok()) return s;
  }

  // 3. The changes as they commit, for as long as the caller listens.
  for (;;) {
    if (stream.Cancelled()) return absl::CancelledError("the caller went away");
    absl::StatusOr<ChangeHub::BatchPtr> batch = subscription->Next(options_.cancel_check_interval);
    if (!batch.ok()) return batch.status();
    if (*batch == nullptr) continue;
    if (absl::Status s = stream.WriteDelta(**batch); !s.ok()) return s;
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
