// Scopes over the real API: the operator's catalogue (--token_scopes),
// chosen at creation, shown everywhere a token is, kept by a rotation, and
// bounded by the scopes of the token that asks.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class ScopesTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TokenServiceTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(RestartService({"--token_scopes=things:write,things:read,audit"}));
    alice_ = NewUserWithToken("alice", v1::USER);
  }

  grpc::Status Create(const std::string& caller, const std::string& name,
                      const std::vector<std::string>& scopes, v1::CreateTokenResponse* out) {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(DateFromToday(30));
    for (const std::string& scope : scopes) request.add_scopes(scope);
    return tokens_->CreateToken(As(caller).get(), request, out);
  }

  v1::CreateTokenResponse MustCreateWith(const std::string& caller, const std::string& name,
                                         const std::vector<std::string>& scopes) {
    v1::CreateTokenResponse created;
    grpc::Status status = Create(caller, name, scopes, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  std::string alice_;
};

TEST_F(ScopesTest, AnyCallerReadsTheCatalogueInTheOperatorsOrder) {
  for (const std::string& caller : {alice_, admin_token_}) {
    v1::ListScopesResponse scopes;
    grpc::Status status = tokens_->ListScopes(As(caller).get(), {}, &scopes);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(scopes.scopes(), ElementsAre("things:write", "things:read", "audit"));
  }
  v1::ListScopesResponse ignored;
  grpc::ClientContext anonymous;
  EXPECT_EQ(tokens_->ListScopes(&anonymous, {}, &ignored).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(ScopesTest, ChosenScopesAreShownWhereverTheTokenIs) {
  const v1::CreateTokenResponse created =
      MustCreateWith(alice_, "ci", {"things:write", "things:read"});
  EXPECT_THAT(created.token().scopes(), ElementsAre("things:read", "things:write"));

  v1::GetTokenRequest get;
  get.set_id(created.token().id());
  v1::Token got;
  ASSERT_TRUE(tokens_->GetToken(As(alice_).get(), get, &got).ok());
  EXPECT_THAT(got.scopes(), ElementsAre("things:read", "things:write"));

  v1::ListTokensRequest list;
  list.set_all_users(true);
  v1::ListTokensResponse listed;
  ASSERT_TRUE(tokens_->ListTokens(As(admin_token_).get(), list, &listed).ok());
  bool seen = false;
  for (const v1::Token& token : listed.tokens()) {
    if (token.id() != created.token().id()) {
      EXPECT_THAT(token.scopes(), IsEmpty()) << token.name();
      continue;
    }
    seen = true;
    EXPECT_THAT(token.scopes(), ElementsAre("things:read", "things:write"));
  }
  EXPECT_TRUE(seen);

  // Stored as they were chosen, sorted; nothing else of the request.
  EXPECT_THAT(Sql("SELECT array_to_string(scopes, ',') FROM tokens WHERE id = '" +
                  created.token().id() + "'"),
              ElementsAre("things:read,things:write"));
}

TEST_F(ScopesTest, AScopeOutsideTheCatalogueIsInvalidArgumentNamingTheField) {
  const std::string before = DatabaseDigest();
  v1::CreateTokenResponse created;
  grpc::Status status = Create(alice_, "ci", {"things:read", "things:delete"}, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("scopes"));
  EXPECT_THAT(status.error_message(), HasSubstr("things:delete"));
  status = Create(alice_, "ci", {"things:read", "things:read"}, &created);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("scopes"));
  status = Create(alice_, "ci", {"things read"}, &created);
  EXPECT_THAT(ViolatedFields(status), ElementsAre("scopes"));
  EXPECT_EQ(DatabaseDigest(), before);
}

TEST_F(ScopesTest, ATokenWithoutScopesHasFullAccessAndIssuesAnyScopes) {
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(alice_).get(), {}, &profile).ok());
  EXPECT_THAT(profile.token_scopes(), IsEmpty());
  const v1::CreateTokenResponse all =
      MustCreateWith(alice_, "everything", {"things:read", "things:write", "audit"});
  EXPECT_THAT(all.token().scopes(), ElementsAre("audit", "things:read", "things:write"));
}

TEST_F(ScopesTest, AScopedTokenIssuesOnlyTokensWithScopesItHolds) {
  const v1::CreateTokenResponse reader = MustCreateWith(alice_, "reader", {"things:read"});
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(reader.secret()).get(), {}, &profile).ok());
  EXPECT_THAT(profile.token_scopes(), ElementsAre("things:read"));

  const std::string before = DatabaseDigest();
  v1::CreateTokenResponse created;
  grpc::Status wider = Create(reader.secret(), "writer", {"things:read", "things:write"}, &created);
  EXPECT_EQ(wider.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(wider.error_message(), HasSubstr("lacks things:write"));
  grpc::Status full = Create(reader.secret(), "full", {}, &created);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(DatabaseDigest(), before);

  const v1::CreateTokenResponse narrower =
      MustCreateWith(reader.secret(), "reader 2", {"things:read"});
  EXPECT_THAT(narrower.token().scopes(), ElementsAre("things:read"));
}

TEST_F(ScopesTest, RotationKeepsTheScopesAndAScopedTokenRotatesNothingWider) {
  const v1::CreateTokenResponse reader = MustCreateWith(alice_, "reader", {"things:read"});
  const v1::CreateTokenResponse full = MustCreateWith(alice_, "full", {});

  v1::RotateTokenRequest rotate;
  rotate.set_id(full.token().id());
  v1::RotateTokenResponse rotated;
  EXPECT_EQ(tokens_->RotateToken(As(reader.secret()).get(), rotate, &rotated).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  rotate.set_id(reader.token().id());
  grpc::Status status = tokens_->RotateToken(As(alice_).get(), rotate, &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(rotated.token().id(), reader.token().id());
  EXPECT_THAT(rotated.token().scopes(), ElementsAre("things:read"));
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(rotated.secret()).get(), {}, &profile).ok());
  EXPECT_THAT(profile.token_scopes(), ElementsAre("things:read"));
}

TEST_F(ScopesTest, TheAuditTrailNamesTheScopes) {
  const v1::CreateTokenResponse reader = MustCreateWith(alice_, "reader", {"things:read"});
  v1::ListTokenEventsRequest request;
  request.set_token_id(reader.token().id());
  v1::ListTokenEventsResponse events;
  ASSERT_TRUE(tokens_->ListTokenEvents(As(alice_).get(), request, &events).ok());
  ASSERT_EQ(events.events_size(), 1);
  EXPECT_EQ(events.events(0).detail(), "scopes: things:read");
}

TEST_F(ScopesTest, ATokenKeepsItsScopesWhenTheCatalogueDropsThem) {
  const v1::CreateTokenResponse reader = MustCreateWith(alice_, "reader", {"things:read"});
  ASSERT_NO_FATAL_FAILURE(RestartService({"--token_scopes=audit"}));
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(reader.secret()).get(), {}, &profile).ok());
  EXPECT_THAT(profile.token_scopes(), ElementsAre("things:read"));
  v1::CreateTokenResponse created;
  EXPECT_THAT(ViolatedFields(Create(alice_, "ci", {"things:read"}, &created)),
              ElementsAre("scopes"));
}

}  // namespace
}  // namespace tokens::testing
