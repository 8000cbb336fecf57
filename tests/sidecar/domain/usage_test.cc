#include "sidecar/domain/usage.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/domain/model.h"

namespace tokens::sidecar {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A token's last use as the tests compare it.
using LastUse = std::pair<absl::Time, std::string>;
using UsageByToken = std::map<TokenId, LastUse>;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 12, 0, 0), absl::UTCTimeZone());

TokenId IdOf(int n) { return TokenId({static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)}); }

absl::Time At(int64_t millis) { return kStart + absl::Milliseconds(millis); }

// Records by token; a token listed twice fails the test.
UsageByToken ByToken(const std::vector<UsageRecord>& records) {
  UsageByToken by_token;
  for (const UsageRecord& record : records) {
    const bool fresh =
        by_token.emplace(record.token_id, LastUse{record.last_used_at, record.client_address})
            .second;
    EXPECT_TRUE(fresh) << "token " << record.token_id.ToString() << " listed twice";
  }
  return by_token;
}

// Keeps the later use per token, as a reader of several reports would.
void MergeLatest(UsageByToken& into, const std::vector<UsageRecord>& records) {
  for (const UsageRecord& record : records) {
    auto [it, inserted] =
        into.try_emplace(record.token_id, LastUse{record.last_used_at, record.client_address});
    if (!inserted && record.last_used_at > it->second.first) {
      it->second = LastUse{record.last_used_at, record.client_address};
    }
  }
}

// ReportUsage that keeps every batch it was given (acknowledged or not) and
// answers from a script, then OK. `during_report` runs inside Report(), as
// if requests kept arriving while token-service stores the batch.
class FakeSink final : public UsageSink {
 public:
  void AnswerNext(absl::Status status) {
    absl::MutexLock lock(&mu_);
    answers_.push_back(std::move(status));
  }
  void set_during_report(std::function<void()> hook) { during_report_ = std::move(hook); }
  std::vector<std::vector<UsageRecord>> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  bool overlapped() const { return overlapped_.load(); }

  absl::Status Report(const std::vector<UsageRecord>& batch) override {
    if (in_report_.fetch_add(1) != 0) overlapped_.store(true);
    absl::Status answer;
    {
      absl::MutexLock lock(&mu_);
      batches_.push_back(batch);
      if (!answers_.empty()) {
        answer = answers_.front();
        answers_.pop_front();
      }
    }
    if (during_report_) during_report_();
    in_report_.fetch_sub(1);
    return answer;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::vector<UsageRecord>> batches_ ABSL_GUARDED_BY(mu_);
  std::deque<absl::Status> answers_ ABSL_GUARDED_BY(mu_);
  std::function<void()> during_report_;
  std::atomic<int> in_report_{0};
  std::atomic<bool> overlapped_{false};
};

// Sizes of the batches, smallest first.
std::vector<size_t> Sizes(const std::vector<std::vector<UsageRecord>>& batches) {
  std::vector<size_t> sizes;
  for (const auto& batch : batches) sizes.push_back(batch.size());
  std::sort(sizes.begin(), sizes.end());
  return sizes;
}

// --- UsageRecorder ---------------------------------------------------------

TEST(UsageRecorderTest, KeepsTheLatestUseOfEachTokenWithItsAddress) {
  UsageRecorder recorder;
  recorder.Record(IdOf(1), At(3000), "10.0.0.3");
  recorder.Record(IdOf(1), At(1000), "10.0.0.1");
  recorder.Record(IdOf(1), At(5000), "10.0.0.5");
  recorder.Record(IdOf(1), At(2000), "10.0.0.2");
  recorder.Record(IdOf(2), At(1500), "");

  UsageByToken expected{{IdOf(1), {At(5000), "10.0.0.5"}}, {IdOf(2), {At(1500), ""}}};
  EXPECT_EQ(ByToken(recorder.Drain()), expected);
}

TEST(UsageRecorderTest, DrainEmptiesTheRecorder) {
  UsageRecorder recorder;
  recorder.Record(IdOf(1), At(1000), "a");
  EXPECT_EQ(recorder.Drain().size(), 1u);
  EXPECT_THAT(recorder.Drain(), IsEmpty());

  recorder.Record(IdOf(2), At(500), "b");
  UsageByToken expected{{IdOf(2), {At(500), "b"}}};
  EXPECT_EQ(ByToken(recorder.Drain()), expected);
}

// Records of thread `t`, number `i`: 100 tokens; times unique and out of
// order (k * 48271 mod 400000 is a permutation of 0..399999), so "latest"
// is well defined and not simply "last recorded".
constexpr int kThreads = 40;  // more than the recorder's stripes: some share one
constexpr int kPerThread = 10000;
constexpr int kTokens = 100;

int TokenOf(int i) { return i % kTokens; }
absl::Time TimeOf(int t, int i) {
  const int64_t k = int64_t{t} * kPerThread + i;
  return At((k * 48271) % (int64_t{kThreads} * kPerThread));
}
std::string AddressOf(int t, int i) { return absl::StrCat("10.", t, ".", i / 256, ".", i % 256); }

UsageByToken ExpectedLatest() {
  UsageByToken expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      auto [it, inserted] = expected.try_emplace(IdOf(TokenOf(i)), TimeOf(t, i), AddressOf(t, i));
      if (!inserted && TimeOf(t, i) > it->second.first)
        it->second = {TimeOf(t, i), AddressOf(t, i)};
    }
  }
  return expected;
}

