#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service::test_support {

// An in-memory SyncStore that keeps the contract of sync_store.h: every
// change takes the next version; Snapshot streams live tokens in chunks of
// `snapshot_chunk` with each owner once; ChangesSince returns rows above a
// version plus the owners of changed tokens, OUT_OF_RANGE over the limit;
// RecordUsage counts the tokens whose last use moved forward. The contract
// test (storage/sync_store_contract.h) holds it to PgSyncStore.
//
// Test controls: the mutators below change rows as a committed transaction
// would; counters tell how often each read ran; Before/AfterNextChangesSince
// run a hook (outside the lock) around the next ChangesSince, as another
// process committing meanwhile; HoldSnapshots() makes snapshots wait, as one
// streaming to a slow caller would; FailAllCallsWith() fails every call.
class FakeSyncStore final : public SyncStore {
 public:
  explicit FakeSyncStore(size_t snapshot_chunk = 1000) : snapshot_chunk_(snapshot_chunk) {}

  // --- Test controls -------------------------------------------------------

  // Creates or changes a user; returns the version it took.
  int64_t PutUser(const std::string& user_id, Role role = Role::kUser, bool disabled = false) {
    absl::MutexLock lock(&mu_);
    users_[user_id] = SyncedUser{user_id, role, disabled, ++version_};
    return version_;
  }

  // Creates a token of `user_id`, expiring `expires_on`; returns its row.
  SyncedToken PutToken(const std::string& token_id, const std::string& user_id,
                       absl::CivilDay expires_on, std::vector<std::string> scopes = {}) {
    absl::MutexLock lock(&mu_);
    SyncedToken& t = tokens_[token_id];
    t = SyncedToken{TokenCodec::Hash("secret of " + token_id),
                    token_id,
                    user_id,
                    expires_on,
                    false,
                    ++version_,
                    std::move(scopes)};
    return t;
  }

  // Revokes a token; returns the version it took.
  int64_t Revoke(const std::string& token_id) {
    absl::MutexLock lock(&mu_);
    SyncedToken& t = tokens_.at(token_id);
    t.revoked = true;
    t.version = ++version_;
    return version_;
  }

  // As if the database were replaced by one at an earlier version.
  void ResetTo(int64_t version) {
    absl::MutexLock lock(&mu_);
    tokens_.clear();
    users_.clear();
    version_ = version;
  }

  void BeforeNextChangesSince(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    before_changes_ = std::move(hook);
  }
  // Runs once after the next ChangesSince has read (outside the lock),
  // before it returns: as another process committing right after the read.
  void AfterNextChangesSince(std::function<void()> hook) {
    absl::MutexLock lock(&mu_);
    after_changes_ = std::move(hook);
  }

