#include "services/token_service/domain/token_sync_manager.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/decide.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/access_policy.h"
#include "services/token_service/domain/validation.h"

namespace tokens::service {

namespace {

// Whether `batch` takes away what let the stream's caller in when the
// stream opened: its token revoked, its user disabled or given another role.
absl::Status CallerStillAllowed(const Principal& caller, const ChangeBatch& batch) {
  for (const SyncedToken& t : batch.tokens) {
    if (t.revoked && t.token_id == caller.token_id) {
      return absl::UnauthenticatedError("the stream's token was revoked");
    }
  }
  for (const SyncedUser& u : batch.users) {
    if (u.user_id != caller.user_id) continue;
    if (u.disabled) return absl::UnauthenticatedError("the stream's user was disabled");
    // The role is the policy's to judge, as when the stream opened.
    Principal now_as = caller;
    now_as.role = u.role;
    if (!AccessPolicy::Allows(now_as, Action::kSyncTokens, Scope::kAll)) {
      return absl::PermissionDeniedError("the stream's user no longer has the SERVICE role");
    }
  }
  return absl::OkStatus();
}

}  // namespace

// A stream's place under the caps, given back when the session ends.
class FeedSession::Slot {
 public:
  Slot(TokenSyncManager& manager, std::string user_id)
      : manager_(manager), user_id_(std::move(user_id)) {}
  ~Slot() { manager_.ReturnSlot(user_id_); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  TokenSyncManager& manager_;
  const std::string user_id_;
};

FeedSession::FeedSession(Principal caller, std::unique_ptr<Slot> slot)
    : caller_(std::move(caller)), slot_(std::move(slot)) {}

// Leaves the hub before giving back the slot.
FeedSession::~FeedSession() { subscription_.reset(); }

absl::StatusOr<std::optional<FeedItem>> FeedSession::Delta(ChangeHub::BatchPtr batch) {
  const absl::Status allowed = CallerStillAllowed(caller_, *batch);
  if (batch->empty()) {
    if (!allowed.ok()) return allowed;
    return std::nullopt;
  }
  if (!allowed.ok()) end_ = allowed;
  FeedItem item;
  item.delta = std::move(batch);
  return std::optional<FeedItem>(std::move(item));
}

absl::StatusOr<std::optional<FeedItem>> FeedSession::Next() {
  if (end_.has_value()) return *end_;
  // A subscription the hub ended (the server stopping, the stream fallen
  // behind) ends the stream now, even in the middle of a snapshot.
  if (absl::Status ended = subscription_->ended(); !ended.ok()) return ended;
  if (image_ != nullptr && next_message_ < image_->messages.size()) {
    FeedItem item;
    item.image = image_;
    item.message = next_message_++;
    return std::optional<FeedItem>(std::move(item));
  }
  while (!caught_up_.empty()) {
    ChangeHub::BatchPtr batch = std::move(caught_up_.front());
    caught_up_.pop_front();
    absl::StatusOr<std::optional<FeedItem>> item = Delta(std::move(batch));
    if (!item.ok() || item->has_value()) return item;
  }
  for (;;) {
    absl::StatusOr<ChangeHub::BatchPtr> batch = subscription_->Next(absl::ZeroDuration());
    if (!batch.ok()) return batch.status();
    if (*batch == nullptr) return std::nullopt;
    absl::StatusOr<std::optional<FeedItem>> item = Delta(*std::move(batch));
    if (!item.ok() || item->has_value()) return item;
  }
}

absl::Status FeedSession::CheckNotExpired(absl::Time now) const {
  if (caller_.token_expires_on.has_value() && IsExpired(*caller_.token_expires_on, now)) {
    return absl::UnauthenticatedError("the stream's token expired");
  }
  return absl::OkStatus();
}

TokenSyncManager::TokenSyncManager(SyncStore& store, ChangeHub& hub, SnapshotImages& images,
                                   const Clock& clock, TokenSyncOptions options)
    : store_(store), hub_(hub), images_(images), clock_(clock), options_(options) {}

absl::StatusOr<std::unique_ptr<FeedSession::Slot>> TokenSyncManager::TakeSlot(
    const std::string& user_id) {
  absl::MutexLock lock(&mu_);
  if (streams_open_ >= options_.max_streams) {
    ++counts_.refused_total;
    return absl::ResourceExhaustedError(
        absl::StrCat("token-service already serves ", streams_open_,
                     " SyncTokens streams, its limit (--sync_max_streams); retry later"));
  }
  int& mine = streams_by_caller_[user_id];
  if (mine >= options_.max_streams_per_caller) {
    ++counts_.refused_caller;
    return absl::ResourceExhaustedError(
        absl::StrCat("this SERVICE user already has ", mine,
                     " SyncTokens streams open, its limit (--sync_max_streams_per_caller)"));
  }
  ++mine;
  ++streams_open_;
  return std::make_unique<FeedSession::Slot>(*this, user_id);
}

void TokenSyncManager::ReturnSlot(const std::string& user_id) {
  absl::MutexLock lock(&mu_);
  --streams_open_;
  auto it = streams_by_caller_.find(user_id);
  if (it != streams_by_caller_.end() && --it->second <= 0) streams_by_caller_.erase(it);
}

TokenSyncManager::Stats TokenSyncManager::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = counts_;
  stats.streams_open = streams_open_;
  return stats;
}

absl::StatusOr<std::unique_ptr<FeedSession>> TokenSyncManager::Open(const Principal& caller,
                                                                    int64_t from_version,
                                                                    std::function<void()> wake) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kSyncTokens, Scope::kAll); !s.ok())
    return s;
  if (from_version < 0) return FieldError("from_version", "must not be negative");
  absl::StatusOr<std::unique_ptr<FeedSession::Slot>> slot = TakeSlot(caller.user_id);
  if (!slot.ok()) return slot.status();
  std::unique_ptr<FeedSession> session(new FeedSession(caller, *std::move(slot)));

  // 1. The stream's own read: the changes since from_version, or the shared
  //    snapshot when it asks for one, when the changes are too many, or when
  //    this database never issued that version (restored, or a different
  //    one).
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
      version = batch->version;
      session->caught_up_.push_back(std::make_shared<const ChangeBatch>(*std::move(batch)));
    }
  }
  if (snapshot) {
    absl::StatusOr<std::shared_ptr<const SnapshotImage>> image = images_.Acquire();
    if (!image.ok()) return image.status();
    session->image_ = *std::move(image);
    version = session->image_->version;
    absl::MutexLock lock(&mu_);
    ++counts_.snapshots_sent;
  }

  // 2. Join the hub at that version. If the hub has meanwhile moved further
  //    than its history reaches, read the gap and retry.
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<std::unique_ptr<ChangeHub::Subscription>> joined = hub_.Subscribe(version, wake);
    if (joined.ok()) {
      session->subscription_ = *std::move(joined);
      return session;
    }
    if (!absl::IsOutOfRange(joined.status())) return joined.status();
    if (attempt >= options_.join_attempts) {
      return absl::AbortedError("could not catch up with the change feed; reconnect");
    }
    absl::StatusOr<ChangeBatch> gap = store_.ChangesSince(version, options_.catch_up_max_rows);
    if (absl::IsOutOfRange(gap.status())) {
      return absl::AbortedError("too many changes to catch up with; reconnect");
    }
    if (!gap.ok()) return gap.status();
    version = std::max(version, gap->version);
    session->caught_up_.push_back(std::make_shared<const ChangeBatch>(*std::move(gap)));
  }
}

absl::StatusOr<int> TokenSyncManager::ReportUsage(const Principal& caller,
                                                  const std::vector<UsageReport>& usages) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kReportUsage, Scope::kAll); !s.ok())
    return s;
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
  if (absl::Status s = AccessPolicy::Check(caller, Action::kLookupToken, Scope::kAll); !s.ok())
    return s;
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
