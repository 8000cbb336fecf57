// Scopes in TokenManager: chosen from the catalogue at creation, kept by a
// rotation, and bounded by the scopes of the token that makes the request.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/token_manager.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::IsFieldError;
using test_support::SeededRandom;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using IssuedToken = TokenManager::IssuedToken;

const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone());
constexpr char kExpiry[] = "2027-04-11";

Principal Caller(const std::string& user_id, Role role,
                 std::vector<std::string> token_scopes = {}) {
  Principal caller{user_id, "Name of " + user_id, user_id + "@example.com", role,
                   "token-of-" + user_id};
  caller.token_expires_on = absl::CivilDay(2030, 1, 1);
  caller.token_scopes = std::move(token_scopes);
  return caller;
}

TokenManagerOptions WithCatalogue(std::vector<std::string> catalogue) {
  TokenManagerOptions options{365, 100000, 1e9, 1e9};
  options.scope_catalogue = std::move(catalogue);
  return options;
}

class TokenScopesTest : public ::testing::Test {
 protected:
  TokenScopesTest() {
    store_.AddUser("alice");
    store_.AddUser("root", Role::kAdmin);
    store_.AddUser("sidecar", Role::kService);
  }

  absl::StatusOr<IssuedToken> Create(const Principal& caller, const std::string& name,
                                     std::vector<std::string> scopes) {
    TokenManager::CreateRequest request{name, kExpiry, ""};
    request.scopes = std::move(scopes);
    return manager_.CreateToken(caller, request);
  }

  FakeClock clock_{kStart};
  FakeTokenStore store_;
  TokenCodec codec_;
  SeededRandom random_{7};
  TokenManager manager_{store_, codec_, clock_, random_,
                        WithCatalogue({"things:write", "things:read", "admin:audit"})};

  const Principal alice_ = Caller("alice", Role::kUser);
  const Principal reader_ = Caller("alice", Role::kUser, {"things:read"});
};

TEST_F(TokenScopesTest, ScopesAreStoredSortedAndServed) {
  absl::StatusOr<IssuedToken> issued = Create(alice_, "ci", {"things:write", "things:read"});
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_THAT(issued->token.scopes, ElementsAre("things:read", "things:write"));
  absl::StatusOr<TokenRecord> got = manager_.GetToken(alice_, issued->token.id);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->scopes, ElementsAre("things:read", "things:write"));
}

TEST_F(TokenScopesTest, NoScopesIsTheUsersFullAccess) {
  absl::StatusOr<IssuedToken> issued = Create(alice_, "ci", {});
  ASSERT_TRUE(issued.ok()) << issued.status();
  EXPECT_THAT(issued->token.scopes, IsEmpty());
}

TEST_F(TokenScopesTest, AScopeOutsideTheCatalogueIsAFieldError) {
  absl::StatusOr<IssuedToken> issued = Create(alice_, "ci", {"things:read", "things:delete"});
  EXPECT_THAT(issued.status(), IsFieldError("scopes"));
  EXPECT_THAT(issued.status().message(), HasSubstr("things:delete is not a scope of this server"));
  EXPECT_EQ(store_.token_count(), 0u);
}

TEST_F(TokenScopesTest, MalformedAndRepeatedScopesAreFieldErrors) {
  for (const std::vector<std::string>& scopes :
       std::vector<std::vector<std::string>>{{"things read"},
                                             {""},
                                             {"things:read", "things:read"},
                                             {std::string(65, 'a')},
                                             {"a", "b", "c", "d"}}) {
    EXPECT_THAT(Create(alice_, "ci", scopes).status(), IsFieldError("scopes"));
  }
  // A malformed name is named by position, never echoed.
  EXPECT_THAT(Create(alice_, "ci", {"things:read", "x\"y"}).status().message(),
              HasSubstr("scope 2 is not a scope name"));
  EXPECT_EQ(store_.token_count(), 0u);
}