  // Until ReleaseSnapshots(), every Snapshot that starts waits before
  // reading anything.
  void HoldSnapshots() {
    absl::MutexLock lock(&mu_);
    hold_snapshots_ = true;
  }
  void ReleaseSnapshots() {
    absl::MutexLock lock(&mu_);
    hold_snapshots_ = false;
  }
  // Waits until `n` Snapshot calls have started; false if they did not
  // within `timeout`.
  bool AwaitSnapshotCalls(int n, absl::Duration timeout) const {
    absl::MutexLock lock(&mu_);
    const auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return snapshot_calls_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&started), timeout);
  }
  // The most Snapshot calls that were ever in progress at once.
  int max_concurrent_snapshots() const {
    absl::MutexLock lock(&mu_);
    return max_concurrent_snapshots_;
  }

  void FailAllCallsWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_with_ = std::move(status);
  }

  int64_t version() const {
    absl::MutexLock lock(&mu_);
    return version_;
  }
  int changes_calls() const {
    absl::MutexLock lock(&mu_);
    return changes_calls_;
  }
  int snapshot_calls() const {
    absl::MutexLock lock(&mu_);
    return snapshot_calls_;
  }
  int calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  // The arguments of every ChangesSince call, in order.
  std::vector<int64_t> changes_after() const {
    absl::MutexLock lock(&mu_);
    return changes_after_;
  }
  // Every RecordUsage batch received.
  std::vector<std::vector<TokenUsage>> usage_batches() const {
    absl::MutexLock lock(&mu_);
    return usage_batches_;
  }

  // --- SyncStore -----------------------------------------------------------

  absl::StatusOr<int64_t> Snapshot(absl::CivilDay today, const ChunkSink& sink) override {
    {
      absl::MutexLock lock(&mu_);
      ++calls_;
      ++snapshot_calls_;
      if (!fail_with_.ok()) return fail_with_;
      max_concurrent_snapshots_ = std::max(max_concurrent_snapshots_, ++snapshots_running_);
      const auto released = [this]()
                                ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_snapshots_; };
      mu_.Await(absl::Condition(&released));
      // A failure set while the snapshot was held fails it too, as a read
      // cut short would.
      if (!fail_with_.ok()) {
        --snapshots_running_;
        return fail_with_;
      }
    }
    absl::StatusOr<int64_t> version = StreamSnapshot(today, sink);
    absl::MutexLock lock(&mu_);
    --snapshots_running_;
    return version;
  }

  absl::StatusOr<ChangeBatch> ChangesSince(int64_t after_version, size_t max_rows) override {
    std::function<void()> before;
    {
      absl::MutexLock lock(&mu_);
      before = std::exchange(before_changes_, nullptr);
    }
    if (before) before();
    absl::StatusOr<ChangeBatch> result = ReadChanges(after_version, max_rows);
    std::function<void()> after;
    {
      absl::MutexLock lock(&mu_);
      after = std::exchange(after_changes_, nullptr);
    }
    if (after) after();
    return result;
  }

  absl::StatusOr<int64_t> CurrentVersion() override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!fail_with_.ok()) return fail_with_;
    return version_;
  }

  absl::StatusOr<std::optional<SyncLookup>> LookupToken(const TokenHash& hash) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!fail_with_.ok()) return fail_with_;
    for (const auto& [id, t] : tokens_) {
      if (t.hash == hash) return std::optional<SyncLookup>(SyncLookup{t, users_.at(t.user_id)});
    }
    return std::optional<SyncLookup>();
  }

  absl::StatusOr<int> RecordUsage(const std::vector<TokenUsage>& usages) override {
    absl::MutexLock lock(&mu_);
    ++calls_;
    if (!fail_with_.ok()) return fail_with_;
    usage_batches_.push_back(usages);
    // Per token the batch's latest use, to the microsecond as PostgreSQL
    // keeps it; it counts only if it moves the stored one forward.
    std::map<std::string, absl::Time> latest;
    for (const TokenUsage& u : usages) {
      if (tokens_.count(u.token_id) == 0) continue;
      const absl::Time at = absl::FromUnixMicros(absl::ToUnixMicros(u.last_used_at));
      auto [it, inserted] = latest.emplace(u.token_id, at);
      if (!inserted) it->second = std::max(it->second, at);
    }
    int moved = 0;
    for (const auto& [id, at] : latest) {
      auto [it, inserted] = last_used_.emplace(id, at);
      if (!inserted && it->second >= at) continue;
      it->second = at;
      ++moved;
    }
    return moved;
  }

 private:
  absl::StatusOr<int64_t> StreamSnapshot(absl::CivilDay today, const ChunkSink& sink) {
    std::vector<SnapshotChunk> chunks;
    int64_t version;
    {
      absl::MutexLock lock(&mu_);
      version = version_;
      std::set<std::string> sent;
      for (const auto& [id, t] : tokens_) {
        if (t.revoked || !(t.expires_on > today)) continue;
        if (chunks.empty() || chunks.back().tokens.size() >= snapshot_chunk_) chunks.emplace_back();
        chunks.back().tokens.push_back(t);
        if (sent.insert(t.user_id).second) chunks.back().users.push_back(users_.at(t.user_id));
      }
    }
    for (SnapshotChunk& chunk : chunks) {
      if (absl::Status s = sink(std::move(chunk)); !s.ok()) return s;
    }
    return version;
  }

  absl::StatusOr<ChangeBatch> ReadChanges(int64_t after_version, size_t max_rows) {
    absl::MutexLock lock(&mu_);
    ++calls_;
    ++changes_calls_;
    changes_after_.push_back(after_version);
    if (!fail_with_.ok()) return fail_with_;
    ChangeBatch batch{after_version, version_, {}, {}};
    std::set<std::string> owners;
    for (const auto& [id, t] : tokens_) {
      if (t.version <= after_version) continue;
      batch.tokens.push_back(t);
      owners.insert(t.user_id);
    }
    for (const auto& [id, u] : users_) {
      if (u.version > after_version || owners.count(id) > 0) batch.users.push_back(u);
    }
    const auto by_version = [](const auto& a, const auto& b) { return a.version < b.version; };
    std::sort(batch.tokens.begin(), batch.tokens.end(), by_version);
    std::sort(batch.users.begin(), batch.users.end(), by_version);
    if (max_rows > 0 && batch.tokens.size() + batch.users.size() > max_rows) {
      return absl::OutOfRangeError("too many changes");
    }
    return batch;
  }

  const size_t snapshot_chunk_;
  mutable absl::Mutex mu_;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, SyncedToken> tokens_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SyncedUser> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, absl::Time> last_used_ ABSL_GUARDED_BY(mu_);
  std::function<void()> before_changes_ ABSL_GUARDED_BY(mu_);
  std::function<void()> after_changes_ ABSL_GUARDED_BY(mu_);
  absl::Status fail_with_ ABSL_GUARDED_BY(mu_);
  int calls_ ABSL_GUARDED_BY(mu_) = 0;
  int changes_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int snapshot_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool hold_snapshots_ ABSL_GUARDED_BY(mu_) = false;
  int snapshots_running_ ABSL_GUARDED_BY(mu_) = 0;
  int max_concurrent_snapshots_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> changes_after_ ABSL_GUARDED_BY(mu_);
  std::vector<std::vector<TokenUsage>> usage_batches_ ABSL_GUARDED_BY(mu_);
};

// A ChangeListener the test notifies by hand.
class FakeChangeListener final : public ChangeListener {
 public:
  void Notify() {
    absl::MutexLock lock(&mu_);
    notified_ = true;
  }

  bool Wait(absl::Duration timeout) override {
    absl::MutexLock lock(&mu_);
    const auto woken = [this]()
                           ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return notified_ || interrupted_; };
    mu_.AwaitWithTimeout(absl::Condition(&woken), timeout);
    if (interrupted_) return false;
    return std::exchange(notified_, false);
  }

  void Interrupt() override {
    absl::MutexLock lock(&mu_);
    interrupted_ = true;
  }

 private:
  absl::Mutex mu_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace tokens::service::test_support
