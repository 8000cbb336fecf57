#include "services/token_service/domain/token_sync_manager.h"

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/snapshot_images.h"
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

// What a stream was handed, message by message, in a form tests can compare.
struct Sent {
  enum Kind { kSnapshot, kSnapshotEnd, kDelta } kind;
  int64_t version = 0;  // SnapshotEnd and Delta
  std::vector<std::string> tokens;
  std::vector<std::string> users;
};

std::vector<std::string> Ids(const std::vector<SyncedToken>& tokens) {
  std::vector<std::string> ids;
  for (const SyncedToken& t : tokens) ids.push_back(t.token_id + (t.revoked ? " revoked" : ""));
  return ids;
}
std::vector<std::string> Ids(const std::vector<SyncedUser>& users) {
  std::vector<std::string> ids;
  for (const SyncedUser& u : users) ids.push_back(u.user_id);
  return ids;
}

// A readable stand-in for the wire encoding of a snapshot image:
// "S|token,token|user,user" per chunk and "E|version" at the end.
SnapshotEncoding TextEncoding() {
  SnapshotEncoding encoding;
  encoding.chunk = [](const SnapshotChunk& chunk, std::vector<std::string>* out) {
    out->push_back(absl::StrCat("S|", absl::StrJoin(Ids(chunk.tokens), ","), "|",
                                absl::StrJoin(Ids(chunk.users), ",")));
  };
  encoding.end = [](int64_t version) { return absl::StrCat("E|", version); };
  return encoding;
}

Sent Decode(const std::string& message) {
  const std::vector<std::string> parts = absl::StrSplit(message, '|');
  Sent sent{Sent::kSnapshot, 0, {}, {}};
  if (parts[0] == "E") {
    sent.kind = Sent::kSnapshotEnd;
    EXPECT_TRUE(absl::SimpleAtoi(parts[1], &sent.version));
    return sent;
  }
  sent.tokens = absl::StrSplit(parts[1], ',', absl::SkipEmpty());
  sent.users = absl::StrSplit(parts[2], ',', absl::SkipEmpty());
  return sent;
}

// A stream as the transport drives it: pulls whatever the session has,
// counts the hub's wakes.
class Reader {
 public:
  std::function<void()> Wake() {
    return [this] { ++wakes_; };
  }
  int wakes() const { return wakes_; }

  // Pulls until the session has nothing more now; returns the status it
  // ended with, or OK if it is still open.
  absl::Status Pull(FeedSession& session) {
    for (;;) {
      absl::StatusOr<std::optional<FeedItem>> next = session.Next();
      if (!next.ok()) return next.status();
      if (!next->has_value()) return absl::OkStatus();
      const FeedItem& item = **next;
      if (item.image != nullptr) {
        sent_.push_back(Decode(item.image->messages[item.message]));
      } else {
        sent_.push_back(
            {Sent::kDelta, item.delta->version, Ids(item.delta->tokens), Ids(item.delta->users)});
      }
    }
  }

  const std::vector<Sent>& sent() const { return sent_; }

 private:
  std::atomic<int> wakes_{0};
  std::vector<Sent> sent_;
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

  ~TokenSyncManagerTest() override { store_.ReleaseSnapshots(); }

  // Opens a stream; fails the test if it cannot.
  std::unique_ptr<FeedSession> MustOpen(int64_t from_version, Reader& reader,
                                        const Principal& caller = kSidecar) {
    absl::StatusOr<std::unique_ptr<FeedSession>> session =
        sync_.Open(caller, from_version, reader.Wake());
    EXPECT_TRUE(session.ok()) << session.status();
    return session.ok() ? *std::move(session) : nullptr;
  }

  // The sidecar's own user and token, as kSidecar presents them.
  void AddSidecar() {
    store_.PutUser(kSidecar.user_id, Role::kService);
    store_.PutToken(kSidecar.token_id, kSidecar.user_id, kToday + 30);
  }

  // A hub that keeps one batch of history, so that two more batches leave a
  // stream's read behind it; with the images and the manager around it.
  struct ShortHistory {
    explicit ShortHistory(TokenSyncManagerTest& test)
        : hub(test.store_, test.listener_, OneBatch()),
          images(test.store_, hub, test.clock_, TextEncoding()),
          sync(test.store_, hub, images, test.clock_, test.options_) {}
    static ChangeHubOptions OneBatch() {
      ChangeHubOptions options;
      options.history_batches = 1;
      return options;
    }
    ChangeHub hub;
    SnapshotImages images;
    TokenSyncManager sync;
  };

