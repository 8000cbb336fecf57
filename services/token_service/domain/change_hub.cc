#include "services/token_service/domain/change_hub.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"

namespace tokens::service {
namespace {

// Appends `row` to `rows` or, if a row with the same id is there already
// (from an earlier batch), replaces it: the later state wins.
template <typename Row, typename Id>
void Upsert(std::vector<Row>& rows, absl::flat_hash_map<std::string, size_t>& index, Row row,
            Id id) {
  auto [it, inserted] = index.try_emplace(id(row), rows.size());
  if (inserted) {
    rows.push_back(std::move(row));
  } else {
    rows[it->second] = std::move(row);
  }
}

// The batches, in order, as one: (after_version of the first, version of
// the last], each row at its latest state.
ChangeBatch Merge(const std::vector<ChangeHub::BatchPtr>& batches) {
  ChangeBatch merged;
  if (batches.empty()) return merged;
  merged.after_version = batches.front()->after_version;
  merged.version = batches.back()->version;
  absl::flat_hash_map<std::string, size_t> tokens, users;
  for (const ChangeHub::BatchPtr& b : batches) {
    for (const SyncedToken& t : b->tokens) {
      Upsert(merged.tokens, tokens, t, [](const SyncedToken& x) { return x.token_id; });
    }
    for (const SyncedUser& u : b->users) {
      Upsert(merged.users, users, u, [](const SyncedUser& x) { return x.user_id; });
    }
  }
  return merged;
}

size_t Rows(const ChangeBatch& batch) { return batch.tokens.size() + batch.users.size(); }

}  // namespace

ChangeBatch ChangesAbove(const ChangeBatch& batch, int64_t floor) {
  ChangeBatch out;
  out.after_version = std::max(batch.after_version, floor);
  out.version = batch.version;
  absl::flat_hash_set<std::string> owners;
  for (const SyncedToken& t : batch.tokens) {
    if (t.version <= floor) continue;
    out.tokens.push_back(t);
    owners.insert(t.user_id);
  }
  for (const SyncedUser& u : batch.users) {
    if (u.version > floor || owners.contains(u.user_id)) out.users.push_back(u);
  }
  return out;
}

// State shared by the hub and one Subscription.
struct ChangeHub::Subscriber {
  Subscriber(int64_t floor_version, std::function<void()> wake_fn)
      : floor(floor_version), wake(std::move(wake_fn)) {}

  // Rows at or below this version were read by the stream itself.
  const int64_t floor;
  // Called (without locks) when there is something new to take.
  const std::function<void()> wake;
  absl::Mutex mu;
  std::deque<BatchPtr> queue ABSL_GUARDED_BY(mu);
  // Not OK once the subscription has ended; the queue is empty then.
  absl::Status ended ABSL_GUARDED_BY(mu);
};

ChangeHub::ChangeHub(SyncStore& store, ChangeListener& listener, ChangeHubOptions options)
    : store_(store), listener_(listener), options_(options) {}

ChangeHub::~ChangeHub() { Stop(); }

void ChangeHub::Start() {
  absl::MutexLock lock(&mu_);
  if (stopped_ || thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
}

void ChangeHub::Stop() {
  Wakes wakes;
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      stopped_ = true;
      wakes = EndAll(absl::UnavailableError("token-service is stopping; reconnect"));
    }
  }
  for (const auto& wake : wakes) wake();
  listener_.Interrupt();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ChangeHub::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
    }
    // Errors are logged by Refresh; the next round retries.
    (void)Refresh();
    listener_.Wait(options_.poll_interval);
  }
}

absl::Status ChangeHub::Refresh() {
  static const auto log = Logger("feed");
  absl::MutexLock refresh(&refresh_mu_);
  std::optional<int64_t> from;
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return absl::UnavailableError("the change hub is stopped");
    from = version_;
  }
  absl::Status status;
  if (!from.has_value()) {
    absl::StatusOr<int64_t> current = store_.CurrentVersion();
    status = current.status();
    if (current.ok()) {
      absl::MutexLock lock(&mu_);
      // A stream may have subscribed meanwhile and set the version from its
      // own read; starting later than that would skip its changes.
      if (!version_.has_value()) version_ = history_start_ = *current;
    }
  } else {
    absl::StatusOr<ChangeBatch> batch = store_.ChangesSince(*from, 0);
    status = batch.status();
    if (batch.ok()) Publish(*std::move(batch));
  }
  if (!status.ok() && !last_read_failed_) {
    log->warn("cannot read the change feed: {}; retrying", status.ToString());
  } else if (status.ok() && last_read_failed_) {
    log->info("change feed readable again");
  }
  last_read_failed_ = !status.ok();
  return status;
}

void ChangeHub::Publish(ChangeBatch batch) {
  Wakes wakes;
  {
    absl::MutexLock lock(&mu_);
    wakes = PublishLocked(std::move(batch));
  }
  for (const auto& wake : wakes) wake();
}

