// TokenManager's issuing rules on their own (issue #14): a token never
// issues one that outlives it, a disabled user gets no new secret, live
// tokens per user are capped, and issuing is rate-limited per caller (the
// bootstrap path, bound by the input rules only: bootstrap_test.cc). Plus
// IssueRateLimiter.
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/issue_rate_limiter.h"
#include "services/token_service/domain/token_manager.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::IsFieldError;
using test_support::SeededRandom;
using ::testing::HasSubstr;

using IssuedToken = TokenManager::IssuedToken;

// 2026-11-28 17:35:22 UTC.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone());
constexpr absl::CivilDay kToday(2026, 11, 28);

// A caller authenticated by a token that expires on `token_expires_on`.
Principal Caller(const std::string& user_id, Role role, absl::CivilDay token_expires_on) {
  Principal caller{user_id, "Name of " + user_id, user_id + "@example.com", role,
                   "token-of-" + user_id};
  caller.token_expires_on = token_expires_on;
  return caller;
}

std::string Day(int days_from_today) { return FormatIsoDate(kToday + days_from_today); }

class IssuancePolicyTest : public ::testing::Test {
 protected:
  IssuancePolicyTest() {
    store_.AddUser("alice");
    store_.AddUser("bob");
    store_.AddUser("root", Role::kAdmin);
  }

  // A manager with these limits (the lifetime stays 365 days).
  TokenManager& Manager(int max_live = 100, double per_minute = 1e9, double burst = 1e9) {
    manager_.emplace(store_, codec_, clock_, random_,
                     TokenManagerOptions{365, max_live, per_minute, burst});
    return *manager_;
  }

  absl::StatusOr<IssuedToken> Create(const Principal& caller, const std::string& name,
                                     const std::string& expires_on,
                                     const std::string& user_id = "") {
    return manager_->CreateToken(caller, {name, expires_on, user_id});
  }

  FakeClock clock_{kStart};
  FakeTokenStore store_;
  TokenCodec codec_;
  SeededRandom random_{7};
  std::optional<TokenManager> manager_;

  // Tokens that expire in a week and in a year.
  const Principal alice_week_ = Caller("alice", Role::kUser, kToday + 7);
  const Principal alice_year_ = Caller("alice", Role::kUser, kToday + 365);
  const Principal root_month_ = Caller("root", Role::kAdmin, kToday + 30);
  const Principal root_year_ = Caller("root", Role::kAdmin, kToday + 365);
};

// --- Nothing a token issues outlives it --------------------------------------

TEST_F(IssuancePolicyTest, CreateRefusesAnExpiryAfterTheCallersOwnToken) {
  Manager();
  absl::StatusOr<IssuedToken> refused = Create(alice_week_, "escape", Day(365));
  EXPECT_THAT(refused, IsFieldError("expires_on"));
  EXPECT_THAT(refused.status().message(), HasSubstr(Day(7) + " or earlier"));
  EXPECT_EQ(store_.token_count(), 0u);
  // The caller's own expiry day is the last one allowed.
  EXPECT_TRUE(Create(alice_week_, "same day", Day(7)).ok());
  EXPECT_TRUE(Create(alice_year_, "a year", Day(365)).ok());
}

TEST_F(IssuancePolicyTest, AdminsMintingForOthersAreBoundByTheirOwnToken) {
  Manager();
  EXPECT_THAT(Create(root_month_, "for bob", Day(31), "bob"), IsFieldError("expires_on"));
  EXPECT_TRUE(Create(root_month_, "for bob", Day(30), "bob").ok());
  EXPECT_TRUE(Create(root_year_, "for bob, longer", Day(365), "bob").ok());
}

