// The product flow of the seed page, end to end: the real token-service
// binary, a real PostgreSQL, real gRPC.
#include "tests/services/token_service/service_fixture.h"

namespace tokens::testing {
namespace {

class SeedFlowTest : public TokenServiceTest {};

TEST_F(SeedFlowTest, CreateShowsSecretOnceAndListsActiveEverywhere) {
  const std::string alice = NewUserWithToken("alice", v1::USER);

  // Create API Token: QA-Test-Token, an expiry date after today.
  v1::CreateTokenRequest create;
  create.set_name("QA-Test-Token");
  create.set_expires_on(DateFromToday(120));
  v1::CreateTokenResponse created;
  grpc::Status status = tokens_->CreateToken(As(alice).get(), create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(created.secret(), ::testing::MatchesRegex("utk_[0-9A-Za-z]{39}"));
  EXPECT_EQ(created.token().status(), v1::ACTIVE);
  EXPECT_EQ(created.token().expires_on(), DateFromToday(120));
  EXPECT_EQ(created.token().user_id(), "alice");
  EXPECT_FALSE(created.token().has_last_used_at());

  // Profile -> API Tokens: the token, ACTIVE, masked, never the secret.
  v1::ListTokensResponse mine;
  status = tokens_->ListTokens(As(alice).get(), v1::ListTokensRequest(), &mine);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(mine.tokens_size(), 2);
  const v1::Token& listed = mine.tokens(0);  // newest first
  EXPECT_EQ(listed.id(), created.token().id());
  EXPECT_EQ(listed.name(), "QA-Test-Token");
  EXPECT_EQ(listed.status(), v1::ACTIVE);
  EXPECT_EQ(listed.expires_on(), DateFromToday(120));
  EXPECT_EQ(listed.hint(), created.token().hint());
  EXPECT_EQ(listed.hint().substr(0, 8), created.secret().substr(0, 8));
  EXPECT_EQ(listed.DebugString().find(created.secret()), std::string::npos);

  // Access Control -> User Tokens (admin, all users): the same row.
  v1::ListTokensRequest all;
  all.set_all_users(true);
  v1::ListTokensResponse everyone;
  status = tokens_->ListTokens(As(admin_token_).get(), all, &everyone);
  ASSERT_TRUE(status.ok()) << status.error_message();
  bool found = false;
  for (const v1::Token& t : everyone.tokens()) {
    if (t.id() != created.token().id()) continue;
    found = true;
    EXPECT_EQ(t.user_id(), "alice");
    EXPECT_EQ(t.user_display_name(), "User alice");
    EXPECT_EQ(t.status(), v1::ACTIVE);
    EXPECT_EQ(t.expires_on(), DateFromToday(120));
  }
  EXPECT_TRUE(found);

  // The profile menu: name and role.
  v1::GetProfileResponse profile;
  status = tokens_->GetProfile(As(alice).get(), v1::GetProfileRequest(), &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "alice");
  EXPECT_EQ(profile.display_name(), "User alice");
  EXPECT_EQ(profile.email(), "alice@example.com");
  EXPECT_EQ(profile.role(), v1::USER);

  // The new secret itself authenticates.
  status = tokens_->GetProfile(As(created.secret()).get(), v1::GetProfileRequest(), &profile);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace tokens::testing
