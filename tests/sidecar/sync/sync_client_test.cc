// SyncClient against a scripted FeedSource: which streams it opens, from
// which version, what it applies and when it cancels. No gRPC; the gRPC side
// is in grpc_feed_source_test.cc. Backoffs are an hour and their jitter is
// pinned, so "reopened" can only mean "reopened without waiting"; the
// minute-long waits below only keep a broken client from hanging the test.
#include "sidecar/sync/sync_client.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gtest/gtest.h"
#include "sidecar/domain/feed.h"
#include "sidecar/domain/token_cache.h"

namespace tokens::sidecar {
namespace {

constexpr absl::Duration kHangGuard = absl::Seconds(60);

// Time that moves only when a test says so; read by the sync thread.
class TestClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromCivil(absl::CivilDay(2026, 3, 1),
                                                         absl::UTCTimeZone());
};

TokenHash HashOf(int n) { return TokenCodec::Hash(absl::StrCat("token-", n)); }

FeedMessage Message(FeedMessage::Kind kind, int64_t version, std::vector<int> tokens) {
  FeedMessage message;
  message.kind = kind;
  message.version = version;
  message.users.push_back(SyncedUser{"alice", Role::kUser, false, 1});
  for (int n : tokens) {
    SyncedToken token;
    token.hash = HashOf(n);
    token.user_id = "alice";
    token.expires_on = absl::CivilDay(2027, 1, 1);
    token.version = version;
    message.tokens.push_back(token);
  }
  return message;
}
FeedMessage Snapshot(std::vector<int> tokens) {
  return Message(FeedMessage::Kind::kSnapshot, 0, std::move(tokens));
}
FeedMessage SnapshotEnd(int64_t version, std::vector<int> tokens = {}) {
  return Message(FeedMessage::Kind::kSnapshotEnd, version, std::move(tokens));
}
FeedMessage Delta(int64_t version, std::vector<int> tokens) {
  return Message(FeedMessage::Kind::kDelta, version, std::move(tokens));
}

// One stream as the fake plays it: its messages, then its end, or, if it
// stays open, nothing more until it is cancelled or EndOpenStream().
struct Script {
  std::vector<FeedMessage> messages;
  absl::Status end = absl::UnavailableError("going away");
  bool stays_open = false;
};

Script Ends(std::vector<FeedMessage> messages, absl::Status end) {
  return {std::move(messages), std::move(end), false};
}
Script StaysOpen(std::vector<FeedMessage> messages = {}) {
  return {std::move(messages), absl::OkStatus(), true};
}

// Plays its scripts, one per Open(), then streams that stay open quietly;
// records every Open() and what became of each stream.
class FakeFeedSource final : public FeedSource {
 public:
  explicit FakeFeedSource(std::vector<Script> scripts)
      : scripts_(std::make_move_iterator(scripts.begin()), std::make_move_iterator(scripts.end())) {
  }

  std::unique_ptr<FeedStream> Open(int64_t from_version) override {
    absl::MutexLock lock(&mu_);
    from_versions_.push_back(from_version);
    auto played = std::make_unique<Played>();
    if (scripts_.empty()) {
      played->script = StaysOpen();
    } else {
      played->script = std::move(scripts_.front());
      scripts_.pop_front();
    }
    streams_.push_back(std::move(played));
    return std::make_unique<Stream>(*this, *streams_.back());
  }

  // The from_version of every Open() so far.
  std::vector<int64_t> from_versions() const {
    absl::MutexLock lock(&mu_);
    return from_versions_;
  }
  bool cancelled(size_t stream) const {
    absl::MutexLock lock(&mu_);
    return streams_.at(stream)->cancelled;
  }