TEST_F(TokenScopesTest, WithoutACatalogueNoTokenHasScopes) {
  TokenManager bare(store_, codec_, clock_, random_, WithCatalogue({}));
  TokenManager::CreateRequest request{"ci", kExpiry, ""};
  request.scopes = {"things:read"};
  EXPECT_THAT(bare.CreateToken(alice_, request).status(), IsFieldError("scopes"));
  request.scopes = {};
  EXPECT_TRUE(bare.CreateToken(alice_, request).ok());
}

TEST_F(TokenScopesTest, AScopedTokenIssuesOnlyScopesItHolds) {
  absl::StatusOr<IssuedToken> narrower = Create(reader_, "read-only", {"things:read"});
  ASSERT_TRUE(narrower.ok()) << narrower.status();
  EXPECT_THAT(narrower->token.scopes, ElementsAre("things:read"));

  absl::Status wider = Create(reader_, "writer", {"things:read", "things:write"}).status();
  EXPECT_THAT(wider, HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(wider.message(), HasSubstr("lacks things:write"));

  absl::Status full = Create(reader_, "everything", {}).status();
  EXPECT_THAT(full, HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(full.message(), HasSubstr("without scopes"));
  EXPECT_EQ(store_.token_count(), 1u);
}

TEST_F(TokenScopesTest, TheCatalogueIsCheckedBeforeTheCallersScopes) {
  // An unknown scope is the request's mistake, whoever asks.
  EXPECT_THAT(Create(reader_, "ci", {"things:delete"}).status(), IsFieldError("scopes"));
}

TEST_F(TokenScopesTest, AnAdminTokenWithScopesIsBoundToo) {
  const Principal scoped_root = Caller("root", Role::kAdmin, {"admin:audit"});
  TokenManager::CreateRequest request{"for alice", kExpiry, "alice"};
  request.scopes = {"things:read"};
  EXPECT_THAT(manager_.CreateToken(scoped_root, request).status(),
              HasCode(absl::StatusCode::kPermissionDenied));
  request.scopes = {"admin:audit"};
  EXPECT_TRUE(manager_.CreateToken(scoped_root, request).ok());
}

TEST_F(TokenScopesTest, RotationKeepsTheScopes) {
  absl::StatusOr<IssuedToken> old = Create(alice_, "ci", {"things:read"});
  ASSERT_TRUE(old.ok());
  absl::StatusOr<IssuedToken> rotated = manager_.RotateToken(alice_, old->token.id);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(rotated->token.scopes, ElementsAre("things:read"));
}

TEST_F(TokenScopesTest, AScopedTokenRotatesOnlyTokensItCouldHaveCreated) {
  absl::StatusOr<IssuedToken> full = Create(alice_, "full", {});
  absl::StatusOr<IssuedToken> writer = Create(alice_, "writer", {"things:write"});
  absl::StatusOr<IssuedToken> reader = Create(alice_, "reader", {"things:read"});
  ASSERT_TRUE(full.ok() && writer.ok() && reader.ok());
  EXPECT_THAT(manager_.RotateToken(reader_, full->token.id).status(),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.RotateToken(reader_, writer->token.id).status(),
              HasCode(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<IssuedToken> rotated = manager_.RotateToken(reader_, reader->token.id);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(rotated->token.scopes, ElementsAre("things:read"));
}

TEST_F(TokenScopesTest, TheAuditEventNamesTheScopes) {
  absl::StatusOr<IssuedToken> issued = Create(alice_, "ci", {"things:write", "things:read"});
  ASSERT_TRUE(issued.ok());
  ASSERT_FALSE(store_.events().empty());
  EXPECT_EQ(store_.events().back().detail, "scopes: things:read things:write");
}

TEST_F(TokenScopesTest, EveryCallerWithATokenReadsTheCatalogueInOrder) {
  for (const Principal& caller :
       {alice_, reader_, Caller("root", Role::kAdmin), Caller("sidecar", Role::kService)}) {
    absl::StatusOr<std::vector<std::string>> scopes = manager_.ListScopes(caller);
    ASSERT_TRUE(scopes.ok()) << scopes.status();
    EXPECT_THAT(*scopes, ElementsAre("things:write", "things:read", "admin:audit"));
  }
}

}  // namespace
}  // namespace tokens::service
