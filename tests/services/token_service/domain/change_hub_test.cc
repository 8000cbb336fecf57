#include "services/token_service/domain/change_hub.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/domain/fake_sync_store.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeChangeListener;
using test_support::FakeSyncStore;
using test_support::HasCode;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Only reached when something is broken: the waits below return as soon as
// what they wait for has happened.
constexpr absl::Duration kPatience = absl::Seconds(30);
const absl::CivilDay kExpiry(2030, 1, 1);

std::vector<std::string> TokenIds(const ChangeBatch& batch) {
  std::vector<std::string> ids;
  for (const SyncedToken& t : batch.tokens) ids.push_back(t.token_id);
  return ids;
}

std::vector<std::string> UserIds(const ChangeBatch& batch) {
  std::vector<std::string> ids;
  for (const SyncedUser& u : batch.users) ids.push_back(u.user_id);
  return ids;
}

class ChangeHubTest : public ::testing::Test {
 protected:
  ChangeHubTest() {
    store_.PutUser("alice");
    store_.PutToken("t1", "alice", kExpiry);
  }

  std::unique_ptr<ChangeHub> NewHub(ChangeHubOptions options = {}) {
    return std::make_unique<ChangeHub>(store_, listener_, options);
  }

  static std::unique_ptr<ChangeHub::Subscription> MustSubscribe(ChangeHub& hub, int64_t version) {
    absl::StatusOr<std::unique_ptr<ChangeHub::Subscription>> sub = hub.Subscribe(version);
    EXPECT_TRUE(sub.ok()) << sub.status();
    return sub.ok() ? *std::move(sub) : nullptr;
  }

  // The batch waiting for `sub`, failing the test if there is none.
  static ChangeHub::BatchPtr Take(ChangeHub::Subscription& sub) {
    absl::StatusOr<ChangeHub::BatchPtr> batch = sub.Next(absl::ZeroDuration());
    EXPECT_TRUE(batch.ok()) << batch.status();
    EXPECT_NE(batch.value_or(nullptr), nullptr) << "no batch waiting";
    return batch.value_or(nullptr);
  }

  static bool NothingWaiting(ChangeHub::Subscription& sub) {
    absl::StatusOr<ChangeHub::BatchPtr> batch = sub.Next(absl::ZeroDuration());
    return batch.ok() && *batch == nullptr;
  }

  FakeSyncStore store_;
  FakeChangeListener listener_;
};

TEST_F(ChangeHubTest, FirstRefreshLearnsTheVersionThenEachReadsChangesOnceForAll) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_EQ(hub->version(), store_.version());
  EXPECT_EQ(store_.changes_calls(), 0);

  const int64_t start = store_.version();
  std::vector<std::unique_ptr<ChangeHub::Subscription>> subs;
  for (int i = 0; i < 50; ++i) subs.push_back(MustSubscribe(*hub, start));
  EXPECT_EQ(hub->subscriber_count(), 50u);

  store_.Revoke("t1");
  store_.PutToken("t2", "alice", kExpiry);
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_EQ(store_.changes_calls(), 1);
  EXPECT_THAT(store_.changes_after(), ElementsAre(start));

  ChangeHub::BatchPtr first = Take(*subs[0]);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->after_version, start);
  EXPECT_EQ(first->version, store_.version());
  EXPECT_THAT(TokenIds(*first), ElementsAre("t1", "t2"));
  EXPECT_TRUE(first->tokens[0].revoked);
  EXPECT_THAT(UserIds(*first), ElementsAre("alice"));
  // Every subscriber got the very same batch: one read, one copy.
  for (auto& sub : subs) {
    if (sub == subs[0]) continue;
    EXPECT_EQ(Take(*sub), first);
  }

  // A round without changes publishes nothing.
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_EQ(store_.changes_calls(), 2);
  for (auto& sub : subs) EXPECT_TRUE(NothingWaiting(*sub));

  subs.clear();
  EXPECT_EQ(hub->subscriber_count(), 0u);
}

