#include "services/token_service/domain/token_sync_manager.h"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/domain/fake_sync_store.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeChangeListener;
using test_support::FakeSyncStore;
using test_support::HasCode;
using test_support::IsFieldError;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kPatience = absl::Seconds(30);
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone());
const absl::CivilDay kToday(2026, 11, 28);

Principal Caller(const std::string& user_id, Role role) {
  return Principal{user_id, "Name of " + user_id, "", role, "token-of-" + user_id};
}
const Principal kSidecar = Caller("sidecar", Role::kService);

// What a stream was sent, message by message, in a form tests can compare.
struct Sent {
  enum Kind { kSnapshot, kSnapshotEnd, kDelta } kind;
  int64_t version = 0;  // SnapshotEnd and Delta
  std::vector<std::string> tokens;
  std::vector<std::string> users;
};

std::vector<std::string> Ids(const std::vector<SyncToken>& tokens) {
  std::vector<std::string> ids;
  for (const SyncToken& t : tokens) ids.push_back(t.token_id + (t.revoked ? " revoked" : ""));
  return ids;
}
std::vector<std::string> Ids(const std::vector<SyncUser>& users) {
  std::vector<std::string> ids;
  for (const SyncUser& u : users) ids.push_back(u.user_id);
  return ids;
}

// A SyncStream that records what it is sent and can be cancelled.
class RecordingStream final : public SyncStream {
 public:
  absl::Status WriteSnapshotChunk(const SnapshotChunk& chunk) override {
    return Record({Sent::kSnapshot, 0, Ids(chunk.tokens), Ids(chunk.users)});
  }
  absl::Status WriteSnapshotEnd(int64_t version) override {
    return Record({Sent::kSnapshotEnd, version, {}, {}});
  }
  absl::Status WriteDelta(const ChangeBatch& batch) override {
    return Record({Sent::kDelta, batch.version, Ids(batch.tokens), Ids(batch.users)});
  }
  bool Cancelled() const override {
    ++cancel_checks_;
    return cancelled_;
  }

  void Cancel() { cancelled_ = true; }
  // How often the manager asked whether the caller was still there.
  int cancel_checks() const { return cancel_checks_; }

  // Waits until `n` messages were sent; returns them all.
  std::vector<Sent> AwaitMessages(size_t n) {
    absl::MutexLock lock(&mu_);
    const auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sent_.size() >= n; };
    mu_.AwaitWithTimeout(absl::Condition(&enough), kPatience);
    return sent_;
  }

  std::vector<Sent> sent() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  absl::Status Record(Sent sent) {
    absl::MutexLock lock(&mu_);
    sent_.push_back(std::move(sent));
    return absl::OkStatus();
  }

  std::atomic<bool> cancelled_{false};
  mutable std::atomic<int> cancel_checks_{0};
  absl::Mutex mu_;
  std::vector<Sent> sent_ ABSL_GUARDED_BY(mu_);
};

class TokenSyncManagerTest : public ::testing::Test {
 protected:
  TokenSyncManagerTest() {
    store_.PutUser("alice");
    store_.PutUser("bob", Role::kAdmin, /*disabled=*/true);
    store_.PutToken("live", "alice", kToday + 30);
    store_.PutToken("bobs", "bob", kToday + 1);
    store_.PutToken("expired", "alice", kToday);
    store_.PutToken("revoked", "alice", kToday + 30);
    store_.Revoke("revoked");
    store_.PutUser("carol");  // no live token
  }

  ~TokenSyncManagerTest() override {
    // Whatever a failed test left behind: held snapshots go on, streams that
    // only wake for a batch are ended by the hub.
    store_.ReleaseSnapshots();
    hub_.Stop();
    for (auto& [stream, thread] : running_) {
      stream->Cancel();
      thread.join();
    }
  }

