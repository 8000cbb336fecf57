#include "services/token_service/domain/authenticator.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::SeededRandom;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::CivilDay kExpiresOn(2027, 4, 11);

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() {
    store_.AddUser("alice", Role::kAdmin);
    store_.AddUser("bob");
  }

  // A token of `user_id` that expires on kExpiresOn, stored the way the
  // TokenManager stores it; returns its secret.
  std::string Issue(const std::string& user_id, std::string* id = nullptr) {
    const std::string secret = codec_.Generate(random_);
    const std::string token_id = absl::StrCat("00000000-0000-4000-8000-00000000000", ++issued_);
    NewToken row{token_id,
                 user_id,
                 absl::StrCat("token ", issued_),
                 TokenCodec::Hash(secret),
                 codec_.Hint(secret),
                 clock_.Now(),
                 kExpiresOn};
    EXPECT_TRUE(store_.InsertToken(row, TokenEvent{}).ok());
    if (id != nullptr) *id = token_id;
    return secret;
  }

  absl::StatusOr<Principal> Authenticate(std::optional<std::string> header) {
    if (!header.has_value()) return auth_.Authenticate(std::nullopt);
    return auth_.Authenticate(absl::string_view(*header));
  }

  // Expects UNAUTHENTICATED with exactly `reason`, and that the reason does
  // not echo `secret`.
  void ExpectRejected(const std::optional<std::string>& header, absl::string_view reason,
                      absl::string_view secret) {
    absl::StatusOr<Principal> got = Authenticate(header);
    ASSERT_FALSE(got.ok()) << header.value_or("(none)");
    EXPECT_EQ(got.status().code(), absl::StatusCode::kUnauthenticated);
    EXPECT_EQ(got.status().message(), reason);
    if (!secret.empty()) {
      EXPECT_THAT(std::string(got.status().message()), Not(HasSubstr(std::string(secret))));
      EXPECT_THAT(got.status().ToString(), Not(HasSubstr(std::string(secret))));
    }
  }

  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 11, 28, 12, 0, 0), absl::UTCTimeZone())};
  FakeTokenStore store_;
  TokenCodec codec_;
  SeededRandom random_{7};
  Authenticator auth_{store_, codec_, clock_};
  int issued_ = 0;
};

TEST_F(AuthenticatorTest, AcceptsAValidToken) {
  std::string id;
  const std::string secret = Issue("alice", &id);
  absl::StatusOr<Principal> got = Authenticate("Bearer " + secret);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->user_id, "alice");
  EXPECT_EQ(got->display_name, "Name of alice");
  EXPECT_EQ(got->email, "alice@example.com");
  EXPECT_EQ(got->role, Role::kAdmin);
  EXPECT_EQ(got->token_id, id);
  EXPECT_EQ(got->token_expires_on, kExpiresOn);
}

TEST_F(AuthenticatorTest, SchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  const std::string secret = Issue("bob");
  for (const std::string& header :
       {"bearer " + secret, "BEARER " + secret, "Bearer   " + secret + "  "}) {
    absl::StatusOr<Principal> got = Authenticate(header);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->user_id, "bob");
    EXPECT_EQ(got->role, Role::kUser);
  }
}

TEST_F(AuthenticatorTest, MissingHeader) {
  ExpectRejected(std::nullopt, "missing bearer token", "");
  ExpectRejected("", "missing bearer token", "");
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(AuthenticatorTest, MalformedHeadersAndTokensNeverReachTheStore) {
  const std::string secret = Issue("alice");
  const int calls_before = store_.calls();

  std::string bad_checksum = secret;
  bad_checksum.back() = bad_checksum.back() == 'A' ? 'B' : 'A';
  std::string bad_random = secret;
  bad_random[5] = bad_random[5] == 'A' ? 'B' : 'A';
  const std::string other_prefix = "xyz" + secret.substr(3);

  for (const std::string& header : std::vector<std::string>{
           "Basic dXNlcjpwYXNz",
           "Basic " + secret,
           "Bearer",
           "Bearer ",
           "Bearerx",
           "Bearer" + secret,
           secret,
           "Bearer " + bad_checksum,
           "Bearer " + bad_random,
           "Bearer " + other_prefix,
           "Bearer " + secret + "x",
           "Bearer " + secret.substr(1),
           "Bearer " + secret.substr(0, secret.size() - 1),
           "Bearer " + secret + " extra",
           "Bearer utk_",
           "Bearer abc",
           "Bearer " + secret + "\x01",
       }) {
    SCOPED_TRACE(header);
    ExpectRejected(header, "malformed token", secret);
    ExpectRejected(header, "malformed token", bad_checksum);
  }
  EXPECT_EQ(store_.calls(), calls_before);
}

TEST_F(AuthenticatorTest, UnknownToken) {
  Issue("alice");
  SeededRandom other(99);
  const std::string unknown = codec_.Generate(other);
  ASSERT_EQ(codec_.Validate(unknown), TokenFormatError::kOk);
  ExpectRejected("Bearer " + unknown, "unknown token", unknown);
}

TEST_F(AuthenticatorTest, RevokedToken) {
  std::string id;
  const std::string secret = Issue("bob", &id);
  ASSERT_TRUE(store_.RevokeToken(id, clock_.Now(), TokenEvent{}).ok());
  ExpectRejected("Bearer " + secret, "token revoked", secret);
  // Revocation is reported even once the token has expired as well.
  clock_.Set(StartOfUtcDay(kExpiresOn) + absl::Hours(1));
  ExpectRejected("Bearer " + secret, "token revoked", secret);
}

TEST_F(AuthenticatorTest, ExpiresAtMidnightUtcOfItsExpiryDate) {
  const std::string secret = Issue("bob");
  clock_.Set(StartOfUtcDay(kExpiresOn) - absl::Microseconds(1));
  EXPECT_TRUE(Authenticate("Bearer " + secret).ok());
  clock_.Set(StartOfUtcDay(kExpiresOn));
  ExpectRejected("Bearer " + secret, "token expired", secret);
}

TEST_F(AuthenticatorTest, DisabledUser) {
  const std::string secret = Issue("bob");
  UserUpdate disable;
  disable.user_id = "bob";
  disable.disabled = true;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  ExpectRejected("Bearer " + secret, "user disabled", secret);

  disable.disabled = false;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  EXPECT_TRUE(Authenticate("Bearer " + secret).ok());
}

TEST_F(AuthenticatorTest, StoreOutagePropagatesAsUnavailable) {
  const std::string secret = Issue("alice");
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  absl::StatusOr<Principal> got = Authenticate("Bearer " + secret);
  EXPECT_THAT(got, HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(got.status().ToString(), Not(HasSubstr(secret)));
}

TEST_F(AuthenticatorTest, OtherStoreErrorsAreNotMistakenForUnknownTokens) {
  const std::string secret = Issue("alice");
  store_.FailAllCallsWith(absl::InternalError("database error"));
  EXPECT_THAT(Authenticate("Bearer " + secret), HasCode(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace tokens::service