TEST_F(IssuancePolicyTest, RotateRefusesATokenThatOutlivesTheCaller) {
  Manager();
  const IssuedToken long_lived = Create(alice_year_, "long", Day(300)).value();
  absl::StatusOr<IssuedToken> refused = manager_->RotateToken(alice_week_, long_lived.token.id);
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), HasSubstr(Day(7)));
  EXPECT_EQ(store_.token_count(), 1u);
  // An admin's shorter token may not rotate it either; a long enough one may.
  EXPECT_THAT(manager_->RotateToken(root_month_, long_lived.token.id),
              HasCode(absl::StatusCode::kFailedPrecondition));
  absl::StatusOr<IssuedToken> rotated = manager_->RotateToken(root_year_, long_lived.token.id);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->token.expires_on, kToday + 300);
}

TEST_F(IssuancePolicyTest, APrincipalWithoutATokenIssuesNothing) {
  Manager();
  Principal untokened = alice_year_;
  untokened.token_expires_on.reset();
  EXPECT_THAT(Create(untokened, "x", Day(1)), HasCode(absl::StatusCode::kInternal));
  const IssuedToken token = Create(alice_year_, "t", Day(30)).value();
  EXPECT_THAT(manager_->RotateToken(untokened, token.token.id),
              HasCode(absl::StatusCode::kInternal));
  EXPECT_EQ(store_.token_count(), 1u);
}

// --- A disabled user gets no new secret -----------------------------------------

TEST_F(IssuancePolicyTest, ADisabledUsersTokenIsNotRotated) {
  Manager();
  const IssuedToken token = Create(root_year_, "for bob", Day(30), "bob").value();
  store_.AddUser("bob", Role::kUser, /*disabled=*/true);
  absl::StatusOr<IssuedToken> refused = manager_->RotateToken(root_year_, token.token.id);
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), HasSubstr("disabled"));
  EXPECT_THAT(Create(root_year_, "another", Day(30), "bob"), IsFieldError("user_id"));
  EXPECT_EQ(store_.token_count(), 1u);
  store_.AddUser("bob");
  EXPECT_TRUE(manager_->RotateToken(root_year_, token.token.id).ok());
}

// --- The cap on live tokens ----------------------------------------------------