  // Runs SyncTokens on a thread of its own, as a server would.
  RecordingStream& Start(int64_t from_version, const Principal& caller = kSidecar) {
    return Start(sync_, from_version, caller);
  }
  RecordingStream& Start(TokenSyncManager& sync, int64_t from_version,
                         const Principal& caller = kSidecar) {
    auto stream = std::make_unique<RecordingStream>();
    RecordingStream& ref = *stream;
    auto result = std::make_shared<Outcome>();
    results_.push_back(result);
    running_.emplace_back(std::move(stream),
                          std::thread([&sync, &ref, from_version, caller, result] {
                            result->status = sync.SyncTokens(caller, from_version, ref);
                            result->ended.Notify();
                          }));
    return ref;
  }

  // A manager over the same store, hub and clock with other options; it
  // outlives every stream.
  TokenSyncManager& Manager(const TokenSyncOptions& options) {
    managers_.push_back(std::make_unique<TokenSyncManager>(store_, hub_, clock_, options));
    return *managers_.back();
  }

  // The sidecar's own user and token, as kSidecar presents them.
  void AddSidecar() {
    store_.PutUser(kSidecar.user_id, Role::kService);
    store_.PutToken(kSidecar.token_id, kSidecar.user_id, kToday + 30);
  }

  // Waits until the hub has `n` subscribers, i.e. the streams have joined.
  void AwaitSubscribers(size_t n) {
    const absl::Time deadline = absl::Now() + kPatience;
    while (hub_.subscriber_count() < n && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    ASSERT_EQ(hub_.subscriber_count(), n);
  }

  // Cancels the most recent stream (unless `cancel` is false: it must end
  // by itself) and returns how it ended. What it was sent stays readable.
  absl::Status Finish(bool cancel = true) {
    auto& [stream, thread] = running_.back();
    if (cancel) stream->Cancel();
    thread.join();
    finished_.push_back(std::move(stream));
    running_.pop_back();
    absl::Status status = results_.back()->status.value_or(absl::UnknownError("no result"));
    results_.pop_back();
    return status;
  }

  // Waits for the most recent stream to end by itself and returns how it
  // ended; DEADLINE_EXCEEDED if it kept going (it is stopped then).
  absl::Status AwaitEnd() {
    Outcome& outcome = *results_.back();
    if (outcome.ended.WaitForNotificationWithTimeout(kPatience)) return Finish(/*cancel=*/false);
    // A cancel stops it, unless it only wakes for a batch.
    running_.back().first->Cancel();
    store_.ReleaseSnapshots();
    if (!outcome.ended.WaitForNotificationWithTimeout(kPatience)) hub_.Stop();
    const absl::Status stopped = Finish(/*cancel=*/false);
    return absl::DeadlineExceededError(
        absl::StrCat("the stream did not end by itself; stopped: ", stopped.ToString()));
  }

  struct Outcome {
    absl::Notification ended;
    std::optional<absl::Status> status;
  };

  FakeSyncStore store_{/*snapshot_chunk=*/2};
  FakeChangeListener listener_;
  FakeClock clock_{kNow};
  ChangeHub hub_{store_, listener_, ChangeHubOptions{}};
  TokenSyncOptions options_{/*catch_up_max_rows=*/100, absl::Milliseconds(5), 5};
  TokenSyncManager sync_{store_, hub_, clock_, options_};
  std::vector<std::unique_ptr<TokenSyncManager>> managers_;
  std::vector<std::pair<std::unique_ptr<RecordingStream>, std::thread>> running_;
  std::vector<std::shared_ptr<Outcome>> results_;
  std::vector<std::unique_ptr<RecordingStream>> finished_;
};

// ---------------------------------------------------------------------------
// Authorization

TEST_F(TokenSyncManagerTest, OnlyServiceCallersMayUseTheSyncApi) {
  const int calls = store_.calls();
  for (const Principal& caller : {Caller("alice", Role::kUser), Caller("root", Role::kAdmin)}) {
    SCOPED_TRACE(RoleName(caller.role));
    RecordingStream stream;
    EXPECT_THAT(sync_.SyncTokens(caller, 0, stream), HasCode(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(stream.sent(), IsEmpty());
    EXPECT_THAT(sync_.ReportUsage(caller, {{"0b4f1f52-52a4-4bd1-9f43-3c1a4d6e8b10", kNow, ""}}),
                HasCode(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(sync_.LookupToken(caller, std::string(32, 'x')),
                HasCode(absl::StatusCode::kPermissionDenied));
  }
  EXPECT_EQ(store_.calls(), calls) << "a refused call reached the store";
  EXPECT_EQ(hub_.subscriber_count(), 0u);
}

// ---------------------------------------------------------------------------
// SyncTokens

TEST_F(TokenSyncManagerTest, FromZeroSendsASnapshotThenTheChangesAsTheyCommit) {
  const int64_t snapshot_version = store_.version();
  RecordingStream& stream = Start(0);
  std::vector<Sent> sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  // Chunks of two tokens here; only tokens that can still authenticate, each
  // owner once, a disabled owner's token included.
  EXPECT_EQ(sent[0].kind, Sent::kSnapshot);
  EXPECT_THAT(sent[0].tokens, ElementsAre("bobs", "live"));
  EXPECT_THAT(sent[0].users, UnorderedElementsAre("alice", "bob"));
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(sent[1].version, snapshot_version);

  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  store_.Revoke("live");
  store_.PutToken("new", "carol", kToday + 10);
  ASSERT_TRUE(hub_.Refresh().ok());
  sent = stream.AwaitMessages(3);
  ASSERT_THAT(sent, SizeIs(3));
  EXPECT_EQ(sent[2].kind, Sent::kDelta);
  EXPECT_EQ(sent[2].version, store_.version());
  EXPECT_THAT(sent[2].tokens, ElementsAre("live revoked", "new"));
  EXPECT_THAT(sent[2].users, ElementsAre("alice", "carol"));

  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
  EXPECT_EQ(hub_.subscriber_count(), 0u);
}

TEST_F(TokenSyncManagerTest, ResumingSendsOnlyLaterChangesWithoutASnapshot) {
  const int64_t applied = store_.version();
  store_.PutUser("alice", Role::kAdmin);
  store_.Revoke("bobs");
  RecordingStream& stream = Start(applied);
  std::vector<Sent> sent = stream.AwaitMessages(1);
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(sent[0].kind, Sent::kDelta);
  EXPECT_EQ(sent[0].version, store_.version());
  EXPECT_THAT(sent[0].tokens, ElementsAre("bobs revoked"));
  EXPECT_THAT(sent[0].users, ElementsAre("bob", "alice"));
  EXPECT_EQ(store_.snapshot_calls(), 0);

  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  store_.PutToken("later", "alice", kToday + 5);
  ASSERT_TRUE(hub_.Refresh().ok());
  sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_THAT(sent[1].tokens, ElementsAre("later"));
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, ResumingWhenCurrentSendsNothingUntilAChange) {
  RecordingStream& stream = Start(store_.version());
  // Joined once subscribed; nothing was sent by then.
  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  EXPECT_THAT(stream.sent(), IsEmpty());
  store_.Revoke("live");
  ASSERT_TRUE(hub_.Refresh().ok());
  const std::vector<Sent> sent = stream.AwaitMessages(1);
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_THAT(sent[0].tokens, ElementsAre("live revoked"));
  EXPECT_EQ(store_.snapshot_calls(), 0);
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, ASnapshotWithoutTokensStillOpensWithAChunk) {
  for (const char* id : {"live", "bobs"}) store_.Revoke(id);
  RecordingStream& stream = Start(0);
  const std::vector<Sent> sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].kind, Sent::kSnapshot);
  EXPECT_THAT(sent[0].tokens, IsEmpty());
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(sent[1].version, store_.version());
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, AVersionFromTheFutureGetsASnapshot) {
  RecordingStream& stream = Start(store_.version() + 1000);
  const std::vector<Sent> sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].kind, Sent::kSnapshot);
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(sent[1].version, store_.version());
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, TooManyChangesToCatchUpGetASnapshot) {
  const int64_t applied = store_.version();
  for (int i = 0; i < 101; ++i) store_.PutUser(absl::StrCat("user", i));
  RecordingStream& stream = Start(applied);
  const std::vector<Sent> sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].kind, Sent::kSnapshot);
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, WhenTheHubRunsPastItsHistoryTheStreamReadsTheGapAgain) {
  ChangeHubOptions short_history;
  short_history.history_batches = 1;
  ChangeHub hub(store_, listener_, short_history);
  TokenSyncManager sync(store_, hub, clock_, options_);
  ASSERT_TRUE(hub.Refresh().ok());
  const int64_t applied = store_.version();
  store_.PutToken("a", "alice", kToday + 5);

  // Right after the stream's catch-up read, the hub reads two more batches,
  // so its one-batch history no longer reaches back to the stream's read.
  store_.AfterNextChangesSince([&] {
    store_.PutToken("b", "alice", kToday + 5);
    ASSERT_TRUE(hub.Refresh().ok());
    store_.PutToken("c", "alice", kToday + 5);
    ASSERT_TRUE(hub.Refresh().ok());
  });
  RecordingStream stream;
  std::optional<absl::Status> result;
  std::thread runner([&] { result = sync.SyncTokens(kSidecar, applied, stream); });
  std::vector<Sent> sent = stream.AwaitMessages(2);
  stream.Cancel();
  runner.join();
  EXPECT_THAT(result.value_or(absl::OkStatus()), HasCode(absl::StatusCode::kCancelled));

  // The first read (after `applied`) and the re-read of the gap: together
  // every change, each once, in order.
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].kind, Sent::kDelta);
  EXPECT_EQ(sent[1].kind, Sent::kDelta);
  std::vector<std::string> tokens = sent[0].tokens;
  tokens.insert(tokens.end(), sent[1].tokens.begin(), sent[1].tokens.end());
  EXPECT_THAT(tokens, ElementsAre("a", "b", "c"));
  EXPECT_EQ(sent[1].version, store_.version());
}