void RecordFromAllThreads(UsageRecorder& recorder) {
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&recorder, t] {
      for (int i = 0; i < kPerThread; ++i) {
        recorder.Record(IdOf(TokenOf(i)), TimeOf(t, i), AddressOf(t, i));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

TEST(UsageRecorderTest, RecordsFromManyThreadsAddUpExactly) {
  UsageRecorder recorder;
  RecordFromAllThreads(recorder);

  UsageByToken drained = ByToken(recorder.Drain());
  EXPECT_EQ(drained.size(), static_cast<size_t>(kTokens));
  EXPECT_EQ(drained, ExpectedLatest());
}

TEST(UsageRecorderTest, DrainingWhileThreadsRecordLosesNothing) {
  UsageRecorder recorder;
  std::atomic<bool> recording{true};
  UsageByToken seen;
  std::thread drainer([&] {
    while (recording.load()) MergeLatest(seen, recorder.Drain());
  });
  RecordFromAllThreads(recorder);
  recording.store(false);
  drainer.join();
  MergeLatest(seen, recorder.Drain());

  EXPECT_EQ(seen, ExpectedLatest());
}

// --- UsageFlusher ----------------------------------------------------------

class UsageFlusherTest : public ::testing::Test {
 protected:
  // Token n used at n seconds from client "10.0.0.<n>".
  void RecordTokens(int count) {
    for (int n = 1; n <= count; ++n) recorder_.Record(IdOf(n), At(n * 1000), Address(n));
  }
  static std::string Address(int n) { return absl::StrCat("10.0.0.", n); }

  UsageRecorder recorder_;
  FakeSink sink_;
};

TEST_F(UsageFlusherTest, SendsEverythingInBatchesOfAtMostMaxBatch) {
  UsageFlusher flusher(recorder_, sink_, UsageFlusherOptions{10});
  RecordTokens(25);

  ASSERT_TRUE(flusher.Flush().ok());

  const auto batches = sink_.batches();
  EXPECT_THAT(Sizes(batches), ElementsAre(5, 10, 10));
  UsageByToken sent;
  for (const auto& batch : batches) {
    for (const auto& [id, use] : ByToken(batch)) {
      EXPECT_TRUE(sent.emplace(id, use).second) << "sent twice: " << id.ToString();
    }
  }
  UsageByToken expected;
  for (int n = 1; n <= 25; ++n) expected[IdOf(n)] = {At(n * 1000), Address(n)};
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(flusher.pending(), 0u);
}

TEST_F(UsageFlusherTest, NothingToSendDoesNotCallTheSink) {
  UsageFlusher flusher(recorder_, sink_);
  EXPECT_TRUE(flusher.Flush().ok());
  EXPECT_THAT(sink_.batches(), IsEmpty());

  RecordTokens(1);
  EXPECT_TRUE(flusher.Flush().ok());
  EXPECT_TRUE(flusher.Flush().ok());
  EXPECT_EQ(sink_.batches().size(), 1u);
}

TEST_F(UsageFlusherTest, AFailedReportKeepsEverythingAndTheNextFlushResendsTheSame) {
  UsageFlusher flusher(recorder_, sink_);
  RecordTokens(3);
  sink_.AnswerNext(absl::UnavailableError("token-service unreachable"));

  const absl::Status failed = flusher.Flush();
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(failed.message(), "token-service unreachable");
  EXPECT_EQ(flusher.pending(), 3u);

  ASSERT_TRUE(flusher.Flush().ok());
  EXPECT_EQ(flusher.pending(), 0u);
  const auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(ByToken(batches[1]), ByToken(batches[0]));
  EXPECT_EQ(ByToken(batches[1]).size(), 3u);

  EXPECT_TRUE(flusher.Flush().ok());
  EXPECT_EQ(sink_.batches().size(), 2u);
}

TEST_F(UsageFlusherTest, WhenALaterBatchFailsOnlyTheUnacknowledgedStayPending) {
  UsageFlusher flusher(recorder_, sink_, UsageFlusherOptions{10});
  RecordTokens(25);
  sink_.AnswerNext(absl::OkStatus());
  sink_.AnswerNext(absl::DeadlineExceededError("slow"));

  EXPECT_EQ(flusher.Flush().code(), absl::StatusCode::kDeadlineExceeded);
  // The batches after the failed one were not even tried.
  ASSERT_EQ(sink_.batches().size(), 2u);
  EXPECT_EQ(flusher.pending(), 15u);

  ASSERT_TRUE(flusher.Flush().ok());
  const auto batches = sink_.batches();
  ASSERT_GE(batches.size(), 3u);
  UsageByToken acknowledged = ByToken(batches[0]);
  UsageByToken resent;
  for (size_t b = 2; b < batches.size(); ++b) MergeLatest(resent, batches[b]);
  EXPECT_EQ(resent.size(), 15u);
  for (int n = 1; n <= 25; ++n) {
    EXPECT_NE(acknowledged.count(IdOf(n)) == 1, resent.count(IdOf(n)) == 1)
        << "token " << n << " must be sent exactly once after acknowledgement";
  }
  EXPECT_EQ(flusher.pending(), 0u);
}

// A batch token-service refuses for its content would be refused forever
// and hold back every later batch: it is dropped, the rest still go out, and
// the refusal is reported.
TEST_F(UsageFlusherTest, ABatchRefusedAsInvalidIsDroppedAndTheRestStillGoOut) {
  UsageFlusher flusher(recorder_, sink_, UsageFlusherOptions{10});
  RecordTokens(25);
  sink_.AnswerNext(absl::InvalidArgumentError("usages[0].client_address: bad"));

  EXPECT_EQ(flusher.Flush().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sink_.batches().size(), 3u);
  EXPECT_EQ(flusher.pending(), 0u);
  EXPECT_TRUE(flusher.Flush().ok());
  EXPECT_EQ(sink_.batches().size(), 3u);
}

TEST_F(UsageFlusherTest, AUseRecordedWhileABatchIsInFlightIsNotLost) {
  UsageFlusher flusher(recorder_, sink_);
  recorder_.Record(IdOf(1), At(1000), "first");
  bool recorded_during_report = false;
  sink_.set_during_report([&] {
    if (recorded_during_report) return;
    recorded_during_report = true;
    recorder_.Record(IdOf(1), At(2000), "second");
  });

  ASSERT_TRUE(flusher.Flush().ok());
  ASSERT_TRUE(flusher.Flush().ok());

  const auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(ByToken(batches[0]), (UsageByToken{{IdOf(1), {At(1000), "first"}}}));
  EXPECT_EQ(ByToken(batches[1]), (UsageByToken{{IdOf(1), {At(2000), "second"}}}));
  EXPECT_EQ(flusher.pending(), 0u);
}

TEST_F(UsageFlusherTest, PendingUsageMergesWithNewerRecordsKeepingTheLatest) {
  UsageFlusher flusher(recorder_, sink_);
  recorder_.Record(IdOf(1), At(5000), "kept");
  recorder_.Record(IdOf(2), At(5000), "replaced");
  sink_.AnswerNext(absl::UnavailableError("down"));
  ASSERT_FALSE(flusher.Flush().ok());

  recorder_.Record(IdOf(1), At(3000), "older");
  recorder_.Record(IdOf(2), At(9000), "newer");
  recorder_.Record(IdOf(3), At(4000), "new token");
  EXPECT_EQ(flusher.pending(), 2u);  // not drained until the next Flush
  ASSERT_TRUE(flusher.Flush().ok());

  const auto batches = sink_.batches();
  ASSERT_EQ(batches.size(), 2u);
  UsageByToken expected{{IdOf(1), {At(5000), "kept"}},
                        {IdOf(2), {At(9000), "newer"}},
                        {IdOf(3), {At(4000), "new token"}}};
  EXPECT_EQ(ByToken(batches[1]), expected);
}

TEST_F(UsageFlusherTest, ConcurrentFlushesAreSerializedAndDeliverTheLatestUses) {
  UsageFlusher flusher(recorder_, sink_, UsageFlusherOptions{7});
  std::atomic<bool> recording{true};
  std::vector<std::thread> flushers;
  for (int f = 0; f < 2; ++f) {
    flushers.emplace_back([&] {
      while (recording.load()) EXPECT_TRUE(flusher.Flush().ok());
    });
  }
  RecordFromAllThreads(recorder_);
  recording.store(false);
  for (std::thread& thread : flushers) thread.join();
  ASSERT_TRUE(flusher.Flush().ok());

  EXPECT_FALSE(sink_.overlapped());
  EXPECT_EQ(flusher.pending(), 0u);
  UsageByToken delivered;
  for (const auto& batch : sink_.batches()) {
    EXPECT_LE(batch.size(), 7u);
    MergeLatest(delivered, batch);
  }
  EXPECT_EQ(delivered, ExpectedLatest());
}

}  // namespace
}  // namespace tokens::sidecar

namespace tokens::sidecar {
namespace {

TEST_F(UsageFlusherTest, StatsCountSentFailedAndDroppedBatches) {
  UsageFlusher flusher(recorder_, sink_, UsageFlusherOptions{10});
  RecordTokens(25);  // three batches, the first refused
  sink_.AnswerNext(absl::InvalidArgumentError("usages[0].client_address: bad"));
  EXPECT_FALSE(flusher.Flush().ok());
  ASSERT_EQ(sink_.batches().size(), 3u);
  const size_t refused = sink_.batches()[0].size();
  RecordTokens(3);
  sink_.AnswerNext(absl::UnavailableError("down"));
  EXPECT_FALSE(flusher.Flush().ok());
  EXPECT_TRUE(flusher.Flush().ok());

  const UsageFlusher::Stats stats = flusher.stats();
  EXPECT_EQ(stats.batches_dropped, 1u);
  EXPECT_EQ(stats.batches_failed, 1u);
  EXPECT_EQ(stats.batches_sent, 3u);
  EXPECT_EQ(stats.records_sent, 25u - refused + 3u);
}

}  // namespace
}  // namespace tokens::sidecar