TEST_F(IssuancePolicyTest, LiveTokensPerUserAreCapped) {
  Manager(/*max_live=*/3);
  ASSERT_TRUE(Create(alice_year_, "one", Day(1)).ok());
  const IssuedToken two = Create(alice_year_, "two", Day(30)).value();
  ASSERT_TRUE(Create(alice_year_, "three", Day(30)).ok());
  absl::StatusOr<IssuedToken> refused = Create(alice_year_, "four", Day(30));
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(refused.status().message(), HasSubstr("3 active tokens"));
  // For alice, whoever asks; other users have room of their own.
  EXPECT_THAT(Create(root_year_, "four", Day(30), "alice"),
              HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(Create(root_year_, "bob's", Day(30), "bob").ok());

  // Rotation needs no room: one goes, one comes.
  EXPECT_TRUE(manager_->RotateToken(alice_year_, two.token.id).ok());
  // Revoked and expired tokens do not count.
  clock_.Advance(absl::Hours(24));  // "one" expires
  ASSERT_TRUE(Create(alice_year_, "four", Day(30)).ok());
  EXPECT_THAT(Create(alice_year_, "five", Day(30)), HasCode(absl::StatusCode::kFailedPrecondition));
}

// --- The rate of issuing --------------------------------------------------------

TEST_F(IssuancePolicyTest, IssuingIsRateLimitedPerCaller) {
  Manager(/*max_live=*/100, /*per_minute=*/60, /*burst=*/3);
  const IssuedToken first = Create(alice_year_, "t0", Day(30)).value();
  ASSERT_TRUE(Create(alice_year_, "t1", Day(30)).ok());
  // A refused request spends nothing.
  EXPECT_THAT(Create(alice_year_, "", Day(30)), IsFieldError("name"));
  ASSERT_TRUE(Create(alice_year_, "t2", Day(30)).ok());

  absl::StatusOr<IssuedToken> refused = Create(alice_year_, "t3", Day(30));
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(refused.status().message(), HasSubstr("try again in 1 seconds"));
  // Rotation issues a token too.
  EXPECT_THAT(manager_->RotateToken(alice_year_, first.token.id),
              HasCode(absl::StatusCode::kResourceExhausted));
  // The bucket is the caller's: an admin minting for alice has their own.
  EXPECT_TRUE(Create(root_year_, "from root", Day(30), "alice").ok());
  EXPECT_EQ(store_.token_count(), 4u);

  // One a second (60 a minute) comes back.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(Create(alice_year_, "t3", Day(30)).ok());
  EXPECT_THAT(Create(alice_year_, "t4", Day(30)), HasCode(absl::StatusCode::kResourceExhausted));
}

// --- ListTokens' name filter ------------------------------------------------------

TEST_F(IssuancePolicyTest, NameFilterIsNormalizedAndFolded) {
  Manager();
  ASSERT_TRUE(Create(alice_year_, "\u00C9cole prod", Day(30)).ok());
  ASSERT_TRUE(Create(alice_year_, "Stra\u00DFe", Day(30)).ok());
  const auto names = [&](const std::string& fragment) {
    TokenManager::ListRequest request;
    request.name_contains = fragment;
    absl::StatusOr<TokenManager::TokenPage> page = manager_->ListTokens(alice_year_, request);
    EXPECT_TRUE(page.ok()) << page.status();
    std::vector<std::string> out;
    if (page.ok()) {
      for (const TokenRecord& t : page->tokens) out.push_back(t.name);
    }
    return out;
  };
  EXPECT_THAT(names("e\u0301COLE"), ::testing::ElementsAre("\u00C9cole prod"));
  EXPECT_THAT(names("strasse"), ::testing::ElementsAre("Stra\u00DFe"));
  TokenManager::ListRequest nul;
  nul.name_contains = std::string("\0", 1);
  EXPECT_THAT(manager_->ListTokens(alice_year_, nul), IsFieldError("name_contains"));
}

// --- IssueRateLimiter ----------------------------------------------------------------

TEST(IssueRateLimiterTest, BurstThenTheRate) {
  FakeClock clock(kStart);
  IssueRateLimiter limiter(clock, /*per_minute=*/6, /*burst=*/2);
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_TRUE(limiter.Take("alice").ok());
  absl::Status refused = limiter.Take("alice");
  EXPECT_THAT(refused, HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(refused.message(), HasSubstr("try again in 10 seconds"));
  EXPECT_TRUE(limiter.Take("bob").ok());
  clock.Advance(absl::Seconds(9));
  EXPECT_THAT(limiter.Take("alice"), HasCode(absl::StatusCode::kResourceExhausted));
  clock.Advance(absl::Seconds(1));
  EXPECT_TRUE(limiter.Take("alice").ok());
}

TEST(IssueRateLimiterTest, AnIdleCallerStartsWithAFullBurstAgain) {
  FakeClock clock(kStart);
  IssueRateLimiter limiter(clock, /*per_minute=*/1, /*burst=*/2);
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_FALSE(limiter.Take("alice").ok());
  // Two minutes refill the bucket (and the sweep forgets it meanwhile).
  clock.Advance(absl::Minutes(2));
  EXPECT_TRUE(limiter.Take("bob").ok());
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_TRUE(limiter.Take("alice").ok());
  EXPECT_FALSE(limiter.Take("alice").ok());
}

TEST(IssueRateLimiterTest, AClockThatStepsBackEarnsNothing) {
  FakeClock clock(kStart);
  IssueRateLimiter limiter(clock, /*per_minute=*/60, /*burst=*/1);
  EXPECT_TRUE(limiter.Take("alice").ok());
  clock.Advance(-absl::Hours(1));
  EXPECT_FALSE(limiter.Take("alice").ok());
}

}  // namespace
}  // namespace tokens::service