TEST_F(TokenSyncManagerTest, StoppingTheHubEndsTheStreamUnavailable) {
  RecordingStream& stream = Start(0);
  ASSERT_THAT(stream.AwaitMessages(2), SizeIs(2));
  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  hub_.Stop();
  EXPECT_THAT(Finish(/*cancel=*/false), HasCode(absl::StatusCode::kUnavailable));
}

TEST_F(TokenSyncManagerTest, StoreErrorsEndTheStream) {
  store_.FailAllCallsWith(absl::UnavailableError("database down"));
  RecordingStream stream;
  EXPECT_THAT(sync_.SyncTokens(kSidecar, 0, stream), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sync_.SyncTokens(kSidecar, 3, stream), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(stream.sent(), IsEmpty());
}

TEST_F(TokenSyncManagerTest, ANegativeVersionIsAFieldError) {
  RecordingStream stream;
  EXPECT_THAT(sync_.SyncTokens(kSidecar, -1, stream), IsFieldError("from_version"));
}

// ---------------------------------------------------------------------------
// Concurrent snapshots

// Waits until `stream` has asked at least twice whether its caller is still
// there (so it has waited in line at least once), or until the store has
// started `snapshots` snapshots.
void AwaitWaitingOrSnapshots(const RecordingStream& stream, const FakeSyncStore& store,
                             int snapshots) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (stream.cancel_checks() < 2 && store.snapshot_calls() < snapshots &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
}

// Room for one snapshot at a time.
class SnapshotLimitTest : public TokenSyncManagerTest {
 protected:
  // Starts `first_`, whose snapshot the store holds, then `second_`, and
  // waits until the second has had time to queue behind it.
  void StartOneRunningOneWaiting() {
    TokenSyncOptions options = options_;
    options.max_concurrent_snapshots = 1;
    limited_ = &Manager(options);
    store_.HoldSnapshots();
    first_ = &Start(*limited_, 0);
    ASSERT_TRUE(store_.AwaitSnapshotCalls(1, kPatience));
    second_ = &Start(*limited_, 0);
    AwaitWaitingOrSnapshots(*second_, store_, 2);
  }

  TokenSyncManager* limited_ = nullptr;
  RecordingStream* first_ = nullptr;
  RecordingStream* second_ = nullptr;
};

TEST_F(SnapshotLimitTest, ASnapshotOverTheLimitWaitsUntilOneEnds) {
  ASSERT_NO_FATAL_FAILURE(StartOneRunningOneWaiting());
  RecordingStream& first = *first_;
  RecordingStream& second = *second_;
  EXPECT_EQ(store_.snapshot_calls(), 1) << "a second snapshot started while the first ran";
  EXPECT_GE(second.cancel_checks(), 2) << "the waiting stream does not watch for its caller";
  EXPECT_THAT(second.sent(), IsEmpty());

  // The first snapshot ends; then the second runs, in full.
  store_.ReleaseSnapshots();
  std::vector<Sent> sent = first.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  sent = second.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_EQ(sent[0].kind, Sent::kSnapshot);
  EXPECT_THAT(sent[0].tokens, ElementsAre("bobs", "live"));
  EXPECT_EQ(sent[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(store_.snapshot_calls(), 2);
  EXPECT_EQ(store_.max_concurrent_snapshots(), 1);

  // Both go on to follow the changes.
  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(2));
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(SnapshotLimitTest, ACallerWhoLeavesWhileInLineGivesUpItsPlace) {
  ASSERT_NO_FATAL_FAILURE(StartOneRunningOneWaiting());
  RecordingStream& first = *first_;
  RecordingStream& waiting = *second_;
  ASSERT_EQ(store_.snapshot_calls(), 1) << "a second snapshot started while the first ran";
  waiting.Cancel();
  EXPECT_THAT(AwaitEnd(), HasCode(absl::StatusCode::kCancelled));
  EXPECT_EQ(store_.snapshot_calls(), 1);

  // The slot is still the first stream's, and it frees it when done.
  store_.ReleaseSnapshots();
  ASSERT_THAT(first.AwaitMessages(2), SizeIs(2));
  RecordingStream& next = Start(*limited_, 0);
  ASSERT_THAT(next.AwaitMessages(2), SizeIs(2));
  EXPECT_EQ(store_.max_concurrent_snapshots(), 1);
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

// ---------------------------------------------------------------------------
// The stream's own caller

TEST_F(TokenSyncManagerTest, AStreamEndsAfterTheDeltaThatTakesAwayItsCallersAccess) {
  struct Case {
    std::string what;
    std::function<void()> change;
    std::vector<std::string> tokens;  // of the last delta
    absl::StatusCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"token revoked",
       [&] { store_.Revoke(kSidecar.token_id); },
       {kSidecar.token_id + " revoked"},
       absl::StatusCode::kUnauthenticated,
       "the stream's token was revoked"},
      {"user disabled",
       [&] { store_.PutUser(kSidecar.user_id, Role::kService, /*disabled=*/true); },
       {},
       absl::StatusCode::kUnauthenticated,
       "the stream's user was disabled"},
      {"role changed",
       [&] { store_.PutUser(kSidecar.user_id, Role::kAdmin); },
       {},
       absl::StatusCode::kPermissionDenied,
       "the stream's user no longer has the SERVICE role"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    AddSidecar();
    RecordingStream& stream = Start(store_.version());
    ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
    c.change();
    ASSERT_TRUE(hub_.Refresh().ok());
    const absl::Status ended = AwaitEnd();
    EXPECT_THAT(ended, HasCode(c.code));
    EXPECT_EQ(std::string(ended.message()), c.message);
    // The change itself went out first: the sidecar drops the token too.
    const std::vector<Sent> sent = stream.sent();
    ASSERT_THAT(sent, SizeIs(1));
    EXPECT_EQ(sent[0].kind, Sent::kDelta);
    EXPECT_EQ(sent[0].tokens, c.tokens);
    EXPECT_THAT(sent[0].users, ElementsAre(kSidecar.user_id));
    EXPECT_EQ(hub_.subscriber_count(), 0u);
  }
}

TEST_F(TokenSyncManagerTest, OtherChangesToTheCallersRowsDoNotEndTheStream) {
  AddSidecar();
  RecordingStream& stream = Start(store_.version());
  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  // Another of its tokens revoked, its user written again unchanged, and a
  // token revoked that merely shares the caller's token id's prefix.
  store_.PutToken("second", kSidecar.user_id, kToday + 30);
  store_.Revoke("second");
  store_.PutUser(kSidecar.user_id, Role::kService);
  store_.PutToken(kSidecar.token_id + "-not", "alice", kToday + 30);
  store_.Revoke(kSidecar.token_id + "-not");
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_THAT(stream.AwaitMessages(1), SizeIs(1));
  // Still following: the next change arrives too.
  store_.Revoke("live");
  ASSERT_TRUE(hub_.Refresh().ok());
  const std::vector<Sent> sent = stream.AwaitMessages(2);
  ASSERT_THAT(sent, SizeIs(2));
  EXPECT_THAT(sent[1].tokens, ElementsAre("live revoked"));
  EXPECT_THAT(Finish(), HasCode(absl::StatusCode::kCancelled));
}

TEST_F(TokenSyncManagerTest, AResumingStreamWhoseTokenWasRevokedMeanwhileGetsTheChangeAndEnds) {
  AddSidecar();
  const int64_t applied = store_.version();
  store_.Revoke(kSidecar.token_id);
  RecordingStream& stream = Start(applied);
  const absl::Status ended = AwaitEnd();
  EXPECT_THAT(ended, HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(std::string(ended.message()), "the stream's token was revoked");
  const std::vector<Sent> sent = stream.sent();
  ASSERT_THAT(sent, SizeIs(1));
  EXPECT_EQ(sent[0].kind, Sent::kDelta);
  EXPECT_THAT(sent[0].tokens, ElementsAre(kSidecar.token_id + " revoked"));
  EXPECT_EQ(hub_.subscriber_count(), 0u);
}

TEST_F(TokenSyncManagerTest, AStreamEndsOnceItsTokenExpires) {
  // Here a stream wakes only for a batch, so it reads the clock only after
  // the hub hands one over, never while the test moves the clock.
  TokenSyncOptions options = options_;
  options.cancel_check_interval = absl::InfiniteDuration();
  TokenSyncManager& sync = Manager(options);
  Principal caller = kSidecar;
  caller.token_expires_on = kToday + 1;
  const absl::Time expiry = StartOfUtcDay(kToday + 1);

  RecordingStream& stream = Start(sync, store_.version(), caller);
  ASSERT_NO_FATAL_FAILURE(AwaitSubscribers(1));
  // The last second of its last day: still served.
  clock_.Set(expiry - absl::Seconds(1));
  store_.PutUser("dave");
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_THAT(stream.AwaitMessages(1), SizeIs(1));

  clock_.Set(expiry);
  store_.PutUser("erin");
  ASSERT_TRUE(hub_.Refresh().ok());
  const absl::Status ended = AwaitEnd();
  EXPECT_THAT(ended, HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(std::string(ended.message()), "the stream's token expired");
  EXPECT_THAT(stream.sent(), SizeIs(1)) << "nothing is sent once the token has expired";
}

// ---------------------------------------------------------------------------
// ReportUsage

constexpr char kId1[] = "0b4f1f52-52a4-4bd1-9f43-3c1a4d6e8b10";
constexpr char kId2[] = "7d8e2c1a-0f3b-4c5d-8e9f-a0b1c2d3e4f5";

TEST_F(TokenSyncManagerTest, ReportUsageWritesOneBatchClampingFutureTimes) {
  store_.PutToken(kId1, "alice", kToday + 3);
  absl::StatusOr<int> updated =
      sync_.ReportUsage(kSidecar, {{kId1, kNow - absl::Minutes(5), "10.1.2.3"},
                                   {kId2, kNow + absl::Hours(2), "2001:db8::1"},
                                   {kId1, kNow - absl::Minutes(1), ""}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(*updated, 1);
  const auto batches = store_.usage_batches();
  ASSERT_THAT(batches, SizeIs(1));
  ASSERT_THAT(batches[0], SizeIs(3));
  EXPECT_EQ(batches[0][0].token_id, kId1);
  EXPECT_EQ(batches[0][0].last_used_at, kNow - absl::Minutes(5));
  EXPECT_EQ(batches[0][0].client_address, "10.1.2.3");
  EXPECT_EQ(batches[0][1].last_used_at, kNow) << "a use in the future is clamped to now";
  EXPECT_EQ(batches[0][1].client_address, "2001:db8::1");
  EXPECT_EQ(batches[0][2].client_address, "");
}

TEST_F(TokenSyncManagerTest, ReportUsageRefusesABadBatchWhole) {
  using Report = TokenSyncManager::UsageReport;
  const Report good{kId1, kNow, "10.0.0.1"};
  struct Case {
    std::vector<Report> usages;
    std::string field;
  };
  const std::vector<Case> cases = {
      {std::vector<Report>(kMaxUsageBatch + 1, good), "usages"},
      {{good, {"not-a-uuid", kNow, ""}}, "usages[1].token_id"},
      {{good, good, {"", kNow, ""}}, "usages[2].token_id"},
      {{{kId1, std::nullopt, ""}}, "usages[0].last_used_at"},
      {{good, {kId2, kNow, "10.0.0.1; DROP TABLE"}}, "usages[1].client_address"},
      {{{kId2, kNow, std::string(kMaxClientAddressChars + 1, '1')}}, "usages[0].client_address"},
      {{{kId2, kNow, "fe80::1%eth0"}}, "usages[0].client_address"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    EXPECT_THAT(sync_.ReportUsage(kSidecar, c.usages), IsFieldError(c.field));
  }
  EXPECT_THAT(store_.usage_batches(), IsEmpty());

  // The limits themselves are fine.
  EXPECT_TRUE(sync_.ReportUsage(kSidecar, std::vector<Report>(kMaxUsageBatch, good)).ok());
  EXPECT_TRUE(
      sync_.ReportUsage(kSidecar, {{kId1, kNow, std::string(kMaxClientAddressChars, 'f')}}).ok());
  EXPECT_THAT(store_.usage_batches(), SizeIs(2));
}

// ---------------------------------------------------------------------------
// LookupToken

std::string HashBytes(const std::string& token_id) {
  const TokenHash hash = TokenCodec::Hash("secret of " + token_id);
  return std::string(hash.begin(), hash.end());
}

TEST_F(TokenSyncManagerTest, LookupTokenByHash) {
  absl::StatusOr<SyncLookup> found = sync_.LookupToken(kSidecar, HashBytes("bobs"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->token.token_id, "bobs");
  EXPECT_EQ(found->token.expires_on, kToday + 1);
  EXPECT_FALSE(found->token.revoked);
  EXPECT_EQ(found->user.user_id, "bob");
  EXPECT_EQ(found->user.role, Role::kAdmin);
  EXPECT_TRUE(found->user.disabled);

  found = sync_.LookupToken(kSidecar, HashBytes("revoked"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->token.revoked);

  EXPECT_THAT(sync_.LookupToken(kSidecar, HashBytes("never issued")),
              HasCode(absl::StatusCode::kNotFound));
  for (size_t size : {0, 31, 33, 64}) {
    EXPECT_THAT(sync_.LookupToken(kSidecar, std::string(size, 'a')), IsFieldError("token_hash"))
        << size;
  }
}

}  // namespace
}  // namespace tokens::service
