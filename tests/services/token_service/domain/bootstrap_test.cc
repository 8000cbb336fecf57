// The bootstrap use case on its own: the user ensured with its role, a token
// issued bound by the input rules only, both recorded as the user's own.
#include "services/token_service/domain/bootstrap.h"

#include <optional>
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
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::IsFieldError;
using test_support::SeededRandom;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// 2026-11-28 17:35:22.25 UTC.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone()) +
    absl::Milliseconds(250);
constexpr absl::CivilDay kToday(2026, 11, 28);

std::string Day(int days_from_today) { return FormatIsoDate(kToday + days_from_today); }

class BootstrapTest : public ::testing::Test {
 protected:
  BootstrapTest() {
    store_.AddUser("alice");
    store_.AddUser("sidecar", Role::kService);
    store_.AddUser("root", Role::kAdmin);
  }

  // A bootstrap over managers with these limits.
  Bootstrap& Make(int max_lifetime_days = 365, int max_live = 100, double per_minute = 1e9,
                  double burst = 1e9) {
    tokens_.emplace(store_, codec_, clock_, random_,
                    TokenManagerOptions{max_lifetime_days, max_live, per_minute, burst});
    bootstrap_.emplace(*tokens_, users_, clock_);
    return *bootstrap_;
  }

  absl::StatusOr<Bootstrap::Result> Run(Role role, const std::string& user_id,
                                        const std::string& expires_on = "") {
    if (!bootstrap_.has_value()) Make();
    return bootstrap_->Run({role, user_id, expires_on});
  }

  FakeClock clock_{kNow};
  FakeTokenStore store_;
  TokenCodec codec_;
  SeededRandom random_{7};
  UserManager users_{store_, clock_};
  std::optional<TokenManager> tokens_;
  std::optional<Bootstrap> bootstrap_;
};

TEST_F(BootstrapTest, CreatesTheAdminAndIssuesItsToken) {
  absl::StatusOr<Bootstrap::Result> done = Run(Role::kAdmin, "boot");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->user.user_id, "boot");
  EXPECT_EQ(done->user.display_name, "boot");
  EXPECT_EQ(done->user.role, Role::kAdmin);
  EXPECT_FALSE(done->user.disabled);

  const TokenRecord& token = done->issued.token;
  EXPECT_EQ(token.user_id, "boot");
  EXPECT_EQ(token.name, "bootstrap 2026-11-28 17:35:22.250000");
  EXPECT_EQ(token.expires_on, kToday + 90);
  EXPECT_EQ(token.status, TokenStatus::kActive);
  EXPECT_EQ(codec_.Validate(done->issued.secret), TokenFormatError::kOk);
  ASSERT_TRUE(store_.Stored(token.id).has_value());
  EXPECT_EQ(store_.Stored(token.id)->hash, TokenCodec::Hash(done->issued.secret));

  // Both recorded as the user's own doing.
  ASSERT_THAT(store_.events(), SizeIs(2));
  const TokenEvent created_user = store_.events()[0];
  EXPECT_EQ(created_user.kind, EventKind::kUserCreated);
  EXPECT_EQ(created_user.actor_user_id, "boot");
  EXPECT_EQ(created_user.detail, "role=ADMIN");
  const TokenEvent created_token = store_.events()[1];
  EXPECT_EQ(created_token.kind, EventKind::kTokenCreated);
  EXPECT_EQ(created_token.actor_user_id, "boot");
  EXPECT_EQ(created_token.subject_user_id, "boot");
  EXPECT_EQ(created_token.token_id, token.id);
}

TEST_F(BootstrapTest, ReusesTheUserAndIssuesAnotherToken) {
  ASSERT_TRUE(Run(Role::kAdmin, "boot").ok());
  clock_.Advance(absl::Hours(1));
  absl::StatusOr<Bootstrap::Result> again = Run(Role::kAdmin, "boot");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->user.created_at, kNow);
  EXPECT_EQ(again->issued.token.name, "bootstrap 2026-11-28 18:35:22.250000");
  EXPECT_EQ(store_.token_count(), 2u);
  // One user created, two tokens.
  EXPECT_THAT(store_.events(), SizeIs(3));
  // An admin that was there before is fine as well.
  absl::StatusOr<Bootstrap::Result> root = Run(Role::kAdmin, "root");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->issued.token.user_id, "root");
}