  FakeSyncStore store_{/*snapshot_chunk=*/2};
  FakeChangeListener listener_;
  FakeClock clock_{kNow};
  ChangeHub hub_{store_, listener_, ChangeHubOptions{}};
  SnapshotImages images_{store_, hub_, clock_, TextEncoding()};
  TokenSyncOptions options_{/*catch_up_max_rows=*/100, /*join_attempts=*/5};
  TokenSyncManager sync_{store_, hub_, images_, clock_, options_};
};

// ---------------------------------------------------------------------------
// Authorization

TEST_F(TokenSyncManagerTest, OnlyServiceCallersMayUseTheSyncApi) {
  const int calls = store_.calls();
  for (const Principal& caller : {Caller("alice", Role::kUser), Caller("root", Role::kAdmin)}) {
    SCOPED_TRACE(RoleName(caller.role));
    Reader reader;
    EXPECT_THAT(sync_.Open(caller, 0, reader.Wake()).status(),
                HasCode(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(sync_.ReportUsage(caller, {{"0b4f1f52-52a4-4bd1-9f43-3c1a4d6e8b10", kNow, ""}}),
                HasCode(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(sync_.LookupToken(caller, std::string(32, 'x')),
                HasCode(absl::StatusCode::kPermissionDenied));
  }
  EXPECT_EQ(store_.calls(), calls) << "a refused call reached the store";
  EXPECT_EQ(hub_.subscriber_count(), 0u);
  EXPECT_EQ(sync_.stats().streams_open, 0);
}

// ---------------------------------------------------------------------------
// SyncTokens

TEST_F(TokenSyncManagerTest, FromZeroSendsASnapshotThenTheChangesAsTheyCommit) {
  const int64_t snapshot_version = store_.version();
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(0, reader);
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(hub_.subscriber_count(), 1u) << "a stream joins the hub as it opens";
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(2));
  // Chunks of two tokens here; only tokens that can still authenticate, each
  // owner once, a disabled owner's token included.
  EXPECT_EQ(reader.sent()[0].kind, Sent::kSnapshot);
  EXPECT_THAT(reader.sent()[0].tokens, ElementsAre("bobs", "live"));
  EXPECT_THAT(reader.sent()[0].users, UnorderedElementsAre("alice", "bob"));
  EXPECT_EQ(reader.sent()[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(reader.sent()[1].version, snapshot_version);

  // Nothing more until a change; the hub wakes the stream when one comes.
  EXPECT_EQ(reader.wakes(), 0);
  store_.Revoke("live");
  store_.PutToken("new", "carol", kToday + 10);
  ASSERT_TRUE(hub_.Refresh().ok());
  EXPECT_EQ(reader.wakes(), 1);
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(3));
  EXPECT_EQ(reader.sent()[2].kind, Sent::kDelta);
  EXPECT_EQ(reader.sent()[2].version, store_.version());
  EXPECT_THAT(reader.sent()[2].tokens, ElementsAre("live revoked", "new"));
  EXPECT_THAT(reader.sent()[2].users, ElementsAre("alice", "carol"));

  session.reset();
  EXPECT_EQ(hub_.subscriber_count(), 0u);
  EXPECT_EQ(sync_.stats().streams_open, 0);
}

TEST_F(TokenSyncManagerTest, ResumingSendsOnlyLaterChangesWithoutASnapshot) {
  const int64_t applied = store_.version();
  store_.PutUser("alice", Role::kAdmin);
  store_.Revoke("bobs");
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(applied, reader);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(1));
  EXPECT_EQ(reader.sent()[0].kind, Sent::kDelta);
  EXPECT_EQ(reader.sent()[0].version, store_.version());
  EXPECT_THAT(reader.sent()[0].tokens, ElementsAre("bobs revoked"));
  EXPECT_THAT(reader.sent()[0].users, ElementsAre("bob", "alice"));
  EXPECT_EQ(store_.snapshot_calls(), 0);
  EXPECT_EQ(session->snapshot(), nullptr);

  store_.PutToken("later", "alice", kToday + 5);
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(2));
  EXPECT_THAT(reader.sent()[1].tokens, ElementsAre("later"));
}

TEST_F(TokenSyncManagerTest, ResumingWhenCurrentSendsNothingUntilAChange) {
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(store_.version(), reader);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(reader.Pull(*session).ok());
  EXPECT_THAT(reader.sent(), IsEmpty());
  store_.Revoke("live");
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(1));
  EXPECT_THAT(reader.sent()[0].tokens, ElementsAre("live revoked"));
  EXPECT_EQ(store_.snapshot_calls(), 0);
}

TEST_F(TokenSyncManagerTest, ASnapshotWithoutTokensStillOpensWithAChunk) {
  for (const char* id : {"live", "bobs"}) store_.Revoke(id);
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(0, reader);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(2));
  EXPECT_EQ(reader.sent()[0].kind, Sent::kSnapshot);
  EXPECT_THAT(reader.sent()[0].tokens, IsEmpty());
  EXPECT_EQ(reader.sent()[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(reader.sent()[1].version, store_.version());
}

TEST_F(TokenSyncManagerTest, AVersionFromTheFutureOrTooManyChangesGetASnapshot) {
  const int64_t applied = store_.version();
  Reader future;
  std::unique_ptr<FeedSession> session = MustOpen(store_.version() + 1000, future);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(future.Pull(*session).ok());
  ASSERT_THAT(future.sent(), SizeIs(2));
  EXPECT_EQ(future.sent()[0].kind, Sent::kSnapshot);
  EXPECT_EQ(future.sent()[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(future.sent()[1].version, store_.version());

  for (int i = 0; i < 101; ++i) store_.PutUser(absl::StrCat("user", i));
  Reader behind;
  session = MustOpen(applied, behind);
  ASSERT_NE(session, nullptr);
  ASSERT_TRUE(behind.Pull(*session).ok());
  ASSERT_FALSE(behind.sent().empty());
  EXPECT_EQ(behind.sent()[0].kind, Sent::kSnapshot);
}

TEST_F(TokenSyncManagerTest, WhenTheHubRunsPastItsHistoryTheStreamReadsTheGapAgain) {
  ShortHistory feed(*this);
  ASSERT_TRUE(feed.hub.Refresh().ok());
  const int64_t applied = store_.version();
  store_.PutToken("a", "alice", kToday + 5);

  // Right after the stream's catch-up read, the hub reads two more batches,
  // so its one-batch history no longer reaches back to the stream's read.
  store_.AfterNextChangesSince([&] {
    store_.PutToken("b", "alice", kToday + 5);
    ASSERT_TRUE(feed.hub.Refresh().ok());
    store_.PutToken("c", "alice", kToday + 5);
    ASSERT_TRUE(feed.hub.Refresh().ok());
  });
  Reader reader;
  absl::StatusOr<std::unique_ptr<FeedSession>> session =
      feed.sync.Open(kSidecar, applied, reader.Wake());
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE(reader.Pull(**session).ok());

  // The first read (after `applied`) and the re-read of the gap: together
  // every change, each once, in order.
  ASSERT_THAT(reader.sent(), SizeIs(2));
  EXPECT_EQ(reader.sent()[0].kind, Sent::kDelta);
  EXPECT_EQ(reader.sent()[1].kind, Sent::kDelta);
  std::vector<std::string> tokens = reader.sent()[0].tokens;
  tokens.insert(tokens.end(), reader.sent()[1].tokens.begin(), reader.sent()[1].tokens.end());
  EXPECT_THAT(tokens, ElementsAre("a", "b", "c"));
  EXPECT_EQ(reader.sent()[1].version, store_.version());
}

TEST_F(TokenSyncManagerTest, StoppingTheHubEndsTheStreamUnavailableEvenInTheMiddleOfASnapshot) {
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(0, reader);
  ASSERT_NE(session, nullptr);
  // The first message is taken; the hub stops before the rest.
  ASSERT_TRUE(session->Next().ok());
  hub_.Stop();
  EXPECT_EQ(reader.wakes(), 1) << "a stopping hub wakes its streams";
  EXPECT_THAT(reader.Pull(*session), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(reader.sent(), IsEmpty());
}

TEST_F(TokenSyncManagerTest, StoreErrorsFailTheOpening) {
  store_.FailAllCallsWith(absl::UnavailableError("database down"));
  Reader reader;
  EXPECT_THAT(sync_.Open(kSidecar, 0, reader.Wake()).status(),
              HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(sync_.Open(kSidecar, 3, reader.Wake()).status(),
              HasCode(absl::StatusCode::kUnavailable));
  EXPECT_EQ(hub_.subscriber_count(), 0u);
  EXPECT_EQ(sync_.stats().streams_open, 0) << "a failed opening keeps no place under the caps";
}

TEST_F(TokenSyncManagerTest, ANegativeVersionIsAFieldError) {
  Reader reader;
  EXPECT_THAT(sync_.Open(kSidecar, -1, reader.Wake()).status(), IsFieldError("from_version"));
}

// ---------------------------------------------------------------------------
// The shared snapshot

TEST_F(TokenSyncManagerTest, StreamsStartingTogetherShareOneSnapshotRead) {
  // The first stream's read is held, as a long one would be; three more
  // streams open meanwhile.
  store_.HoldSnapshots();
  constexpr int kStreams = 4;
  std::vector<Reader> readers(kStreams);
  std::vector<absl::StatusOr<std::unique_ptr<FeedSession>>> sessions(kStreams);
  std::vector<std::thread> opening;
  opening.emplace_back([&] { sessions[0] = sync_.Open(kSidecar, 0, readers[0].Wake()); });
  ASSERT_TRUE(store_.AwaitSnapshotCalls(1, kPatience));
  for (int i = 1; i < kStreams; ++i) {
    opening.emplace_back([&, i] { sessions[i] = sync_.Open(kSidecar, 0, readers[i].Wake()); });
  }
  // Give the others a chance to start a read of their own, which they must
  // not: they wait for the one under way.
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(store_.snapshot_calls(), 1);
  store_.ReleaseSnapshots();
  for (std::thread& t : opening) t.join();

  EXPECT_EQ(store_.snapshot_calls(), 1) << "the database was read once for every stream";
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(sessions[i].ok()) << sessions[i].status();
    ASSERT_TRUE(readers[i].Pull(**sessions[i]).ok());
    ASSERT_THAT(readers[i].sent(), SizeIs(2));
    EXPECT_THAT(readers[i].sent()[0].tokens, ElementsAre("bobs", "live"));
    EXPECT_EQ((*sessions[i])->snapshot(), (*sessions[0])->snapshot()) << "one image, shared";
  }
  EXPECT_EQ(images_.stats().reads, 1u);
  EXPECT_EQ(sync_.stats().snapshots_sent, static_cast<uint64_t>(kStreams));
}

TEST_F(TokenSyncManagerTest, ALaterStreamReusesTheSnapshotAndGetsTheChangesSinceFromTheHub) {
  ASSERT_TRUE(hub_.Refresh().ok());
  Reader first;
  std::unique_ptr<FeedSession> a = MustOpen(0, first);
  ASSERT_NE(a, nullptr);
  const int64_t image_version = a->snapshot()->version;
  store_.Revoke("live");
  ASSERT_TRUE(hub_.Refresh().ok());

  Reader second;
  std::unique_ptr<FeedSession> b = MustOpen(0, second);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(store_.snapshot_calls(), 1) << "the kept image was read again";
  ASSERT_TRUE(second.Pull(*b).ok());
  ASSERT_THAT(second.sent(), SizeIs(3));
  EXPECT_EQ(second.sent()[1].kind, Sent::kSnapshotEnd);
  EXPECT_EQ(second.sent()[1].version, image_version);
  EXPECT_EQ(second.sent()[2].kind, Sent::kDelta);
  EXPECT_THAT(second.sent()[2].tokens, ElementsAre("live revoked"));
  EXPECT_EQ(second.sent()[2].version, store_.version());
}

TEST_F(TokenSyncManagerTest, ANewSnapshotIsReadWhenTheHubCannotBridgeTheKeptOneOrTheDayChanged) {
  ShortHistory feed(*this);
  ASSERT_TRUE(feed.hub.Refresh().ok());
  Reader reader;
  ASSERT_TRUE(feed.sync.Open(kSidecar, 0, reader.Wake()).ok());
  ASSERT_EQ(store_.snapshot_calls(), 1);

  // Two batches later the hub's one-batch history no longer reaches back.
  for (const char* id : {"a", "b"}) {
    store_.PutToken(id, "alice", kToday + 5);
    ASSERT_TRUE(feed.hub.Refresh().ok());
  }
  ASSERT_TRUE(feed.sync.Open(kSidecar, 0, reader.Wake()).ok());
  EXPECT_EQ(store_.snapshot_calls(), 2);
  ASSERT_TRUE(feed.sync.Open(kSidecar, 0, reader.Wake()).ok());
  EXPECT_EQ(store_.snapshot_calls(), 2) << "the new image is shared in turn";

  // A new UTC day: tokens that expired at midnight must not be handed out.
  clock_.Advance(absl::Hours(24));
  ASSERT_TRUE(feed.sync.Open(kSidecar, 0, reader.Wake()).ok());
  EXPECT_EQ(store_.snapshot_calls(), 3);
}

TEST_F(TokenSyncManagerTest, AFailedReadFailsEveryStreamThatWaitedForIt) {
  store_.HoldSnapshots();
  Reader first, second;
  absl::StatusOr<std::unique_ptr<FeedSession>> a, b;
  std::thread reading([&] { a = sync_.Open(kSidecar, 0, first.Wake()); });
  ASSERT_TRUE(store_.AwaitSnapshotCalls(1, kPatience));
  std::thread waiting([&] { b = sync_.Open(kSidecar, 0, second.Wake()); });
  absl::SleepFor(absl::Milliseconds(50));
  store_.FailAllCallsWith(absl::UnavailableError("database down"));
  store_.ReleaseSnapshots();
  reading.join();
  waiting.join();
  EXPECT_THAT(a.status(), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(b.status(), HasCode(absl::StatusCode::kUnavailable));
  EXPECT_EQ(store_.snapshot_calls(), 1) << "a waiting stream started a read of its own";
  EXPECT_EQ(images_.stats().read_failures, 1u);
}

TEST_F(TokenSyncManagerTest, AnIdleKeptImageIsReleasedOnlyOnceNoStreamHoldsIt) {
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(0, reader);
  ASSERT_NE(session, nullptr);
  EXPECT_GT(images_.stats().kept_bytes, 0u);
  clock_.Advance(absl::Minutes(5));
  images_.ReleaseIdle(absl::Minutes(1));
  EXPECT_GT(images_.stats().kept_bytes, 0u) << "released while a stream still sends it";
  session.reset();
  images_.ReleaseIdle(absl::Minutes(10));
  EXPECT_GT(images_.stats().kept_bytes, 0u) << "released before it was idle long enough";
  images_.ReleaseIdle(absl::Minutes(1));
  EXPECT_EQ(images_.stats().kept_bytes, 0u);
}

// ---------------------------------------------------------------------------
// Stream caps

TEST_F(TokenSyncManagerTest, StreamsOverACallersCapOrTheTotalAreRefused) {
  TokenSyncOptions options = options_;
  options.max_streams_per_caller = 2;
  options.max_streams = 3;
  TokenSyncManager sync(store_, hub_, images_, clock_, options);
  const Principal other = Caller("other-sidecar", Role::kService);
  Reader reader;
  std::vector<std::unique_ptr<FeedSession>> open;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<FeedSession>> s = sync.Open(kSidecar, 0, reader.Wake());
    ASSERT_TRUE(s.ok()) << s.status();
    open.push_back(*std::move(s));
  }
  const int reads = store_.calls();
  absl::Status refused = sync.Open(kSidecar, 0, reader.Wake()).status();
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(refused.message()),
              ::testing::HasSubstr("--sync_max_streams_per_caller"));
  EXPECT_EQ(store_.calls(), reads) << "a refused stream read the database";

  // Another caller still gets in, up to the total.
  absl::StatusOr<std::unique_ptr<FeedSession>> third = sync.Open(other, 0, reader.Wake());
  ASSERT_TRUE(third.ok()) << third.status();
  refused = sync.Open(Caller("third-sidecar", Role::kService), 0, reader.Wake()).status();
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(refused.message()), ::testing::HasSubstr("--sync_max_streams)"));
  EXPECT_EQ(sync.stats().streams_open, 3);
  EXPECT_EQ(sync.stats().refused_caller, 1u);
  EXPECT_EQ(sync.stats().refused_total, 1u);

  // A stream that ends gives its place back.
  open.pop_back();
  EXPECT_TRUE(sync.Open(kSidecar, 0, reader.Wake()).ok());
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
    Reader reader;
    std::unique_ptr<FeedSession> session = MustOpen(store_.version(), reader);
    ASSERT_NE(session, nullptr);
    c.change();
    ASSERT_TRUE(hub_.Refresh().ok());
    const absl::Status ended = reader.Pull(*session);
    EXPECT_THAT(ended, HasCode(c.code));
    EXPECT_EQ(std::string(ended.message()), c.message);
    // The change itself went out first: the sidecar drops the token too.
    ASSERT_THAT(reader.sent(), SizeIs(1));
    EXPECT_EQ(reader.sent()[0].kind, Sent::kDelta);
    EXPECT_EQ(reader.sent()[0].tokens, c.tokens);
    EXPECT_THAT(reader.sent()[0].users, ElementsAre(kSidecar.user_id));
    session.reset();
    EXPECT_EQ(hub_.subscriber_count(), 0u);
  }
}

TEST_F(TokenSyncManagerTest, OtherChangesToTheCallersRowsDoNotEndTheStream) {
  AddSidecar();
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(store_.version(), reader);
  ASSERT_NE(session, nullptr);
  // Another of its tokens revoked, its user written again unchanged, and a
  // token revoked that merely shares the caller's token id's prefix.
  store_.PutToken("second", kSidecar.user_id, kToday + 30);
  store_.Revoke("second");
  store_.PutUser(kSidecar.user_id, Role::kService);
  store_.PutToken(kSidecar.token_id + "-not", "alice", kToday + 30);
  store_.Revoke(kSidecar.token_id + "-not");
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(1));
  // Still following: the next change arrives too.
  store_.Revoke("live");
  ASSERT_TRUE(hub_.Refresh().ok());
  ASSERT_TRUE(reader.Pull(*session).ok());
  ASSERT_THAT(reader.sent(), SizeIs(2));
  EXPECT_THAT(reader.sent()[1].tokens, ElementsAre("live revoked"));
}

TEST_F(TokenSyncManagerTest, AResumingStreamWhoseTokenWasRevokedMeanwhileGetsTheChangeAndEnds) {
  AddSidecar();
  const int64_t applied = store_.version();
  store_.Revoke(kSidecar.token_id);
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(applied, reader);
  ASSERT_NE(session, nullptr);
  const absl::Status ended = reader.Pull(*session);
  EXPECT_THAT(ended, HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(std::string(ended.message()), "the stream's token was revoked");
  ASSERT_THAT(reader.sent(), SizeIs(1));
  EXPECT_EQ(reader.sent()[0].kind, Sent::kDelta);
  EXPECT_THAT(reader.sent()[0].tokens, ElementsAre(kSidecar.token_id + " revoked"));
}

TEST_F(TokenSyncManagerTest, AStreamEndsOnceItsTokenExpires) {
  Principal caller = kSidecar;
  caller.token_expires_on = kToday + 1;
  const absl::Time expiry = StartOfUtcDay(kToday + 1);
  Reader reader;
  std::unique_ptr<FeedSession> session = MustOpen(store_.version(), reader, caller);
  ASSERT_NE(session, nullptr);
  // The last second of its last day: still served.
  EXPECT_TRUE(session->CheckNotExpired(expiry - absl::Seconds(1)).ok());
  const absl::Status ended = session->CheckNotExpired(expiry);
  EXPECT_THAT(ended, HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(std::string(ended.message()), "the stream's token expired");
  // A token without an expiry (none is issued so) never ends the stream.
  std::unique_ptr<FeedSession> forever = MustOpen(store_.version(), reader);
  ASSERT_NE(forever, nullptr);
  EXPECT_TRUE(forever->CheckNotExpired(expiry + absl::Hours(24 * 365)).ok());
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
  // The longest text of an IP address: 45 characters.
  EXPECT_TRUE(
      sync_.ReportUsage(kSidecar, {{kId1, kNow, "0000:0000:0000:0000:0000:ffff:255.255.255.255"}})
          .ok());
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
