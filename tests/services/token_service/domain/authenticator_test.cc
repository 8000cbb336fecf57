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
    EXPECT_TRUE(store_.InsertToken(row, TokenEvent{}, std::nullopt).ok());
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
  EXPECT_EQ(store_.calls(), 0);
}

// As the sidecar answers it (ReadAuthorization, common/auth/decide.h): a
// header that is there but empty is not "Bearer <token>".
TEST_F(AuthenticatorTest, EmptyHeaderIsMalformed) {
  ExpectRejected("", "malformed token", "");
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

// Decide's order (common/auth/decide.h): the token's own, permanent facts
// before its owner's state, as the sidecar answers too.
TEST_F(AuthenticatorTest, ExpiredTokenOfADisabledUserIsExpired) {
  const std::string secret = Issue("bob");
  UserUpdate disable;
  disable.user_id = "bob";
  disable.disabled = true;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  clock_.Set(StartOfUtcDay(kExpiresOn));
  ExpectRejected("Bearer " + secret, "token expired", secret);
  // Expired for good, so remembered: enabling the user changes nothing.
  disable.disabled = false;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  ExpectRejected("Bearer " + secret, "token expired", secret);
  EXPECT_EQ(auth_.stats().user_disabled, 0u);
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

// The limits, with a fake clock: the negative cache of unknown hashes and
// each client's budget of failed lookups.
class AuthenticatorLimitsTest : public AuthenticatorTest {
 protected:
  static constexpr char kAttacker[] = "203.0.113.7";
  static constexpr char kNeighbour[] = "198.51.100.1";

  // A well-formed token no one has.
  std::string Unknown() { return codec_.Generate(random_); }

  absl::StatusOr<Principal> From(const std::string& client, const std::string& token,
                                 const Authenticator& auth) {
    return auth.Authenticate("Bearer " + token, client);
  }

  AuthenticatorOptions Options(double rate, double burst) {
    AuthenticatorOptions options;
    options.failures_per_second_per_client = rate;
    options.failure_burst_per_client = burst;
    return options;
  }
};

TEST_F(AuthenticatorLimitsTest, AnUnknownTokenIsRememberedForItsTtlWithoutAnotherLookup) {
  AuthenticatorOptions options;
  options.remember_failures_for = absl::Seconds(10);
  Authenticator auth(store_, codec_, clock_, options);
  const std::string unknown = Unknown();
  const int before = store_.calls();
  EXPECT_THAT(From(kAttacker, unknown, auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(store_.calls(), before + 1);
  clock_.Advance(absl::Seconds(9));
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Principal> again = From(kAttacker, unknown, auth);
    EXPECT_EQ(again.status().message(), "unknown token");
  }
  EXPECT_EQ(store_.calls(), before + 1);
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(From(kAttacker, unknown, auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(store_.calls(), before + 2);
  EXPECT_EQ(auth.stats().unknown, 102u);
  EXPECT_EQ(auth.stats().remembered, 100u);
  EXPECT_EQ(auth.stats().lookups, 2u);
}

TEST_F(AuthenticatorLimitsTest, RememberedUnknownHashesAreBoundedAndTheOldestGoFirst) {
  AuthenticatorOptions options;
  options.max_remembered = 2;
  Authenticator auth(store_, codec_, clock_, options);
  const std::string a = Unknown(), b = Unknown(), c = Unknown();
  for (const std::string& token : {a, b, c}) From(kAttacker, token, auth).IgnoreError();
  const int before = store_.calls();
  From(kAttacker, c, auth).IgnoreError();
  From(kAttacker, b, auth).IgnoreError();
  EXPECT_EQ(store_.calls(), before);  // still remembered
  From(kAttacker, a, auth).IgnoreError();
  EXPECT_EQ(store_.calls(), before + 1);  // forgotten, looked up again
}

TEST_F(AuthenticatorLimitsTest, AClientOverItsBudgetIsRefusedWithoutALookupOthersAreNot) {
  Authenticator auth(store_, codec_, clock_, Options(/*rate=*/1, /*burst=*/3));
  for (int i = 0; i < 3; ++i) {
    EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  }
  const int before = store_.calls();
  absl::StatusOr<Principal> limited = From(kAttacker, Unknown(), auth);
  EXPECT_THAT(limited, HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(std::string(limited.status().message()), HasSubstr("too many failed"));
  EXPECT_EQ(store_.calls(), before);
  // Another address has its own budget.
  EXPECT_THAT(From(kNeighbour, Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(store_.calls(), before + 1);
  // The budget refills at the rate.
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(auth.stats().rate_limited, 2u);
}

TEST_F(AuthenticatorLimitsTest, ARememberedUnknownTokenIsAnsweredEvenOverTheBudget) {
  Authenticator auth(store_, codec_, clock_, Options(1, 1));
  const std::string unknown = Unknown();
  EXPECT_THAT(From(kAttacker, unknown, auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(From(kAttacker, unknown, auth).status().message(), "unknown token");
}

// What the limit costs a client behind the same address as a guesser: its
// valid tokens never use the budget up, but while it is empty they are
// refused too (RESOURCE_EXHAUSTED, never UNAUTHENTICATED), until it refills.
TEST_F(AuthenticatorLimitsTest, ValidTokensUseNoBudgetButWaitWhileItIsEmpty) {
  Authenticator auth(store_, codec_, clock_, Options(1, 2));
  const std::string valid = Issue("bob");
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(From(kAttacker, valid, auth).ok());
  From(kAttacker, Unknown(), auth).IgnoreError();
  From(kAttacker, Unknown(), auth).IgnoreError();
  EXPECT_THAT(From(kAttacker, valid, auth), HasCode(absl::StatusCode::kResourceExhausted));
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(From(kAttacker, valid, auth).ok());
}

// Revoked and expired for good: remembered like unknown tokens.
TEST_F(AuthenticatorLimitsTest, RevokedAndExpiredTokensAreRememberedAndUseTheBudgetOnce) {
  Authenticator auth(store_, codec_, clock_, Options(1, 2));
  std::string id;
  const std::string revoked = Issue("bob", &id);
  ASSERT_TRUE(store_.RevokeToken(id, clock_.Now(), TokenEvent{}).ok());
  const std::string expired = Issue("bob");
  clock_.Set(StartOfUtcDay(kExpiresOn));
  const int before = store_.calls();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(From(kAttacker, revoked, auth).status().message(), "token revoked");
    EXPECT_EQ(From(kAttacker, expired, auth).status().message(), "token expired");
  }
  EXPECT_EQ(store_.calls(), before + 2);
  EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(auth.stats().revoked, 10u);
  EXPECT_EQ(auth.stats().expired, 10u);
  EXPECT_EQ(auth.stats().remembered, 18u);
}

// A disabled user may be enabled again: each try is looked up, and costs.
TEST_F(AuthenticatorLimitsTest, ADisabledUsersTokenIsLookedUpEachTimeAndUsesTheBudget) {
  Authenticator auth(store_, codec_, clock_, Options(1, 2));
  const std::string token = Issue("bob");
  UserUpdate disable;
  disable.user_id = "bob";
  disable.disabled = true;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  EXPECT_EQ(From(kAttacker, token, auth).status().message(), "user disabled");
  EXPECT_EQ(From(kAttacker, token, auth).status().message(), "user disabled");
  EXPECT_THAT(From(kAttacker, token, auth), HasCode(absl::StatusCode::kResourceExhausted));
  disable.disabled = false;
  ASSERT_TRUE(store_.UpdateUser(disable, TokenEvent{}).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(From(kAttacker, token, auth).ok());
}

TEST_F(AuthenticatorLimitsTest, TrackedClientsAreBoundedAndTheRestShareOneBudget) {
  AuthenticatorOptions options = Options(/*rate=*/0.001, /*burst=*/1);
  options.max_tracked_clients = 2;
  Authenticator auth(store_, codec_, clock_, options);
  EXPECT_THAT(From("192.0.2.1", Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("192.0.2.2", Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  // The table is full and nobody in it is idle: the others share a budget.
  EXPECT_THAT(From("192.0.2.3", Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("192.0.2.4", Unknown(), auth), HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(From("192.0.2.3", Unknown(), auth), HasCode(absl::StatusCode::kResourceExhausted));
}

TEST_F(AuthenticatorLimitsTest, ClientsWithoutAnAddressShareOneBudget) {
  Authenticator auth(store_, codec_, clock_, Options(1, 1));
  EXPECT_THAT(From("", Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("not an address", Unknown(), auth),
              HasCode(absl::StatusCode::kResourceExhausted));
}

TEST_F(AuthenticatorLimitsTest, ZeroRateMeansNoLimit) {
  Authenticator auth(store_, codec_, clock_, Options(0, 0));
  for (int i = 0; i < 100; ++i) {
    EXPECT_THAT(From(kAttacker, Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(auth.stats().rate_limited, 0u);
}

TEST_F(AuthenticatorLimitsTest, StoreOutagesUseNoBudgetAndAreNotRemembered) {
  Authenticator auth(store_, codec_, clock_, Options(1, 1));
  const std::string token = Unknown();
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(From(kAttacker, token, auth), HasCode(absl::StatusCode::kUnavailable));
  }
  EXPECT_EQ(auth.stats().unknown, 0u);
}

// An IPv6 host usually holds a whole /64 and may pick any address in it;
// an IPv4 address counts the same however it is written.
TEST_F(AuthenticatorLimitsTest, AnIpv6Slash64IsOneClientAndAMappedIpv4AddressIsItself) {
  Authenticator auth(store_, codec_, clock_, Options(1, 1));
  EXPECT_THAT(From("2001:db8:1:2::1", Unknown(), auth),
              HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("2001:db8:1:2:ffff::99", Unknown(), auth),
              HasCode(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(From("2001:db8:1:3::1", Unknown(), auth),
              HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("192.0.2.7", Unknown(), auth), HasCode(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(From("::ffff:192.0.2.7", Unknown(), auth),
              HasCode(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace tokens::service
