// token-sidecar end to end: the real sidecar binary fed by the real
// token-service over a private PostgreSQL; Envoy's Check and Authenticate
// called over real gRPC.
#include <csignal>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/grpc_reflection.h"
#include "tests/support/user_change.h"
#include "tokens/v1/tokens.grpc.pb.h"

namespace tokens::testing {
namespace {

using envoy::service::auth::v3::CheckResponse;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kUnauthenticated = 16;

class SidecarE2eTest : public SidecarTest {};

// The header option that an allowed Check sets for `name`.
const envoy::config::core::v3::HeaderValueOption* FindOption(const CheckResponse& response,
                                                             const std::string& name) {
  for (const auto& option : response.ok_response().headers()) {
    if (option.header().key() == name) return &option;
  }
  return nullptr;
}

TEST_F(SidecarE2eTest, ANewTokenIsAllowedAtOnceWithItsIdentity) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  // Created right before the check: the sidecar may not have its delta yet,
  // so this exercises the cache-miss lookup as well as the feed.
  const v1::CreateTokenResponse created = MustCreate(alice, "ci");

  const CheckResponse response = CheckToken(created.secret());
  ASSERT_TRUE(response.has_ok_response()) << response.DebugString();
  EXPECT_EQ(response.status().code(), 0);
  EXPECT_EQ(UpstreamHeader(response, "x-auth-user-id"), "alice");
  EXPECT_EQ(UpstreamHeader(response, "x-auth-user-role"), "USER");
  EXPECT_EQ(UpstreamHeader(response, "x-auth-token-id"), created.token().id());
  EXPECT_THAT(response.ok_response().headers_to_remove(), ::testing::Contains("authorization"));

  v1::AuthenticateRequest request;
  request.set_token(created.secret());
  v1::AuthenticateResponse principal;
  const grpc::Status status = Authenticate(request, &principal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(principal.user_id(), "alice");
  EXPECT_EQ(principal.role(), v1::USER);
  EXPECT_EQ(principal.token_id(), created.token().id());
  EXPECT_EQ(principal.expires_on(), created.token().expires_on());
}

TEST_F(SidecarE2eTest, AuthenticateAcceptsAnAuthorizationHeaderValue) {
  const std::string bob = NewUserWithToken("bob", v1::ADMIN);
  v1::AuthenticateRequest request;
  request.set_authorization("bearer   " + bob);
  v1::AuthenticateResponse principal;
  const grpc::Status status = Authenticate(request, &principal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(principal.user_id(), "bob");
  EXPECT_EQ(principal.role(), v1::ADMIN);
}

TEST_F(SidecarE2eTest, ARevokedTokenIsDeniedOnceTheDeltaArrives) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse created = MustCreate(alice, "to revoke");
  ASSERT_TRUE(CheckToken(created.secret()).has_ok_response());

  v1::RevokeTokenRequest revoke;
  revoke.set_id(created.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(alice).get(), revoke, &revoked).ok());

  EXPECT_TRUE(Eventually([&] { return DeniedReason(CheckToken(created.secret())) == "revoked"; }));
  const CheckResponse denied = CheckToken(created.secret());
  EXPECT_EQ(denied.status().code(), kUnauthenticated);
  EXPECT_EQ(denied.denied_response().status().code(), 401);

  v1::AuthenticateRequest request;
  request.set_token(created.secret());
  v1::AuthenticateResponse principal;
  const grpc::Status status = Authenticate(request, &principal);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("revoked"));
}

TEST_F(SidecarE2eTest, ARotatedTokenIsReplacedByItsSuccessor) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse old_token = MustCreate(alice, "rotating");
  ASSERT_TRUE(CheckToken(old_token.secret()).has_ok_response());

  v1::RotateTokenRequest rotate;
  rotate.set_id(old_token.token().id());
  v1::RotateTokenResponse rotated;
  ASSERT_TRUE(tokens_->RotateToken(As(alice).get(), rotate, &rotated).ok());

  const CheckResponse fresh = CheckToken(rotated.secret());
  ASSERT_TRUE(fresh.has_ok_response());
  EXPECT_EQ(UpstreamHeader(fresh, "x-auth-token-id"), rotated.token().id());
  EXPECT_TRUE(
      Eventually([&] { return DeniedReason(CheckToken(old_token.secret())) == "revoked"; }));
}