TEST_F(ChangeHubTest, AJoinBehindTheHubIsServedFromItsHistory) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  const int64_t v0 = store_.version();
  const int64_t v1 = store_.Revoke("t1");
  ASSERT_TRUE(hub->Refresh().ok());
  store_.PutUser("bob", Role::kAdmin);
  store_.PutToken("t2", "bob", kExpiry);
  ASSERT_TRUE(hub->Refresh().ok());
  const int reads = store_.changes_calls();

  // A stream that read up to v0 gets both batches at once, as one.
  auto from_v0 = MustSubscribe(*hub, v0);
  ChangeHub::BatchPtr batch = Take(*from_v0);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->after_version, v0);
  EXPECT_EQ(batch->version, store_.version());
  EXPECT_THAT(TokenIds(*batch), ElementsAre("t1", "t2"));
  EXPECT_THAT(UserIds(*batch), ElementsAre("alice", "bob"));
  EXPECT_TRUE(NothingWaiting(*from_v0));

  // One that read up to v1 gets only what came after.
  auto from_v1 = MustSubscribe(*hub, v1);
  batch = Take(*from_v1);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->after_version, v1);
  EXPECT_THAT(TokenIds(*batch), ElementsAre("t2"));
  EXPECT_THAT(UserIds(*batch), ElementsAre("bob"));

  // One that is current gets nothing until the next change.
  auto current = MustSubscribe(*hub, store_.version());
  EXPECT_TRUE(NothingWaiting(*current));
  EXPECT_EQ(store_.changes_calls(), reads) << "joins must not read the store";
}

TEST_F(ChangeHubTest, AJoinFurtherBackThanTheHistoryIsOutOfRange) {
  ChangeHubOptions options;
  options.history_batches = 2;
  auto hub = NewHub(options);
  ASSERT_TRUE(hub->Refresh().ok());
  const int64_t v0 = store_.version();
  std::vector<int64_t> versions;
  for (const char* id : {"a", "b", "c"}) {
    store_.PutToken(id, "alice", kExpiry);
    ASSERT_TRUE(hub->Refresh().ok());
    versions.push_back(store_.version());
  }
  // The history holds the last two batches: (versions[0], versions[2]].
  EXPECT_THAT(hub->Subscribe(v0), HasCode(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(hub->Subscribe(versions[0] - 1), HasCode(absl::StatusCode::kOutOfRange));
  auto covered = MustSubscribe(*hub, versions[0]);
  ChangeHub::BatchPtr batch = Take(*covered);
  ASSERT_NE(batch, nullptr);
  EXPECT_THAT(TokenIds(*batch), ElementsAre("b", "c"));
}

TEST_F(ChangeHubTest, AHubBehindTheJoinFiltersItsNextBatchToLaterRows) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  const int64_t v0 = store_.version();
  // Two changes the hub has not read yet; the stream's own read saw the
  // first (up to `seen`).
  store_.PutUser("bob");
  store_.PutToken("seen", "alice", kExpiry);
  const int64_t seen = store_.version();
  store_.PutToken("unseen", "bob", kExpiry);
  store_.Revoke("t1");

  auto sub = MustSubscribe(*hub, seen);
  EXPECT_TRUE(NothingWaiting(*sub));
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_THAT(store_.changes_after(), ElementsAre(v0));
  ChangeHub::BatchPtr batch = Take(*sub);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->after_version, seen);
  EXPECT_EQ(batch->version, store_.version());
  EXPECT_THAT(TokenIds(*batch), ElementsAre("unseen", "t1"));
  // bob's row is older than `seen`, but his token travels with him.
  EXPECT_THAT(UserIds(*batch), ElementsAre("alice", "bob"));
}

TEST_F(ChangeHubTest, ASubscriberBeforeTheFirstReadStartsTheHubAtItsVersion) {
  auto hub = NewHub();
  const int64_t seen = store_.version();
  auto sub = MustSubscribe(*hub, seen);
  EXPECT_EQ(hub->version(), seen);
  store_.Revoke("t1");
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_THAT(store_.changes_after(), ElementsAre(seen));
  ChangeHub::BatchPtr batch = Take(*sub);
  ASSERT_NE(batch, nullptr);
  EXPECT_THAT(TokenIds(*batch), ElementsAre("t1"));
}

