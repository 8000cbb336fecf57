#include "services/token_service/transport/proto_conversion.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

absl::Time Micros(int64_t micros) { return absl::FromUnixMicros(micros); }

TokenRecord SampleToken() {
  TokenRecord t;
  t.id = "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a";
  t.name = "QA-Test-Token";
  t.hint = "utk_AbCd\xE2\x80\xA6WxYz";
  t.user_id = "alice";
  t.user_display_name = "Alice Liddell";
  t.created_at = Micros(1764351322123456);  // 2025-11-28T17:35:22.123456Z
  t.expires_on = absl::CivilDay(2027, 4, 11);
  t.status = TokenStatus::kActive;
  return t;
}

// --- Timestamps --------------------------------------------------------------

struct TimestampCase {
  int64_t micros;
  int64_t seconds;
  int32_t nanos;
};

std::ostream& operator<<(std::ostream& os, const TimestampCase& c) {
  return os << "micros=" << c.micros;
}

class TimestampTest : public ::testing::TestWithParam<TimestampCase> {};

TEST_P(TimestampTest, SecondsAndNonNegativeNanos) {
  const TimestampCase& c = GetParam();
  TokenRecord token = SampleToken();
  token.created_at = Micros(c.micros);
  v1::Token out;
  ToProto(token, &out);
  EXPECT_EQ(out.created_at().seconds(), c.seconds) << c.micros;
  EXPECT_EQ(out.created_at().nanos(), c.nanos) << c.micros;
  EXPECT_GE(out.created_at().nanos(), 0);
  EXPECT_LT(out.created_at().nanos(), 1000000000);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TimestampTest,
    ::testing::Values(TimestampCase{0, 0, 0}, TimestampCase{1, 0, 1000},
                      TimestampCase{999999, 0, 999999000}, TimestampCase{1000000, 1, 0},
                      TimestampCase{1764351322123456, 1764351322, 123456000},
                      // Before 1970: the seconds round down, the nanos stay positive.
                      TimestampCase{-1, -1, 999999000}, TimestampCase{-999999, -1, 1000},
                      TimestampCase{-1000000, -1, 0}, TimestampCase{-1000001, -2, 999999000},
                      TimestampCase{-1500000, -2, 500000000},
                      // 1900-01-01T00:00:00.25Z
                      TimestampCase{-2208988800000000 + 250000, -2208988800, 250000000}));

// --- Token -------------------------------------------------------------------

TEST(TokenToProtoTest, CopiesEveryField) {
  TokenRecord token = SampleToken();
  token.last_used_at = Micros(1764400000000001);
  token.revoked_at = Micros(1764500000500000);
  token.status = TokenStatus::kRevoked;
  v1::Token out;
  ToProto(token, &out);
  EXPECT_EQ(out.id(), token.id);
  EXPECT_EQ(out.name(), "QA-Test-Token");
  EXPECT_EQ(out.hint(), token.hint);
  EXPECT_EQ(out.user_id(), "alice");
  EXPECT_EQ(out.user_display_name(), "Alice Liddell");
  EXPECT_EQ(out.created_at().seconds(), 1764351322);
  EXPECT_EQ(out.created_at().nanos(), 123456000);
  ASSERT_TRUE(out.has_last_used_at());
  EXPECT_EQ(out.last_used_at().seconds(), 1764400000);
  EXPECT_EQ(out.last_used_at().nanos(), 1000);
  ASSERT_TRUE(out.has_revoked_at());
  EXPECT_EQ(out.revoked_at().seconds(), 1764500000);
  EXPECT_EQ(out.revoked_at().nanos(), 500000000);
  EXPECT_EQ(out.expires_on(), "2027-04-11");
  EXPECT_EQ(out.status(), v1::REVOKED);
}

TEST(TokenToProtoTest, UnsetOptionalTimestampsStayUnset) {
  v1::Token out;
  ToProto(SampleToken(), &out);
  EXPECT_TRUE(out.has_created_at());
  EXPECT_FALSE(out.has_last_used_at());
  EXPECT_FALSE(out.has_revoked_at());
}