  // Waits until Open() has been called `n` times; false after a minute.
  bool AwaitOpens(size_t n) const {
    absl::MutexLock lock(&mu_);
    auto opened = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return from_versions_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&opened), kHangGuard);
  }
  // Waits until the `stream`th stream has been Finish()ed.
  bool AwaitFinished(size_t stream) const {
    absl::MutexLock lock(&mu_);
    auto finished = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return streams_.size() > stream && streams_[stream]->finished;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&finished), kHangGuard);
  }

  // Ends the latest stream (one that stays open) with `status`.
  void EndOpenStream(absl::Status status) {
    absl::MutexLock lock(&mu_);
    streams_.back()->ended = std::move(status);
  }

 private:
  struct Played {
    Script script;
    size_t next = 0;
    bool cancelled = false;
    bool finished = false;
    std::optional<absl::Status> ended;  // by EndOpenStream()
  };

  class Stream final : public FeedStream {
   public:
    Stream(FakeFeedSource& source, Played& played) : source_(source), played_(played) {}

    bool Read(FeedMessage* message) override {
      absl::MutexLock lock(&source_.mu_);
      Played& p = played_;
      if (!p.cancelled && p.next < p.script.messages.size()) {
        *message = p.script.messages[p.next++];
        return true;
      }
      if (p.script.stays_open) {
        auto over = [&p] { return p.cancelled || p.ended.has_value(); };
        source_.mu_.Await(absl::Condition(&over));
      }
      return false;
    }
    void Cancel() override {
      absl::MutexLock lock(&source_.mu_);
      played_.cancelled = true;
    }
    absl::Status Finish() override {
      absl::MutexLock lock(&source_.mu_);
      played_.finished = true;
      if (played_.cancelled) return absl::CancelledError("cancelled");
      return played_.ended.value_or(played_.script.end);
    }

   private:
    FakeFeedSource& source_;
    Played& played_;
  };

  mutable absl::Mutex mu_;
  std::deque<Script> scripts_ ABSL_GUARDED_BY(mu_);
  std::vector<int64_t> from_versions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Played>> streams_ ABSL_GUARDED_BY(mu_);
};

// A SyncClient over a FakeFeedSource playing `scripts`, with an hour of
// backoff waited in full: a client that waits at all after a stream does not
// open the next one during a test. `loaded` counts on_loaded, and is read
// once the client has stopped.
struct Harness {
  explicit Harness(std::vector<Script> scripts)
      : source(std::move(scripts)),
        sync(source, cache, clock,
             SyncClient::Options{absl::Hours(1), absl::Hours(1), [] { return 1.0; }},
             [this] { ++loaded; }) {}