TEST_F(BootstrapTest, ServiceUsersGetATokenThoughTheyMayNotIssueOneThroughTheApi) {
  absl::StatusOr<Bootstrap::Result> done = Run(Role::kService, "edge-sidecar");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->user.role, Role::kService);
  EXPECT_EQ(store_.events()[0].detail, "role=SERVICE");
  EXPECT_EQ(done->issued.token.user_id, "edge-sidecar");
  absl::StatusOr<Bootstrap::Result> existing = Run(Role::kService, "sidecar");
  ASSERT_TRUE(existing.ok()) << existing.status();
  EXPECT_EQ(existing->user.user_id, "sidecar");
}

TEST_F(BootstrapTest, RefusesUsersThatHaveAnotherRoleOrAreDisabled) {
  store_.AddUser("locked", Role::kAdmin, /*disabled=*/true);
  EXPECT_THAT(Run(Role::kAdmin, "alice"), HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Run(Role::kAdmin, "sidecar"), HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Run(Role::kAdmin, "locked"), HasCode(absl::StatusCode::kFailedPrecondition));
  // An admin or a plain user is never turned into a service identity.
  EXPECT_THAT(Run(Role::kService, "alice"), HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(Run(Role::kService, "root"), HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_.events(), IsEmpty());
  EXPECT_EQ(store_.token_count(), 0u);
  EXPECT_EQ(store_.GetUser("alice")->role, Role::kUser);
}

TEST_F(BootstrapTest, MakesOnlyAdminOrServiceUsers) {
  EXPECT_THAT(Run(Role::kUser, "carol"), IsFieldError("role"));
  EXPECT_THAT(store_.GetUser("carol"), HasCode(absl::StatusCode::kNotFound));
}

TEST_F(BootstrapTest, ValidatesTheUserIdBeforeAnyRead) {
  const int calls = store_.calls();
  EXPECT_THAT(Run(Role::kAdmin, "Not Valid"), IsFieldError("user_id"));
  EXPECT_THAT(Run(Role::kAdmin, ""), IsFieldError("user_id"));
  EXPECT_EQ(store_.calls(), calls);
}

// No caller token bounds the bootstrap token: beyond the cap, the rate and
// any caller's expiry is fine. The input rules hold.
TEST_F(BootstrapTest, TheTokenIsBoundByTheInputRulesOnly) {
  Make(/*max_lifetime_days=*/365, /*max_live=*/1, /*per_minute=*/1, /*burst=*/1);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Microseconds(1));  // a new name each time
    absl::StatusOr<Bootstrap::Result> done = Run(Role::kAdmin, "root", Day(365));
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(done->issued.token.expires_on, kToday + 365);
  }
  EXPECT_EQ(store_.token_count(), 3u);
  EXPECT_THAT(Run(Role::kAdmin, "root", Day(366)), IsFieldError("expires_on"));
  EXPECT_THAT(Run(Role::kAdmin, "root", Day(0)), IsFieldError("expires_on"));
  EXPECT_THAT(Run(Role::kAdmin, "root", "next week"), IsFieldError("expires_on"));
}

TEST_F(BootstrapTest, TheDefaultExpiryIsCutToTheLongestLifetimeAllowed) {
  Make(/*max_lifetime_days=*/30);
  absl::StatusOr<Bootstrap::Result> done = Run(Role::kAdmin, "boot");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->issued.token.expires_on, kToday + 30);
}

// Two bootstrap runs at once: the other one creates the user between our
// lookup and our insert. The store reports the taken id the way PgTokenStore
// does; the winner's row is what counts.
TEST_F(BootstrapTest, LosingARaceUsesTheWinnersRow) {
  store_.BeforeNextCreateUser([this] { store_.AddUser("boot", Role::kAdmin); });
  absl::StatusOr<Bootstrap::Result> done = Run(Role::kAdmin, "boot");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->user.role, Role::kAdmin);
  EXPECT_EQ(done->issued.token.user_id, "boot");
}

TEST_F(BootstrapTest, LosingARaceToAUserWithAnotherRole) {
  store_.BeforeNextCreateUser([this] { store_.AddUser("boot", Role::kUser); });
  EXPECT_THAT(Run(Role::kAdmin, "boot"), HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(store_.token_count(), 0u);
}

TEST_F(BootstrapTest, PropagatesAStoreOutage) {
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(Run(Role::kAdmin, "boot"), HasCode(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace tokens::service