ChangeHub::Wakes ChangeHub::PublishLocked(ChangeBatch batch) {
  static const auto log = Logger("feed");
  if (batch.version < *version_) {
    // The database is not the one the versions came from (restored from a
    // backup, or replaced): nothing downstream can be trusted to match it.
    log->warn("change version went back from {} to {}; every stream must resynchronize", *version_,
              batch.version);
    Wakes wakes = EndAll(
        absl::AbortedError("the change feed went back to an earlier version; resynchronize"));
    history_.clear();
    history_rows_ = 0;
    version_ = history_start_ = batch.version;
    return wakes;
  }
  Wakes wakes;
  if (batch.version == *version_) return wakes;
  auto shared = std::make_shared<const ChangeBatch>(std::move(batch));
  version_ = shared->version;
  history_.push_back(shared);
  history_rows_ += Rows(*shared);
  while (!history_.empty() &&
         (history_.size() > options_.history_batches || history_rows_ > options_.history_rows)) {
    history_rows_ -= Rows(*history_.front());
    history_start_ = history_.front()->version;
    history_.pop_front();
  }
  for (auto it = subscribers_.begin(); it != subscribers_.end();) {
    if (Deliver(**it, shared, &wakes)) {
      ++it;
    } else {
      it = subscribers_.erase(it);
    }
  }
  return wakes;
}

bool ChangeHub::Deliver(Subscriber& sub, const BatchPtr& batch, Wakes* wakes) {
  if (batch->version <= sub.floor) return true;
  BatchPtr rows = batch;
  if (batch->after_version < sub.floor) {
    rows = std::make_shared<const ChangeBatch>(ChangesAbove(*batch, sub.floor));
  }
  if (rows->empty()) return true;
  absl::MutexLock lock(&sub.mu);
  if (!sub.ended.ok()) return false;
  if (sub.wake && wakes != nullptr) wakes->push_back(sub.wake);
  if (sub.queue.size() >= options_.queue_batches) {
    sub.queue.clear();
    sub.ended = absl::ResourceExhaustedError(
        "this stream fell too far behind the change feed; reconnect with from_version");
    return false;
  }
  sub.queue.push_back(std::move(rows));
  return true;
}

ChangeHub::Wakes ChangeHub::EndAll(const absl::Status& why) {
  Wakes wakes;
  for (const std::shared_ptr<Subscriber>& sub : subscribers_) {
    absl::MutexLock lock(&sub->mu);
    sub->queue.clear();
    if (sub->ended.ok()) sub->ended = why;
    if (sub->wake) wakes.push_back(sub->wake);
  }
  subscribers_.clear();
  return wakes;
}

bool ChangeHub::CanReplayFrom(int64_t version) const {
  absl::MutexLock lock(&mu_);
  return !version_.has_value() || version >= history_start_;
}

absl::StatusOr<std::unique_ptr<ChangeHub::Subscription>> ChangeHub::Subscribe(
    int64_t version, std::function<void()> wake) {
  absl::MutexLock lock(&mu_);
  if (stopped_) return absl::UnavailableError("token-service is stopping; reconnect");
  if (!version_.has_value()) {
    // Not read yet: start from the subscriber's own read, which saw every
    // change up to `version`.
    version_ = history_start_ = version;
  }
  if (version < history_start_) {
    return absl::OutOfRangeError(absl::StrCat("the change hub's history starts after version ",
                                              version, "; read the gap and subscribe again"));
  }
  auto sub = std::make_shared<Subscriber>(version, std::move(wake));
  std::vector<BatchPtr> missed;
  for (const BatchPtr& batch : history_) {
    if (batch->version > version) missed.push_back(batch);
  }
  if (!missed.empty()) {
    // Replayed as one batch, so a long history is never more than one
    // queue entry.
    // No wake: the new subscriber takes it when it first looks.
    Deliver(*sub, std::make_shared<const ChangeBatch>(Merge(missed)), nullptr);
  }
  subscribers_.insert(sub);
  return std::unique_ptr<Subscription>(new Subscription(*this, std::move(sub)));
}

void ChangeHub::Unsubscribe(const std::shared_ptr<Subscriber>& sub) {
  absl::MutexLock lock(&mu_);
  subscribers_.erase(sub);
}

std::optional<int64_t> ChangeHub::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

size_t ChangeHub::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

ChangeHub::Subscription::~Subscription() { hub_.Unsubscribe(sub_); }

absl::Status ChangeHub::Subscription::ended() const {
  absl::MutexLock lock(&sub_->mu);
  return sub_->ended;
}

absl::StatusOr<ChangeHub::BatchPtr> ChangeHub::Subscription::Next(absl::Duration timeout) {
  Subscriber& sub = *sub_;
  absl::MutexLock lock(&sub.mu);
  const auto ready = [&sub]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.mu) {
    return !sub.queue.empty() || !sub.ended.ok();
  };
  sub.mu.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (!sub.queue.empty()) {
    BatchPtr batch = std::move(sub.queue.front());
    sub.queue.pop_front();
    return batch;
  }
  if (!sub.ended.ok()) return sub.ended;
  return BatchPtr();
}

}  // namespace tokens::service