TEST_F(SidecarE2eTest, AnExpiredTokenIsDenied) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse created = MustCreate(alice, "short-lived");
  ASSERT_TRUE(CheckToken(created.secret()).has_ok_response());

  // The API only issues future dates; move this one to today, the first day
  // on which it no longer works.
  Sql("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date WHERE id = '" +
      created.token().id() + "'");
  EXPECT_TRUE(Eventually([&] { return DeniedReason(CheckToken(created.secret())) == "expired"; }));
}

TEST_F(SidecarE2eTest, ADisabledUsersTokensAreDeniedUntilReEnabled) {
  const std::string carol = NewUserWithToken("carol", v1::USER);
  ASSERT_TRUE(CheckToken(carol).has_ok_response());

  v1::User user;
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("carol").Disabled(true), &user).ok());
  EXPECT_TRUE(Eventually([&] { return DeniedReason(CheckToken(carol)) == "user_disabled"; }));

  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("carol").Disabled(false), &user).ok());
  EXPECT_TRUE(Eventually([&] { return CheckToken(carol).has_ok_response(); }));
}

TEST_F(SidecarE2eTest, ARoleChangeReachesTheIdentityHeaders) {
  const std::string dave = NewUserWithToken("dave", v1::USER);
  ASSERT_EQ(UpstreamHeader(CheckToken(dave), "x-auth-user-role"), "USER");
  v1::User user;
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("dave").Role(v1::ADMIN), &user).ok());
  EXPECT_TRUE(
      Eventually([&] { return UpstreamHeader(CheckToken(dave), "x-auth-user-role") == "ADMIN"; }));
}

TEST_F(SidecarE2eTest, MissingMalformedAndUnknownTokensAreDeniedWithTheirReason) {
  SystemRandom random;
  const TokenCodec codec;
  const std::string unknown = codec.Generate(random);
  std::string bad_checksum = codec.Generate(random);
  bad_checksum.back() = bad_checksum.back() == 'a' ? 'b' : 'a';

  struct Case {
    std::map<std::string, std::string> headers;
    std::string reason;
  };
  const Case cases[] = {
      {{}, "missing"},
      {{{"x-other", "1"}}, "missing"},
      {{{"authorization", "Basic dXNlcjpwYXNz"}}, "malformed"},
      {{{"authorization", "Bearer"}}, "malformed"},
      {{{"authorization", "Bearer not-a-token"}}, "malformed"},
      {{{"authorization", "Bearer " + bad_checksum}}, "malformed"},
      {{{"authorization", "Bearer " + unknown}}, "unknown"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reason);
    const CheckResponse response = Check(c.headers);
    ASSERT_TRUE(response.has_denied_response()) << response.DebugString();
    EXPECT_EQ(response.status().code(), kUnauthenticated);
    EXPECT_EQ(response.denied_response().status().code(), 401);
    EXPECT_EQ(DeniedReason(response), c.reason);
    bool has_www_authenticate = false;
    for (const auto& option : response.denied_response().headers()) {
      if (option.header().key() == "www-authenticate") {
        has_www_authenticate = true;
        EXPECT_THAT(option.header().value(), ::testing::StartsWith("Bearer"));
      }
    }
    EXPECT_TRUE(has_www_authenticate);
  }
}

TEST_F(SidecarE2eTest, AClientSuppliedIdentityHeaderIsOverwritten) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const CheckResponse response = Check({{"authorization", "Bearer " + alice},
                                        {"x-auth-user-id", "admin"},
                                        {"x-auth-user-role", "ADMIN"}});
  ASSERT_TRUE(response.has_ok_response());
  for (const std::string name : {"x-auth-user-id", "x-auth-user-role", "x-auth-token-id"}) {
    SCOPED_TRACE(name);
    const auto* option = FindOption(response, name);
    ASSERT_NE(option, nullptr);
    EXPECT_EQ(option->append_action(),
              envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
    ASSERT_TRUE(option->has_append());
    EXPECT_FALSE(option->append().value());
  }
  EXPECT_EQ(UpstreamHeader(response, "x-auth-user-id"), "alice");
  EXPECT_EQ(UpstreamHeader(response, "x-auth-user-role"), "USER");
}

