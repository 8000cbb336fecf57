#include "common/auth/decide.h"

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/token/random.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

const absl::CivilDay kExpiresOn(2027, 4, 11);

absl::Time At(absl::CivilSecond second) { return absl::FromCivil(second, absl::UTCTimeZone()); }

TEST(IsExpiredTest, FromMidnightUtcOfTheDay) {
  const absl::Time midnight = At(absl::CivilSecond(2027, 4, 11, 0, 0, 0));
  EXPECT_FALSE(IsExpired(kExpiresOn, midnight - absl::Microseconds(1)));  // 23:59:59.999999
  EXPECT_FALSE(IsExpired(kExpiresOn, midnight - absl::Nanoseconds(1)));
  EXPECT_TRUE(IsExpired(kExpiresOn, midnight));
  EXPECT_TRUE(IsExpired(kExpiresOn, midnight + absl::Hours(36)));
  EXPECT_FALSE(IsExpired(kExpiresOn, At(absl::CivilSecond(2026, 1, 1, 12, 0, 0))));
}

TEST(IsExpiredTest, BeforeTheEpoch) {
  const absl::CivilDay day(1969, 12, 31);
  const absl::Time midnight = At(absl::CivilSecond(1969, 12, 31, 0, 0, 0));
  EXPECT_FALSE(IsExpired(day, midnight - absl::Nanoseconds(1)));
  EXPECT_TRUE(IsExpired(day, midnight));
}

// A fixed, valid token of the default format.
std::string AToken(const TokenCodec& codec) {
  class Counting final : public RandomSource {
   public:
    void Fill(absl::Span<uint8_t> out) override {
      for (uint8_t& b : out) b = next_++;
    }

   private:
    uint8_t next_ = 1;
  } random;
  return codec.Generate(random);
}

TEST(ReadAuthorizationTest, MissingOnlyWithoutAHeader) {
  const TokenCodec codec;
  const std::string token = AToken(codec);
  EXPECT_EQ(ReadAuthorization(std::nullopt, codec).denied, DenyReason::kMissing);
  // Present but empty, or not "Bearer <token>": malformed, in both processes.
  for (const std::string& header : {std::string(), std::string("Bearer "), "Basic " + token, token,
                                    "Bearer " + token + "x", "Bearer " + token + " " + token}) {
    EXPECT_EQ(ReadAuthorization(header, codec).denied, DenyReason::kMalformed) << header;
  }
  const std::string header = "bearer  " + token;
  const Presented presented = ReadAuthorization(header, codec);
  EXPECT_EQ(presented.denied, std::nullopt);
  EXPECT_EQ(presented.token, token);
}

TEST(ReadTokenTest, EmptyIsMissingAndABadOneMalformed) {
  const TokenCodec codec;
  const std::string token = AToken(codec);
  EXPECT_EQ(ReadToken("", codec).denied, DenyReason::kMissing);
  EXPECT_EQ(ReadToken(token.substr(1), codec).denied, DenyReason::kMalformed);
  EXPECT_EQ(ReadToken("Bearer " + token, codec).denied, DenyReason::kMalformed);
  EXPECT_EQ(ReadToken(token, codec).denied, std::nullopt);
  EXPECT_EQ(ReadToken(token, codec).token, token);
}

struct Case {
  std::string name;
  bool revoked;
  bool expired;
  std::optional<Role> role;
  bool user_disabled;
  bool allowed;
  DenyReason reason;  // when !allowed
};

class DecideTest : public ::testing::TestWithParam<Case> {};

TEST_P(DecideTest, Decides) {
  const Case& c = GetParam();
  TokenFacts token;
  token.user_id = "alice";
  token.revoked = c.revoked;
  token.role = c.role;
  token.user_disabled = c.user_disabled;
  token.expires_on = kExpiresOn;
  const absl::Time midnight = At(absl::CivilSecond(2027, 4, 11, 0, 0, 0));
  const absl::Time now = c.expired ? midnight : midnight - absl::Seconds(1);
  const Verdict verdict = Decide(token, now);
  EXPECT_EQ(verdict.allowed, c.allowed);
  if (!c.allowed) {
    EXPECT_EQ(verdict.reason, c.reason)
        << DenyReasonCode(verdict.reason) << " instead of " << DenyReasonCode(c.reason);
  }
}

constexpr auto kUser = Role::kUser;
constexpr auto kNoRole = std::nullopt;
constexpr auto kUnknown = DenyReason::kUnknown;
constexpr auto kRevoked = DenyReason::kRevoked;
constexpr auto kExpired = DenyReason::kExpired;
constexpr auto kDisabled = DenyReason::kUserDisabled;

// Revoked, then expired, then unknown owner, then disabled owner. The rows
// that fail several checks are the ones where token-service (revoked,
// expired, disabled) and the sidecar (revoked, disabled, expired) used to
// disagree.
INSTANTIATE_TEST_SUITE_P(
    Table, DecideTest,
    ::testing::Values(
        // name, revoked, expired, role, disabled, allowed, reason
        Case{"Good", false, false, kUser, false, true, kUnknown},
        Case{"GoodAdmin", false, false, Role::kAdmin, false, true, kUnknown},
        Case{"GoodService", false, false, Role::kService, false, true, kUnknown},
        Case{"Revoked", true, false, kUser, false, false, kRevoked},
        Case{"Expired", false, true, kUser, false, false, kExpired},
        Case{"UserDisabled", false, false, kUser, true, false, kDisabled},
        Case{"OwnerUnknown", false, false, kNoRole, false, false, kUnknown},
        Case{"ExpiredAndDisabled", false, true, kUser, true, false, kExpired},
        Case{"RevokedAndExpired", true, true, kUser, false, false, kRevoked},
        Case{"RevokedAndDisabled", true, false, kUser, true, false, kRevoked},
        Case{"RevokedExpiredAndDisabled", true, true, kUser, true, false, kRevoked},
        Case{"ExpiredAndOwnerUnknown", false, true, kNoRole, false, false, kExpired},
        Case{"OwnerUnknownAndDisabled", false, false, kNoRole, true, false, kUnknown}),
    [](const ::testing::TestParamInfo<Case>& param) { return param.param.name; });

}  // namespace
}  // namespace tokens