  // Waits until `condition(stats)` holds; false after a minute.
  template <typename Condition>
  bool AwaitStats(Condition condition) const {
    const absl::Time give_up = absl::Now() + kHangGuard;
    while (!condition(sync.stats())) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

  FakeFeedSource source;
  TokenCache cache;
  TestClock clock;
  int loaded = 0;
  SyncClient sync;
};

TEST(SyncClientTest, AfterAStreamThatMadeProgressEndsItResumesAtOnceFromTheCachesVersion) {
  Harness h({
      Ends({Snapshot({1}), SnapshotEnd(10, {2})}, absl::UnavailableError("token-service restarts")),
      StaysOpen({Delta(11, {3})}),
  });
  h.sync.Start();

  ASSERT_TRUE(h.source.AwaitOpens(2)) << "waited out its backoff after a healthy stream";
  ASSERT_TRUE(h.AwaitStats([](const SyncClient::Stats& s) { return s.deltas_applied == 1; }));
  EXPECT_EQ(h.source.from_versions(), (std::vector<int64_t>{0, 10}));
  EXPECT_FALSE(h.source.cancelled(0));
  EXPECT_EQ(h.cache.version(), 11);
  for (int n : {1, 2, 3}) EXPECT_TRUE(h.cache.Find(HashOf(n)).has_value()) << n;

  const SyncClient::Stats stats = h.sync.stats();
  EXPECT_EQ(stats.streams_opened, 2u);
  EXPECT_EQ(stats.snapshots_loaded, 1u);
  EXPECT_EQ(stats.last_snapshot_tokens, 2u);
  EXPECT_TRUE(stats.stream_up);
  EXPECT_EQ(stats.last_message_at, h.clock.Now());
  h.sync.Stop();
  EXPECT_TRUE(h.source.cancelled(1)) << "Stop() cancels the open stream";
  EXPECT_FALSE(h.sync.stats().stream_up);
  EXPECT_EQ(h.loaded, 1);
}

TEST(SyncClientTest, AQuietStreamThatWasOpenLongerThanTheLongestBackoffIsReopenedAtOnce) {
  Harness h({
      Ends({SnapshotEnd(10, {1})}, absl::UnavailableError("token-service restarts")),
      StaysOpen(),  // resumed, and nothing changes for a while
  });
  h.sync.Start();
  ASSERT_TRUE(h.source.AwaitOpens(2));

  h.clock.Advance(absl::Hours(2));
  h.source.EndOpenStream(absl::UnavailableError("token-service restarts again"));
  ASSERT_TRUE(h.source.AwaitOpens(3)) << "a stream that lasted hours was taken for a refusal";
  EXPECT_EQ(h.source.from_versions(), (std::vector<int64_t>{0, 10, 10}));
  h.sync.Stop();
}

TEST(SyncClientTest, AStreamRefusedWithoutProgressIsRetriedOnlyAfterTheBackoff) {
  Harness h({Ends({}, absl::UnauthenticatedError("the token is revoked"))});
  h.sync.Start();
  ASSERT_TRUE(h.source.AwaitFinished(0));

  // Now in its hour of backoff, which Stop() cuts short.
  h.sync.Stop();
  EXPECT_EQ(h.source.from_versions(), (std::vector<int64_t>{0}));
  EXPECT_FALSE(h.cache.loaded());
  EXPECT_EQ(h.sync.stats().streams_opened, 1u);
}

TEST(SyncClientTest, AMessageItCannotApplyCancelsTheStreamAndKeepsTheCache) {
  Harness h({
      // A version going backwards, on a stream that stays open.
      StaysOpen({SnapshotEnd(10, {1}), Delta(12, {2}), Delta(11, {3})}),
      StaysOpen(),
  });
  h.sync.Start();

  // The stream made progress before its bad message, so the next one opens
  // at once, from what was applied.
  ASSERT_TRUE(h.source.AwaitOpens(2));
  EXPECT_TRUE(h.source.cancelled(0));
  EXPECT_EQ(h.source.from_versions(), (std::vector<int64_t>{0, 12}));
  EXPECT_EQ(h.cache.version(), 12);
  EXPECT_TRUE(h.cache.Find(HashOf(2)).has_value());
  EXPECT_FALSE(h.cache.Find(HashOf(3)).has_value());
  h.sync.Stop();
}

TEST(SyncClientTest, AStreamThatEndsInsideASnapshotLeavesTheCacheAsItWas) {
  Harness h({
      Ends({SnapshotEnd(10, {1})}, absl::UnavailableError("going away")),
      // Say token-service could not resume from 10 and the stream broke
      // half-way through the fresh snapshot.
      Ends({Snapshot({2, 3})}, absl::UnavailableError("connection reset")),
  });
  h.sync.Start();
  ASSERT_TRUE(h.source.AwaitFinished(1));
  h.sync.Stop();

  EXPECT_EQ(h.source.from_versions(), (std::vector<int64_t>{0, 10}));
  EXPECT_EQ(h.cache.version(), 10);
  EXPECT_EQ(h.cache.size(), 1u);
  EXPECT_TRUE(h.cache.Find(HashOf(1)).has_value());
  EXPECT_EQ(h.sync.stats().snapshots_loaded, 1u);
}

TEST(SyncClientTest, OnLoadedRunsOnceAcrossSnapshots) {
  Harness h({
      Ends({SnapshotEnd(10, {1})}, absl::UnavailableError("going away")),
      // A database restored to an older state: a fresh, older snapshot.
      StaysOpen({Snapshot({2}), SnapshotEnd(4)}),
  });
  h.sync.Start();
  ASSERT_TRUE(h.AwaitStats([](const SyncClient::Stats& s) { return s.snapshots_loaded == 2; }));
  h.sync.Stop();

  EXPECT_EQ(h.loaded, 1);
  EXPECT_EQ(h.cache.version(), 4);
  EXPECT_TRUE(h.cache.Find(HashOf(2)).has_value());
  EXPECT_FALSE(h.cache.Find(HashOf(1)).has_value());
}

TEST(SyncClientTest, StopCancelsAStreamThatIsStillWaiting) {
  Harness h({StaysOpen()});
  h.sync.Start();
  ASSERT_TRUE(h.source.AwaitOpens(1));
  h.sync.Stop();
  EXPECT_TRUE(h.source.cancelled(0));
  EXPECT_EQ(h.source.from_versions().size(), 1u);
  h.sync.Stop();  // idempotent
}

TEST(SyncClientTest, StopWithoutStartIsHarmless) {
  Harness h({});
  h.sync.Stop();
  EXPECT_TRUE(h.source.from_versions().empty());
}

}  // namespace
}  // namespace tokens::sidecar