TEST(TokenToProtoTest, EpochIsSetNotOmitted) {
  TokenRecord token = SampleToken();
  token.last_used_at = Micros(0);
  v1::Token out;
  ToProto(token, &out);
  EXPECT_TRUE(out.has_last_used_at());
}

TEST(TokenToProtoTest, ExpiresOnIsZeroPaddedIsoDate) {
  TokenRecord token = SampleToken();
  token.expires_on = absl::CivilDay(2027, 1, 5);
  v1::Token out;
  ToProto(token, &out);
  EXPECT_EQ(out.expires_on(), "2027-01-05");
}

TEST(TokenToProtoTest, EveryStatus) {
  const std::pair<TokenStatus, v1::TokenStatus> statuses[] = {{TokenStatus::kActive, v1::ACTIVE},
                                                              {TokenStatus::kExpired, v1::EXPIRED},
                                                              {TokenStatus::kRevoked, v1::REVOKED}};
  for (const auto& [status, expected] : statuses) {
    TokenRecord token = SampleToken();
    token.status = status;
    v1::Token out;
    ToProto(token, &out);
    EXPECT_EQ(out.status(), expected);
  }
}

// --- User --------------------------------------------------------------------

TEST(UserToProtoTest, CopiesEveryField) {
  User user{"alice", "Alice Liddell", "alice@example.com", Role::kAdmin, true, Micros(-1500000)};
  v1::User out;
  ToProto(user, &out);
  EXPECT_EQ(out.user_id(), "alice");
  EXPECT_EQ(out.display_name(), "Alice Liddell");
  EXPECT_EQ(out.email(), "alice@example.com");
  EXPECT_EQ(out.role(), v1::ADMIN);
  EXPECT_TRUE(out.disabled());
  EXPECT_EQ(out.created_at().seconds(), -2);
  EXPECT_EQ(out.created_at().nanos(), 500000000);
}

TEST(RoleToProtoTest, EveryRole) {
  EXPECT_EQ(ToProto(Role::kUser), v1::USER);
  EXPECT_EQ(ToProto(Role::kAdmin), v1::ADMIN);
  EXPECT_EQ(ToProto(Role::kService), v1::SERVICE);
  User user;
  user.role = Role::kService;
  v1::User out;
  ToProto(user, &out);
  EXPECT_EQ(out.role(), v1::SERVICE);
}

// --- TokenEvent --------------------------------------------------------------

TEST(TokenEventToProtoTest, CopiesEveryField) {
  TokenEvent event{9007199254740993,
                   EventKind::kTokenRotated,
                   Micros(1764351322000007),
                   "root",
                   "alice",
                   "11111111-2222-4333-8444-555555555555",
                   "ci",
                   "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a",
                   ""};
  v1::TokenEvent out;
  ToProto(event, &out);
  // Beyond 2^53: a string, so JSON clients keep every digit.
  EXPECT_EQ(out.id(), "9007199254740993");
  EXPECT_EQ(out.kind(), v1::TokenEvent::TOKEN_ROTATED);
  EXPECT_EQ(out.occurred_at().seconds(), 1764351322);
  EXPECT_EQ(out.occurred_at().nanos(), 7000);
  EXPECT_EQ(out.actor_user_id(), "root");
  EXPECT_EQ(out.subject_user_id(), "alice");
  EXPECT_EQ(out.token_id(), "11111111-2222-4333-8444-555555555555");
  EXPECT_EQ(out.token_name(), "ci");
  EXPECT_EQ(out.previous_token_id(), "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a");
  EXPECT_EQ(out.detail(), "");
}

TEST(TokenEventToProtoTest, EveryKind) {
  const std::pair<EventKind, v1::TokenEvent::Kind> kinds[] = {
      {EventKind::kTokenCreated, v1::TokenEvent::TOKEN_CREATED},
      {EventKind::kTokenRevoked, v1::TokenEvent::TOKEN_REVOKED},
      {EventKind::kTokenRotated, v1::TokenEvent::TOKEN_ROTATED},
      {EventKind::kUserCreated, v1::TokenEvent::USER_CREATED},
      {EventKind::kUserUpdated, v1::TokenEvent::USER_UPDATED}};
  for (const auto& [kind, expected] : kinds) {
    TokenEvent event;
    event.kind = kind;
    event.detail = "role=ADMIN";
    v1::TokenEvent out;
    ToProto(event, &out);
    EXPECT_EQ(out.kind(), expected);
    EXPECT_EQ(out.detail(), "role=ADMIN");
  }
}