TEST_F(ChangeHubTest, ASubscriberThatFallsTooFarBehindIsDroppedAlone) {
  ChangeHubOptions options;
  options.queue_batches = 2;
  auto hub = NewHub(options);
  ASSERT_TRUE(hub->Refresh().ok());
  auto slow = MustSubscribe(*hub, store_.version());
  auto fast = MustSubscribe(*hub, store_.version());
  for (const char* id : {"a", "b", "c"}) {
    store_.PutToken(id, "alice", kExpiry);
    ASSERT_TRUE(hub->Refresh().ok());
    ChangeHub::BatchPtr batch = Take(*fast);
    ASSERT_NE(batch, nullptr);
    EXPECT_THAT(TokenIds(*batch), ElementsAre(id));
  }
  EXPECT_THAT(slow->Next(absl::ZeroDuration()), HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(hub->subscriber_count(), 1u);
  store_.PutToken("d", "alice", kExpiry);
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_NE(Take(*fast), nullptr);
}

TEST_F(ChangeHubTest, AFeedThatGoesBackEndsEveryStreamAborted) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  auto sub = MustSubscribe(*hub, store_.version());
  store_.ResetTo(1);
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_THAT(sub->Next(absl::ZeroDuration()), HasCode(absl::StatusCode::kAborted));
  EXPECT_EQ(hub->version(), 1);
  EXPECT_EQ(hub->subscriber_count(), 0u);
}

TEST_F(ChangeHubTest, StopEndsEveryStreamAndRefusesNewOnes) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  auto a = MustSubscribe(*hub, store_.version());
  auto b = MustSubscribe(*hub, store_.version());
  hub->Stop();
  EXPECT_THAT(a->Next(kPatience), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(b->Next(kPatience), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(hub->Subscribe(store_.version()), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(hub->Refresh(), HasCode(absl::StatusCode::kUnavailable));
}

TEST_F(ChangeHubTest, ReadErrorsAreReturnedAndTheNextRoundRecovers) {
  auto hub = NewHub();
  ASSERT_TRUE(hub->Refresh().ok());
  auto sub = MustSubscribe(*hub, store_.version());
  store_.Revoke("t1");
  store_.FailAllCallsWith(absl::UnavailableError("database down"));
  EXPECT_THAT(hub->Refresh(), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(NothingWaiting(*sub));
  store_.FailAllCallsWith(absl::OkStatus());
  ASSERT_TRUE(hub->Refresh().ok());
  EXPECT_NE(Take(*sub), nullptr);
}

TEST_F(ChangeHubTest, TheBackgroundThreadReadsWhenNotified) {
  ChangeHubOptions options;
  options.poll_interval = absl::Hours(1);  // only a notification wakes it
  auto hub = NewHub(options);
  hub->Start();
  auto sub = MustSubscribe(*hub, store_.version());
  store_.Revoke("t1");
  listener_.Notify();
  absl::StatusOr<ChangeHub::BatchPtr> batch = sub->Next(kPatience);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_NE(*batch, nullptr);
  EXPECT_THAT(TokenIds(**batch), ElementsAre("t1"));
  // Stop interrupts the wait, however long the poll interval.
  hub->Stop();
  EXPECT_THAT(sub->Next(kPatience), HasCode(absl::StatusCode::kUnavailable));
}

TEST_F(ChangeHubTest, TheBackgroundThreadPollsWithoutNotifications) {
  ChangeHubOptions options;
  options.poll_interval = absl::Milliseconds(5);
  auto hub = NewHub(options);
  hub->Start();
  auto sub = MustSubscribe(*hub, store_.version());
  store_.Revoke("t1");
  absl::StatusOr<ChangeHub::BatchPtr> batch = sub->Next(kPatience);
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_NE(*batch, nullptr);
  EXPECT_THAT(TokenIds(**batch), ElementsAre("t1"));
}

TEST(ChangesAboveTest, KeepsLaterRowsAndTheOwnersOfLaterTokens) {
  ChangeBatch batch{10, 20, {}, {}};
  batch.tokens = {
      {{}, "old", "ann", kExpiry, false, 11},
      {{}, "new", "bob", kExpiry, true, 18},
  };
  batch.users = {
      {"bob", Role::kUser, false, 5},    // older than the floor, owner of "new"
      {"ann", Role::kAdmin, false, 12},  // older than the floor, owns only "old"
      {"cid", Role::kUser, true, 19},
  };
  const ChangeBatch above = ChangesAbove(batch, 15);
  EXPECT_EQ(above.after_version, 15);
  EXPECT_EQ(above.version, 20);
  EXPECT_THAT(TokenIds(above), ElementsAre("new"));
  EXPECT_THAT(UserIds(above), ElementsAre("bob", "cid"));
  EXPECT_THAT(TokenIds(ChangesAbove(batch, 20)), IsEmpty());
  EXPECT_THAT(UserIds(ChangesAbove(batch, 20)), IsEmpty());
  EXPECT_EQ(ChangesAbove(batch, 3).after_version, 10);
}

}  // namespace
}  // namespace tokens::service
