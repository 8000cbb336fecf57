#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service {

struct ChangeHubOptions {
  // How often the hub reads without being notified: the safety net for a
  // lost notification or a lost listener connection.
  absl::Duration poll_interval = absl::Seconds(1);
  // Recent batches kept (at most this many, holding at most this many rows),
  // so that a stream joining at a version the hub has already passed is
  // served from memory instead of a second database read.
  size_t history_batches = 1000;
  size_t history_rows = 100000;
  // Batches that may wait for one subscriber. A subscriber that falls
  // further behind is dropped: its stream ends and the sidecar resumes from
  // the last version it applied.
  size_t queue_batches = 1000;
};

// The one reader of the change feed in a token-service process. A background
// thread waits for a notification (or the poll interval), reads every change
// since its last version with one SyncStore read, and hands the batch to
// every subscribed SyncTokens stream, so N sidecars cost one read per batch,
// not N.
//
// Subscribe(S) is for a stream that has itself read the database up to
// version S: it receives exactly the rows with versions above S, whether the
// hub is behind S (its batches are filtered) or ahead (it replays its
// history), and OUT_OF_RANGE if the hub has moved past S further than its
// history reaches (the stream must read the gap itself and subscribe again).
//
// A subscription is pulled, never waited on by a thread of its own: the
// `wake` given to Subscribe runs whenever a batch was queued for it or it
// ended, and the stream then takes what is there with Next(). `wake` runs on
// the hub's thread (or the one calling Stop), with no lock of the hub held;
// it must be quick and must not call back into the hub.
class ChangeHub {
 public:
  using BatchPtr = std::shared_ptr<const ChangeBatch>;
  class Subscription;

  ChangeHub(SyncStore& store, ChangeListener& listener, ChangeHubOptions options);
  // Stops the hub. Every Subscription must be gone by then.
  ~ChangeHub();

  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;

  // Starts the background thread.
  void Start();

  // Ends every subscription (UNAVAILABLE: the server is stopping), refuses
  // new ones and stops the background thread. Idempotent.
  void Stop();

  // One round of the background thread: the first read learns the current
  // version, each later one reads the changes since the last and fans them
  // out. Public so that tests can drive the hub step by step.
  absl::Status Refresh();

  // Batches with rows above `version`, as described above. UNAVAILABLE once
  // stopped. `wake` may be empty (the subscriber then polls Next()).
  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(int64_t version,
                                                          std::function<void()> wake = {});

  // Whether Subscribe(version) would be served from memory now (false: it
  // would be OUT_OF_RANGE); true before the first read.
  bool CanReplayFrom(int64_t version) const;

  // The version read up to; nullopt before the first read.
  std::optional<int64_t> version() const;
  size_t subscriber_count() const;

 private:
  struct Subscriber;

  // Wakes of the subscribers a Publish or EndAll touched, run once mu_ is
  // released.
  using Wakes = std::vector<std::function<void()>>;

  void Run();
  void Publish(ChangeBatch batch);
  Wakes PublishLocked(ChangeBatch batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Queues `batch` (filtered to the subscriber's floor) or drops the
  // subscriber when its queue is full; false if it was dropped. Adds the
  // subscriber's wake to `wakes` if it has something new to take.
  bool Deliver(Subscriber& sub, const BatchPtr& batch, Wakes* wakes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Wakes EndAll(const absl::Status& why) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unsubscribe(const std::shared_ptr<Subscriber>& sub);

  SyncStore& store_;
  ChangeListener& listener_;
  const ChangeHubOptions options_;

  // Held for a whole Refresh, so that reads do not overlap; never while
  // waiting for mu_'s holders to do I/O.
  absl::Mutex refresh_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<int64_t> version_ ABSL_GUARDED_BY(mu_);
  // The history covers the versions (history_start_, version_].
  int64_t history_start_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<BatchPtr> history_ ABSL_GUARDED_BY(mu_);
  size_t history_rows_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<std::shared_ptr<Subscriber>> subscribers_ ABSL_GUARDED_BY(mu_);
  bool last_read_failed_ ABSL_GUARDED_BY(refresh_mu_) = false;
  std::thread thread_;
};

// One stream's place in the hub. Unsubscribes when destroyed.
class ChangeHub::Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next batch, or nullptr if none came within `timeout` (zero: only
  // what is queued already). Once the
  // subscription has ended: RESOURCE_EXHAUSTED (fell too far behind),
  // ABORTED (the feed went back to an earlier version: resynchronize) or
  // UNAVAILABLE (the server is stopping).
  absl::StatusOr<BatchPtr> Next(absl::Duration timeout);

  // OK while the subscription lasts; then why it ended (the status Next()
  // returns), with nothing left to take.
  absl::Status ended() const;

 private:
  friend class ChangeHub;
  Subscription(ChangeHub& hub, std::shared_ptr<Subscriber> sub) : hub_(hub), sub_(std::move(sub)) {}

  ChangeHub& hub_;
  std::shared_ptr<Subscriber> sub_;
};

// The rows of `batch` a reader already at `floor` still needs: tokens and
// users with versions above it, and the owners of those tokens.
ChangeBatch ChangesAbove(const ChangeBatch& batch, int64_t floor);

}  // namespace tokens::service