TEST_F(SidecarE2eTest, LastUsedAtAndFromAppearInListTokensAfterAFlush) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse created = MustCreate(alice, "used");
  EXPECT_FALSE(created.token().has_last_used_at());
  const absl::Time before = absl::Now() - absl::Seconds(1);
  ASSERT_TRUE(Check({{"authorization", "Bearer " + created.secret()}}, nullptr, "203.0.113.7")
                  .has_ok_response());

  v1::Token listed;
  EXPECT_TRUE(Eventually([&] {
    v1::ListTokensRequest request;
    v1::ListTokensResponse response;
    if (!tokens_->ListTokens(As(alice).get(), request, &response).ok()) return false;
    for (const v1::Token& token : response.tokens()) {
      if (token.id() == created.token().id() && token.has_last_used_at()) {
        listed = token;
        return true;
      }
    }
    return false;
  }));
  EXPECT_GE(listed.last_used_at().seconds(), absl::ToUnixSeconds(before));
  EXPECT_LE(listed.last_used_at().seconds(), absl::ToUnixSeconds(absl::Now()) + 1);
  EXPECT_EQ(listed.last_used_from(), "203.0.113.7") << "shown where the user looks";
  EXPECT_EQ(Sql("SELECT last_used_from FROM tokens WHERE id = '" + created.token().id() + "'"),
            std::vector<std::string>{"203.0.113.7"});
}

TEST_F(SidecarE2eTest, ADeniedCheckRecordsNoUsage) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse created = MustCreate(alice, "revoked before use");
  v1::RevokeTokenRequest revoke;
  revoke.set_id(created.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(alice).get(), revoke, &revoked).ok());
  // A sidecar that starts after the revoke has never seen the token live:
  // its check is denied, deterministically.
  std::unique_ptr<SidecarProcess> fresh = StartSidecar();
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(DeniedReason(CheckToken(created.secret(), fresh.get())), "revoked");
  // A later allowed check of another token is flushed; the revoked one's
  // usage must not have ridden along.
  const v1::CreateTokenResponse other = MustCreate(alice, "used afterwards");
  ASSERT_TRUE(CheckToken(other.secret(), fresh.get()).has_ok_response());
  ASSERT_TRUE(Eventually([&] {
    auto token = FindToken(other.token().id());
    return token.has_value() && token->has_last_used_at();
  }));
  EXPECT_FALSE(FindToken(created.token().id())->has_last_used_at());
}

TEST_F(SidecarE2eTest, NoSecretAppearsInTheSidecarsLog) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse created = MustCreate(alice, "logged?");
  CheckToken(created.secret());
  v1::AuthenticateRequest request;
  request.set_token(created.secret());
  v1::AuthenticateResponse principal;
  Authenticate(request, &principal);
  Check({{"authorization", "Bearer " + created.secret() + "x"}});
  sidecar_->process().Signal(SIGTERM);
  ASSERT_TRUE(sidecar_->process().Wait(std::chrono::seconds(60)).ok());
  const std::string log = sidecar_->process().Stderr();
  for (const std::string& secret : {created.secret(), alice, service_token_}) {
    EXPECT_THAT(log, Not(HasSubstr(secret)));
    EXPECT_THAT(log, Not(HasSubstr(secret.substr(4, 20))));
  }
}

