#include "services/token_service/domain/expiry_warnings.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/seeded_random.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(ParseWarningDaysTest, ListsWholeDaysLargestFirst) {
  EXPECT_THAT(*ParseWarningDays("7,1"), ElementsAre(7, 1));
  EXPECT_THAT(*ParseWarningDays("1, 30 ,7"), ElementsAre(30, 7, 1));
  EXPECT_THAT(*ParseWarningDays("365"), ElementsAre(365));
}

TEST(ParseWarningDaysTest, RefusesWhatIsNotAPositiveWholeDayWithinAYear) {
  for (const char* bad : {"", " ", "0", "-1", "7,", ",7", "7,,1", "1.5", "7d", "366", "+7",
                          "99999999999999999999", "7;1"}) {
    absl::StatusOr<std::vector<int>> days = ParseWarningDays(bad);
    EXPECT_FALSE(days.ok()) << "\"" << bad << "\"";
    EXPECT_EQ(days.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(ParseWarningDays("7,1,7").status().message(), HasSubstr("7 is listed twice"));
}

TEST(ThresholdsCrossedTest, EveryThresholdAtOrAboveTheDaysLeft) {
  const std::vector<int> days = {7, 1};
  EXPECT_THAT(ThresholdsCrossed(days, 8), IsEmpty());
  EXPECT_THAT(ThresholdsCrossed(days, 7), ElementsAre(7));
  EXPECT_THAT(ThresholdsCrossed(days, 2), ElementsAre(7));
  // Created a day before its expiry: both at once.
  EXPECT_THAT(ThresholdsCrossed(days, 1), ElementsAre(7, 1));
}

TEST(ThresholdsCrossedTest, OnlyTheExpiredOneOnceExpiredAndNotLongAgo) {
  const std::vector<int> days = {7, 1};
  EXPECT_THAT(ThresholdsCrossed(days, 0), ElementsAre(kExpiredThreshold));
  EXPECT_THAT(ThresholdsCrossed(days, -kExpiredLookbackDays), ElementsAre(kExpiredThreshold));
  EXPECT_THAT(ThresholdsCrossed(days, -kExpiredLookbackDays - 1), IsEmpty());
  EXPECT_THAT(ThresholdsCrossed(days, -400), IsEmpty());
}

TEST(WarningEventTest, ExpiringOrExpired) {
  EXPECT_EQ(WarningEvent(7), "token.expiring");
  EXPECT_EQ(WarningEvent(kExpiredThreshold), "token.expired");
}

PendingWarning SampleWarning() {
  PendingWarning w;
  w.id = "0b6f9c3e-5a43-4bb5-9d1e-2f6f2d1c7a10";
  w.threshold_days = 7;
  w.token_id = "5d2c1e8a-9a7b-4c3d-8e2f-1a0b9c8d7e6f";
  w.token_name = "CI \"deploy\"\n";
  w.hint = "utk_AbCd…WxYz";
  w.user_id = "alice";
  w.email = "alice@example.com";
  w.expires_on = absl::CivilDay(2026, 12, 9);
  return w;
}

TEST(WebhookBodyTest, TheWarningAsOneJsonObject) {
  EXPECT_EQ(
      WebhookBody(SampleWarning(), absl::CivilDay(2026, 12, 7)),
      "{\"id\":\"0b6f9c3e-5a43-4bb5-9d1e-2f6f2d1c7a10\",\"event\":\"token.expiring\","
      "\"token_id\":\"5d2c1e8a-9a7b-4c3d-8e2f-1a0b9c8d7e6f\",\"name\":\"CI \\\"deploy\\\"\\n\","
      "\"hint\":\"utk_AbCd…WxYz\",\"user_id\":\"alice\",\"email\":\"alice@example.com\","
      "\"expires_on\":\"2026-12-09\",\"days_left\":2,\"threshold_days\":7}");
}

TEST(WebhookBodyTest, ExpiredCountsDaysSinceAsNegative) {
  PendingWarning w = SampleWarning();
  w.threshold_days = kExpiredThreshold;
  const std::string body = WebhookBody(w, absl::CivilDay(2026, 12, 10));
  EXPECT_THAT(body, HasSubstr("\"event\":\"token.expired\""));
  EXPECT_THAT(body, HasSubstr("\"days_left\":-1,\"threshold_days\":0}"));
}

// RFC 4231, test case 2.
TEST(WebhookSignatureTest, KnownHmacSha256Vector) {
  EXPECT_EQ(WebhookSignature("Jefe", "what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(RetryDelayTest, DoublesWithJitterUpToTheCap) {
  test_support::SeededRandom random(1);
  const absl::Duration initial = absl::Seconds(10);
  const absl::Duration cap = absl::Hours(1);
  for (int attempts = 1; attempts <= 20; ++attempts) {
    absl::Duration full = initial;
    for (int i = 1; i < attempts; ++i) full = std::min(full * 2, cap);
    for (int sample = 0; sample < 50; ++sample) {
      const absl::Duration d = RetryDelay(attempts, initial, cap, random);
      EXPECT_GE(d, full / 2) << attempts;
      EXPECT_LE(d, full) << attempts;
    }
  }
  // Huge attempt counts stay at the cap (no overflow).
  EXPECT_LE(RetryDelay(1000000, initial, cap, random), cap);
  EXPECT_GE(RetryDelay(1000000, initial, cap, random), cap / 2);
}

TEST(RetryDelayTest, JitterSpreadsTheDelays) {
  test_support::SeededRandom random(2);
  std::vector<absl::Duration> seen;
  for (int i = 0; i < 20; ++i)
    seen.push_back(RetryDelay(3, absl::Seconds(10), absl::Hours(1), random));
  std::sort(seen.begin(), seen.end());
  EXPECT_LT(seen.front() + absl::Seconds(5), seen.back());
}

// In memory, as the PostgreSQL store behaves.
class FakeExpiryStore final : public ExpiryWarningStore {
 public:
  struct Token {
    std::string id;
    absl::CivilDay expires_on;
    bool gone = false;  // revoked or owner disabled
  };
  struct Row {
    std::string id;
    std::string token_id;
    int threshold_days = 0;
    std::string state = "pending";
    int attempts = 0;
    absl::Time next_attempt_at;
    std::string last_error;
  };

  std::vector<Token> tokens;
  std::vector<Row> rows;

  absl::StatusOr<std::vector<ExpiryCandidate>> ListCandidates(absl::CivilDay today, int max_days,
                                                              int lookback_days) override {
    std::vector<ExpiryCandidate> out;
    for (const Token& t : tokens) {
      const int days_left = static_cast<int>(t.expires_on - today);
      if (t.gone || days_left > max_days || days_left < -lookback_days) continue;
      ExpiryCandidate c{t.id, days_left, {}};
      for (const Row& r : rows) {
        if (r.token_id == t.id) c.recorded.push_back(r.threshold_days);
      }
      out.push_back(c);
    }
    return out;
  }
  absl::StatusOr<bool> RecordWarning(const std::string& token_id, int threshold_days,
                                     absl::Time now) override {
    for (const Row& r : rows) {
      if (r.token_id == token_id && r.threshold_days == threshold_days) return false;
    }
    rows.push_back(
        {absl::StrCat("w", rows.size() + 1), token_id, threshold_days, "pending", 0, now, ""});
    return true;
  }
  absl::StatusOr<std::vector<PendingWarning>> DueWarnings(absl::Time now, int limit) override {
    std::vector<PendingWarning> out;
    for (const Row& r : rows) {
      if (r.state != "pending" || r.next_attempt_at > now) continue;
      if (static_cast<int>(out.size()) == limit) break;
      const Token& t = TokenById(r.token_id);
      PendingWarning w;
      w.id = r.id;
      w.threshold_days = r.threshold_days;
      w.attempts = r.attempts;
      w.token_id = t.id;
      w.token_name = "name of " + t.id;
      w.hint = "utk_AbCd…WxYz";
      w.user_id = "alice";
      w.email = "alice@example.com";
      w.expires_on = t.expires_on;
      w.token_gone = t.gone;
      out.push_back(w);
    }
    return out;
  }
  absl::Status MarkDelivered(const std::string& id, absl::Time) override {
    Row& r = RowById(id);
    r.state = "delivered";
    ++r.attempts;
    return absl::OkStatus();
  }
  absl::Status MarkFailed(const std::string& id, absl::Time next_attempt_at,
                          const std::string& error) override {
    Row& r = RowById(id);
    ++r.attempts;
    r.next_attempt_at = next_attempt_at;
    r.last_error = error;
    return absl::OkStatus();
  }
  absl::Status MarkDropped(const std::string& id) override {
    RowById(id).state = "dropped";
    return absl::OkStatus();
  }
  absl::StatusOr<PendingSummary> Pending() override {
    PendingSummary s;
    for (const Row& r : rows) {
      if (r.state != "pending") continue;
      ++s.count;
      if (!s.next_attempt_at.has_value() || r.next_attempt_at < *s.next_attempt_at) {
        s.next_attempt_at = r.next_attempt_at;
      }
    }
    return s;
  }

  Row& RowById(const std::string& id) {
    return *std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return r.id == id; });
  }
  const Token& TokenById(const std::string& id) {
    return *std::find_if(tokens.begin(), tokens.end(), [&](const Token& t) { return t.id == id; });
  }
};

class FakeLock final : public SenderLock {
 public:
  bool held = true;
  bool TryHold() override { return held; }
};

// Answers with the statuses queued (0: no answer), then 200.
class FakeReceiver final : public WebhookSender {
 public:
  std::vector<int> answers;
  std::vector<WebhookRequest> received;
  WebhookResult Post(const WebhookRequest& request) override {
    received.push_back(request);
    int status = 200;
    if (!answers.empty()) {
      status = answers.front();
      answers.erase(answers.begin());
    }
    WebhookResult result;
    result.http_status = status;
    if (status == 0) {
      result.outcome = WebhookResult::Outcome::kFailed;
      result.error = "Connection";
    } else {
      result.outcome = status / 100 == 2 ? WebhookResult::Outcome::kDelivered
                                         : WebhookResult::Outcome::kRejected;
    }
    return result;
  }
};

class ExpiryWarnerTest : public ::testing::Test {
 protected:
  ExpiryWarnerTest() : clock_(StartOfUtcDay(absl::CivilDay(2026, 12, 7)) + absl::Hours(9)) {}

  ExpiryWarner NewWarner() {
    ExpiryWarnerOptions options;
    options.warning_days = {7, 1};
    options.scan_interval = absl::Minutes(1);
    options.initial_backoff = absl::Seconds(10);
    options.batch = 2;  // several batches in one round
    return ExpiryWarner(store_, lock_, receiver_, clock_, random_, kSecret, options);
  }

  std::vector<std::string> ReceivedBodies() const {
    std::vector<std::string> bodies;
    for (const WebhookRequest& r : receiver_.received) bodies.push_back(r.body);
    return bodies;
  }

  static constexpr char kSecret[] = "webhook-secret-0123456789";
  FakeClock clock_;
  test_support::SeededRandom random_{7};
  FakeExpiryStore store_;
  FakeLock lock_;
  FakeReceiver receiver_;
};

TEST_F(ExpiryWarnerTest, OneSignedWarningPerThresholdCrossedThenNothingMore) {
  store_.tokens = {{"tomorrow", absl::CivilDay(2026, 12, 8)},
                   {"in-five", absl::CivilDay(2026, 12, 12)},
                   {"in-thirty", absl::CivilDay(2027, 1, 6)}};
  ExpiryWarner warner = NewWarner();
  warner.RunRound();
  ASSERT_EQ(receiver_.received.size(), 3u);
  for (const WebhookRequest& r : receiver_.received) {
    EXPECT_EQ(r.signature, WebhookSignature(kSecret, r.body));
    EXPECT_THAT(r.body, HasSubstr(absl::StrCat("\"id\":\"", r.id, "\"")));
    EXPECT_THAT(r.body, Not(HasSubstr(kSecret)));
  }
  EXPECT_THAT(ReceivedBodies()[0], HasSubstr("\"token_id\":\"tomorrow\""));
  EXPECT_THAT(ReceivedBodies()[0], HasSubstr("\"threshold_days\":7}"));
  EXPECT_THAT(ReceivedBodies()[1], HasSubstr("\"token_id\":\"tomorrow\""));
  EXPECT_THAT(ReceivedBodies()[1], HasSubstr("\"days_left\":1,\"threshold_days\":1}"));
  EXPECT_THAT(ReceivedBodies()[2], HasSubstr("\"token_id\":\"in-five\""));

  // Later rounds (and a new warner on the same store: a restart) repeat none.
  clock_.Advance(absl::Minutes(5));
  warner.RunRound();
  ExpiryWarner restarted = NewWarner();
  restarted.RunRound();
  EXPECT_EQ(receiver_.received.size(), 3u);
  EXPECT_EQ(warner.stats().recorded_expiring, 3u);
  EXPECT_EQ(warner.stats().delivered, 3u);
  EXPECT_EQ(restarted.stats().scans, 1u);
  EXPECT_EQ(restarted.stats().pending, 0);

  // Four days on, in-five has 1 day left: its 1-day warning; "tomorrow"
  // expired 3 days ago, still within the look-back: token.expired.
  clock_.Advance(absl::Hours(24 * 4));
  restarted.RunRound();
  ASSERT_EQ(receiver_.received.size(), 5u);
  EXPECT_THAT(ReceivedBodies()[3], HasSubstr("\"event\":\"token.expired\""));
  EXPECT_THAT(ReceivedBodies()[3], HasSubstr("\"token_id\":\"tomorrow\""));
  EXPECT_THAT(ReceivedBodies()[4], HasSubstr("\"token_id\":\"in-five\""));
  EXPECT_THAT(ReceivedBodies()[4], HasSubstr("\"days_left\":1,\"threshold_days\":1}"));
}

TEST_F(ExpiryWarnerTest, RetriedWithBackoffUntilAcknowledged) {
  store_.tokens = {{"tomorrow", absl::CivilDay(2026, 12, 8)}};
  receiver_.answers = {500, 0, 200};  // the 7-day warning: 500, no answer, then 200
  ExpiryWarner warner = NewWarner();
  absl::Time next = warner.RunRound();
  // The 7-day warning failed and is due again within the first backoff;
  // the 1-day one went through.
  ASSERT_EQ(receiver_.received.size(), 2u);
  EXPECT_EQ(store_.rows[0].attempts, 1);
  EXPECT_EQ(store_.rows[0].last_error, "HTTP 500");
  EXPECT_EQ(store_.rows[1].state, "pending");  // answered "no answer"
  EXPECT_GE(next, clock_.Now() + absl::Seconds(5));
  EXPECT_LE(next, clock_.Now() + absl::Seconds(10));
  EXPECT_EQ(warner.stats().rejected, 1u);
  EXPECT_EQ(warner.stats().failed, 1u);
  EXPECT_EQ(warner.stats().pending, 2);

  // Nothing before it is due.
  clock_.Advance(absl::Seconds(4));
  warner.RunRound();
  EXPECT_EQ(receiver_.received.size(), 2u);

  clock_.Advance(absl::Minutes(2));
  warner.RunRound();
  ASSERT_EQ(receiver_.received.size(), 4u);
  // The same warning, the same id, each time.
  EXPECT_EQ(receiver_.received[2].id, receiver_.received[0].id);
  EXPECT_EQ(receiver_.received[3].id, receiver_.received[1].id);
  EXPECT_EQ(store_.rows[0].state, "delivered");
  EXPECT_EQ(store_.rows[0].attempts, 2);
  EXPECT_EQ(store_.rows[1].state, "delivered");
  EXPECT_EQ(warner.stats().delivered, 2u);
  EXPECT_EQ(warner.stats().pending, 0);
}

TEST_F(ExpiryWarnerTest, NotTheSenderScansAndSendsNothing) {
  store_.tokens = {{"tomorrow", absl::CivilDay(2026, 12, 8)}};
  lock_.held = false;
  ExpiryWarner warner = NewWarner();
  EXPECT_EQ(warner.RunRound(), clock_.Now() + absl::Minutes(1));
  EXPECT_THAT(store_.rows, IsEmpty());
  EXPECT_THAT(receiver_.received, IsEmpty());
  EXPECT_FALSE(warner.stats().sender);
  lock_.held = true;
  warner.RunRound();
  EXPECT_TRUE(warner.stats().sender);
  EXPECT_EQ(receiver_.received.size(), 2u);
}

TEST_F(ExpiryWarnerTest, RevokedBeforeDeliveryIsDroppedLongExpiredNeverWarned) {
  store_.tokens = {{"tomorrow", absl::CivilDay(2026, 12, 8)},
                   {"expired-yesterday", absl::CivilDay(2026, 12, 6)},
                   {"expired-long-ago", absl::CivilDay(2026, 11, 1)}};
  receiver_.answers = {500};
  ExpiryWarner warner = NewWarner();
  warner.RunRound();
  // The first attempt at "tomorrow" failed; it is revoked before the retry.
  store_.tokens[0].gone = true;
  clock_.Advance(absl::Minutes(2));
  warner.RunRound();
  std::map<std::string, std::string> states;
  for (const auto& row : store_.rows) {
    states[absl::StrCat(row.token_id, "/", row.threshold_days)] = row.state;
  }
  EXPECT_THAT(states,
              ::testing::UnorderedElementsAre(::testing::Pair("tomorrow/7", "dropped"),
                                              ::testing::Pair("tomorrow/1", "delivered"),
                                              ::testing::Pair("expired-yesterday/0", "delivered")));
  EXPECT_EQ(warner.stats().dropped, 1u);
  EXPECT_EQ(warner.stats().recorded_expired, 1u);
}

}  // namespace
}  // namespace tokens::service
