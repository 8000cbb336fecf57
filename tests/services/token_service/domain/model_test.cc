#include "services/token_service/domain/model.h"

#include <optional>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TokenRecord ExpiringOn(absl::CivilDay day) {
  TokenRecord token;
  token.expires_on = day;
  token.created_at = Utc(2026, 1, 1);
  return token;
}

TEST(StatusAtTest, ActiveUntilTheLastMicrosecondBeforeTheExpiryDay) {
  const TokenRecord token = ExpiringOn(absl::CivilDay(2027, 4, 11));
  EXPECT_EQ(StatusAt(token, Utc(2026, 1, 1)), TokenStatus::kActive);
  EXPECT_EQ(StatusAt(token, Utc(2027, 4, 10, 23, 59, 59) + absl::Microseconds(999999)),
            TokenStatus::kActive);
}

TEST(StatusAtTest, ExpiredFromMidnightUtcOfTheExpiryDay) {
  const TokenRecord token = ExpiringOn(absl::CivilDay(2027, 4, 11));
  EXPECT_EQ(StatusAt(token, Utc(2027, 4, 11)), TokenStatus::kExpired);
  EXPECT_EQ(StatusAt(token, Utc(2027, 4, 11, 12)), TokenStatus::kExpired);
  EXPECT_EQ(StatusAt(token, Utc(2030, 1, 1)), TokenStatus::kExpired);
}

TEST(StatusAtTest, MidnightIsUtcNotLocal) {
  const TokenRecord token = ExpiringOn(absl::CivilDay(2027, 4, 11));
  // 2027-04-11 01:00 in UTC+02:00 is still 2027-04-10 in UTC.
  const absl::Time local_midnight_plus_one =
      absl::FromCivil(absl::CivilSecond(2027, 4, 11, 1, 0, 0), absl::FixedTimeZone(2 * 3600));
  EXPECT_EQ(StatusAt(token, local_midnight_plus_one), TokenStatus::kActive);
}

TEST(StatusAtTest, RevokedWins) {
  TokenRecord token = ExpiringOn(absl::CivilDay(2027, 4, 11));
  token.revoked_at = Utc(2026, 6, 1);
  EXPECT_EQ(StatusAt(token, Utc(2026, 6, 2)), TokenStatus::kRevoked);
  EXPECT_EQ(StatusAt(token, Utc(2027, 4, 11)), TokenStatus::kRevoked);
  EXPECT_EQ(StatusAt(token, Utc(2030, 1, 1)), TokenStatus::kRevoked);
}

TEST(StatusAtTest, IgnoresTheStoredStatusField) {
  TokenRecord token = ExpiringOn(absl::CivilDay(2027, 4, 11));
  token.status = TokenStatus::kRevoked;
  EXPECT_EQ(StatusAt(token, Utc(2026, 6, 2)), TokenStatus::kActive);
}

TEST(TokenStatusNameTest, NamesMatchTheApiAndTheStatusFilter) {
  EXPECT_EQ(TokenStatusName(TokenStatus::kActive), "ACTIVE");
  EXPECT_EQ(TokenStatusName(TokenStatus::kExpired), "EXPIRED");
  EXPECT_EQ(TokenStatusName(TokenStatus::kRevoked), "REVOKED");
}

TEST(EventKindNameTest, RoundTrips) {
  for (EventKind kind :
       {EventKind::kTokenCreated, EventKind::kTokenRevoked, EventKind::kTokenRotated,
        EventKind::kUserCreated, EventKind::kUserUpdated}) {
    EXPECT_EQ(EventKindFromName(EventKindName(kind)), std::optional<EventKind>(kind))
        << EventKindName(kind);
  }
  EXPECT_EQ(EventKindName(EventKind::kTokenCreated), "TOKEN_CREATED");
  EXPECT_EQ(EventKindName(EventKind::kTokenRevoked), "TOKEN_REVOKED");
  EXPECT_EQ(EventKindName(EventKind::kTokenRotated), "TOKEN_ROTATED");
  EXPECT_EQ(EventKindName(EventKind::kUserCreated), "USER_CREATED");
  EXPECT_EQ(EventKindName(EventKind::kUserUpdated), "USER_UPDATED");
}

TEST(EventKindNameTest, UnknownNames) {
  EXPECT_EQ(EventKindFromName(""), std::nullopt);
  EXPECT_EQ(EventKindFromName("token_created"), std::nullopt);
  EXPECT_EQ(EventKindFromName("UNKNOWN"), std::nullopt);
  EXPECT_EQ(EventKindName(static_cast<EventKind>(42)), "UNKNOWN");
}

}  // namespace
}  // namespace tokens::service