TEST_F(SidecarE2eTest, TheExampleServiceAuthenticatesThroughTheSidecar) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> echo = ChildProcess::Spawn(
      {EchoServiceBinary(), {"--listen", "127.0.0.1:0", "--sidecar", sidecar_->address()}, {}, {}});
  ASSERT_TRUE(echo.ok()) << echo.status();
  absl::StatusOr<std::string> address = (*echo)->WaitUntilListening(std::chrono::seconds(60));
  ASSERT_TRUE(address.ok()) << address.status();
  auto stub = examples::echo::v1::Echo::NewStub(
      grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));

  const std::string alice = NewUserWithToken("alice", v1::USER);
  examples::echo::v1::EchoRequest request;
  request.set_message("hello");
  examples::echo::v1::EchoResponse response;
  grpc::Status status = stub->Echo(As(alice).get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message() << (*echo)->Stderr();
  EXPECT_EQ(response.user_id(), "alice");
  EXPECT_THAT(response.message(), HasSubstr("hello"));

  grpc::ClientContext anonymous;
  status = stub->Echo(&anonymous, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("missing"));

  status = stub->Echo(As(alice + "0").get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(SidecarE2eTest, ReflectionDescribesTheSidecarsServices) {
  std::shared_ptr<grpc::Channel> channel = sidecar_->NewChannel();
  absl::StatusOr<std::set<std::string>> services = ReflectedServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* expected : {"envoy.service.auth.v3.Authorization", "tokens.v1.Authenticator",
                               "grpc.health.v1.Health"}) {
    EXPECT_EQ(services->count(expected), 1u) << expected;
  }
  // The feed's and the admin API are token-service's, never the sidecar's.
  EXPECT_EQ(services->count("tokens.v1.TokenSync"), 0u);
  EXPECT_EQ(services->count("tokens.v1.TokenService"), 0u);
  absl::StatusOr<bool> described =
      ReflectionDescribesMethod(channel, "envoy.service.auth.v3.Authorization",
                                "envoy/service/auth/v3/external_auth.proto", "Check");
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_TRUE(*described);
  described = ReflectionDescribesMethod(channel, "tokens.v1.Authenticator",
                                        "tokens/v1/authenticator.proto", "Authenticate");
  ASSERT_TRUE(described.ok()) << described.status();
  EXPECT_TRUE(*described);
}

TEST_F(SidecarE2eTest, ASidecarRefusesToStartWithoutAServiceToken) {
  absl::StatusOr<ChildProcess::Result> result = ChildProcess::Run(
      {SidecarBinary(), {"--listen", "127.0.0.1:0"}, {}, {"TOKEN_SIDECAR_SERVICE_TOKEN"}},
      std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->err, HasSubstr("--service_token"));

  result = ChildProcess::Run({SidecarBinary(),
                              {"--listen", "127.0.0.1:0"},
                              {{"TOKEN_SIDECAR_SERVICE_TOKEN", "utk_not-a-token"}},
                              {}},
                             std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->err, HasSubstr("--service_token"));
  EXPECT_THAT(result->err, Not(HasSubstr("not-a-token")));
}

TEST(SidecarHelpTest, HelpNeverPrintsTheServiceTokenFromTheEnvironment) {
  SystemRandom random;
  const std::string token = TokenCodec().Generate(random);
  absl::StatusOr<ChildProcess::Result> result = ChildProcess::Run(
      {SidecarBinary(), {"--helpfull"}, {{"TOKEN_SIDECAR_SERVICE_TOKEN", token}}, {}},
      std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->out + result->err, HasSubstr("service_token"));
  EXPECT_THAT(result->out + result->err, Not(HasSubstr(token.substr(4))));
}

TEST_F(SidecarE2eTest, AUserTokenCannotFeedASidecar) {
  // Only SERVICE users may open the feed: a sidecar given a USER token
  // never becomes ready and denies everything.
  const std::string user_token = NewUserWithToken("mallory", v1::USER);
  absl::StatusOr<std::unique_ptr<SidecarProcess>> sidecar =
      SidecarProcess::StartNotReady(service_->address(), user_token);
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  ASSERT_TRUE((*sidecar)
                  ->process()
                  .WaitForStderr("PERMISSION_DENIED|permission|SERVICE", std::chrono::seconds(60))
                  .ok())
      << (*sidecar)->process().Stderr();
  EXPECT_FALSE((*sidecar)->IsServing());
}

}  // namespace
}  // namespace tokens::testing