// --- Enums from requests -----------------------------------------------------

TEST(RoleFromProtoTest, KnownValues) {
  EXPECT_EQ(RoleFromProto("role", v1::ROLE_UNSPECIFIED).value(), std::nullopt);
  EXPECT_EQ(RoleFromProto("role", v1::USER).value(), std::optional<Role>(Role::kUser));
  EXPECT_EQ(RoleFromProto("role", v1::ADMIN).value(), std::optional<Role>(Role::kAdmin));
  EXPECT_EQ(RoleFromProto("role", v1::SERVICE).value(), std::optional<Role>(Role::kService));
}

TEST(RoleFromProtoTest, UnknownNumbersAreFieldErrors) {
  // proto3 enums are open: a client can send any number.
  for (int number : {42, 4, -1}) {
    absl::StatusOr<std::optional<Role>> got = RoleFromProto("role", number);
    ASSERT_FALSE(got.ok()) << number;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("role"));
  }
  EXPECT_EQ(FieldOf(RoleFromProto("new_role", 42).status()),
            std::optional<std::string>("new_role"));
}

TEST(StatusFromProtoTest, KnownValues) {
  EXPECT_EQ(StatusFromProto("status", v1::TOKEN_STATUS_UNSPECIFIED).value(), std::nullopt);
  EXPECT_EQ(StatusFromProto("status", v1::ACTIVE).value(),
            std::optional<TokenStatus>(TokenStatus::kActive));
  EXPECT_EQ(StatusFromProto("status", v1::EXPIRED).value(),
            std::optional<TokenStatus>(TokenStatus::kExpired));
  EXPECT_EQ(StatusFromProto("status", v1::REVOKED).value(),
            std::optional<TokenStatus>(TokenStatus::kRevoked));
}

TEST(StatusFromProtoTest, UnknownNumbersAreFieldErrors) {
  for (int number : {42, 4, -1}) {
    absl::StatusOr<std::optional<TokenStatus>> got = StatusFromProto("status", number);
    ASSERT_FALSE(got.ok()) << number;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("status"));
  }
}

// --- UpdateUserRequest (AIP-134) ---------------------------------------------

TEST(UpdateRequestFromProtoTest, CopiesTheMaskAndEveryFieldOfUser) {
  v1::UpdateUserRequest request;
  v1::User* user = request.mutable_user();
  user->set_user_id("carol");
  user->set_display_name("Carol");
  user->set_email("carol@example.com");
  user->set_role(v1::ADMIN);
  user->set_disabled(true);
  request.mutable_update_mask()->add_paths("email");
  request.mutable_update_mask()->add_paths("disabled");
  const UserManager::UpdateRequest got = UpdateRequestFromProto(request);
  EXPECT_EQ(got.user_id, "carol");
  EXPECT_EQ(got.mask, (std::vector<std::string>{"email", "disabled"}));
  EXPECT_EQ(got.display_name, "Carol");
  EXPECT_EQ(got.email, "carol@example.com");
  EXPECT_EQ(got.role, std::optional<Role>(Role::kAdmin));
  EXPECT_TRUE(got.disabled);
}

TEST(UpdateRequestFromProtoTest, NoMaskAndNoRoleStayEmpty) {
  v1::UpdateUserRequest request;
  request.mutable_user()->set_role(static_cast<v1::Role>(42));
  const UserManager::UpdateRequest got = UpdateRequestFromProto(request);
  EXPECT_TRUE(got.mask.empty());
  EXPECT_EQ(got.role, std::nullopt);
  EXPECT_EQ(UpdateRequestFromProto(v1::UpdateUserRequest()).role, std::nullopt);
}

}  // namespace
}  // namespace tokens::service
