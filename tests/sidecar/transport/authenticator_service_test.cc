#include "sidecar/transport/authenticator_service.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "common/grpc/peer_address.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/sidecar/transport/fake_verifier.h"
#include "tokens/v1/authenticator.grpc.pb.h"

namespace tokens::sidecar {
namespace {

using ::testing::_;
using testing::Allow;
using testing::Deny;
using ::testing::Eq;
using testing::kSampleTokenId;
using testing::LocalServer;
using testing::MockTokenVerifier;
using ::testing::Optional;
using ::testing::Return;

constexpr char kToken[] = "utk_3q8ZbXw0RkT2vLmN5pQs7YdHcJfG9aUe1iOo0z4Kx";
constexpr char kBearer[] = "Bearer utk_3q8ZbXw0RkT2vLmN5pQs7YdHcJfG9aUe1iOo0z4Kx";

// --- Pure conversions --------------------------------------------------------

TEST(DenialMessageTest, CodeThenSentence) {
  EXPECT_EQ(DenialMessage(DenyReason::kRevoked), "revoked: token revoked");
  EXPECT_EQ(DenialMessage(DenyReason::kUserDisabled), "user_disabled: user disabled");
}

TEST(PeerHostTest, IpOfEachPeerForm) {
  EXPECT_EQ(PeerHost("ipv4:127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(PeerHost("ipv4:10.1.2.3:443"), "10.1.2.3");
  EXPECT_EQ(PeerHost("ipv6:[::1]:5555"), "::1");
  EXPECT_EQ(PeerHost("ipv6:[2001:db8::7]:443"), "2001:db8::7");
  EXPECT_EQ(PeerHost("ipv6:%5B::1%5D:5555"), "::1");
  EXPECT_EQ(PeerHost("unix:/run/app.sock"), "");
  EXPECT_EQ(PeerHost(""), "");
  EXPECT_EQ(PeerHost("ipv6:::1"), "");
}

// --- The service over real gRPC ----------------------------------------------

class AuthenticatorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<LocalServer>(std::vector<grpc::Service*>{&service_});
    stub_ = v1::Authenticator::NewStub(server_->NewChannel());
  }

  grpc::Status Call(const v1::AuthenticateRequest& request, v1::AuthenticateResponse* response) {
    grpc::ClientContext ctx;
    return stub_->Authenticate(&ctx, request, response);
  }

  static v1::AuthenticateRequest Request(const std::string& authorization, const std::string& token,
                                         const std::string& client_address = "") {
    v1::AuthenticateRequest request;
    request.set_authorization(authorization);
    request.set_token(token);
    request.set_client_address(client_address);
    return request;
  }

  ::testing::StrictMock<MockTokenVerifier> verifier_;
  WorkerPool lookups_{2, 16};
  AuthenticatorService service_{verifier_, lookups_};
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<v1::Authenticator::Stub> stub_;
};

TEST_F(AuthenticatorServiceTest,
       ARequestThatIsNotUtf8OrNotARequestIsInvalidArgumentAndChecksNothing) {
  // The strict mock fails the test on any check. Field 2 (token) holding
  // bytes that are not UTF-8, which proto3 forbids; then bytes that are no
  // AuthenticateRequest at all (a field cut short).
  const std::string not_utf8 = std::string(
      "\x12\x03\xff\xfe"
      "a",
      5);
  const std::string cut_short = std::string(
      "\x12\x20"
      "ab",
      4);
  grpc::GenericStub stub(server_->NewChannel());
  for (const std::string& bytes : {not_utf8, cut_short}) {
    grpc::ClientContext ctx;
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    absl::Notification done;
    stub.UnaryCall(&ctx, "/tokens.v1.Authenticator/Authenticate", grpc::StubOptions(), &request,
                   &response, [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    if (bytes == not_utf8) {
      EXPECT_THAT(status.error_message(), ::testing::StartsWith("token: "));
    }
  }
}

TEST_F(AuthenticatorServiceTest, AllowAnswersThePrincipal) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("198.51.100.4")))
      .WillOnce(Return(Allow("alice", Role::kAdmin)));

  v1::AuthenticateResponse response;
  const grpc::Status status = Call(Request(kBearer, "", "198.51.100.4"), &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_id(), "alice");
  EXPECT_EQ(response.role(), v1::ADMIN);
  EXPECT_EQ(response.token_id(), kSampleTokenId);
  EXPECT_EQ(response.expires_on(), "2027-04-11");
  EXPECT_THAT(response.scopes(), ::testing::IsEmpty());
}

TEST_F(AuthenticatorServiceTest, AllowCarriesTheTokensScopesWhenItHasTheRequiredOnes) {
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(testing::AllowScoped({"things:read", "things:write"})));

  v1::AuthenticateRequest request = Request(kBearer, "");
  request.add_required_scopes("things:read");
  v1::AuthenticateResponse response;
  const grpc::Status status = Call(request, &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.expires_on(), "2027-04-11");
  EXPECT_THAT(response.scopes(), ::testing::ElementsAre("things:read", "things:write"));
}

TEST_F(AuthenticatorServiceTest, ATokenLackingARequiredScopeIsPermissionDeniedNamingIt) {
  EXPECT_CALL(verifier_, CheckToken(Eq(kToken), _))
      .WillOnce(Return(testing::AllowScoped({"things:read"})));

  v1::AuthenticateRequest request = Request("", kToken);
  request.add_required_scopes("things:read");
  request.add_required_scopes("things:write");
  v1::AuthenticateResponse response;
  const grpc::Status status = Call(request, &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "insufficient_scope: token lacks things:write");
}

TEST_F(AuthenticatorServiceTest, ATokenWithoutScopesHasEveryRequiredOne) {
  EXPECT_CALL(verifier_, CheckToken(Eq(kToken), _)).WillOnce(Return(Allow()));

  v1::AuthenticateRequest request = Request("", kToken);
  request.add_required_scopes("things:write");
  v1::AuthenticateResponse response;
  const grpc::Status status = Call(request, &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(response.scopes(), ::testing::IsEmpty());
}

TEST_F(AuthenticatorServiceTest, AnInvalidTokenIsUnauthenticatedWhateverTheRequiredScopes) {
  EXPECT_CALL(verifier_, CheckToken(Eq(kToken), _)).WillOnce(Return(Deny(DenyReason::kExpired)));

  v1::AuthenticateRequest request = Request("", kToken);
  request.add_required_scopes("things:write");
  v1::AuthenticateResponse response;
  EXPECT_EQ(Call(request, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(AuthenticatorServiceTest,
       ARequiredScopeThatIsNotAScopeNameIsInvalidArgumentAndChecksNothing) {
  // The strict mock fails the test on any check.
  for (const std::string& bad : {std::string("things:read things:write"), std::string(""),
                                 std::string(65, 's'), std::string("a\"b")}) {
    v1::AuthenticateRequest request = Request("", kToken);
    request.add_required_scopes("things:read");
    request.add_required_scopes(bad);
    v1::AuthenticateResponse response;
    const grpc::Status status = Call(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_THAT(status.error_message(), ::testing::StartsWith("required_scopes: ")) << bad;
  }
}

TEST_F(AuthenticatorServiceTest, TokenFieldWinsOverAuthorization) {
  EXPECT_CALL(verifier_, CheckToken(Eq(kToken), Eq("198.51.100.4")))
      .WillOnce(Return(Allow("bob", Role::kUser)));

  v1::AuthenticateResponse response;
  const grpc::Status status =
      Call(Request("Bearer utk_someoneelse", kToken, "198.51.100.4"), &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_id(), "bob");
  EXPECT_EQ(response.role(), v1::USER);
}

TEST_F(AuthenticatorServiceTest, NeitherFieldIsAnAbsentHeader) {
  EXPECT_CALL(verifier_, CheckHeader(Eq(std::nullopt), _))
      .WillOnce(Return(Deny(DenyReason::kMissing)));

  v1::AuthenticateResponse response;
  const grpc::Status status = Call(Request("", ""), &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "missing: missing bearer token");
}

TEST_F(AuthenticatorServiceTest, ClientAddressFallsBackToThePeer) {
  // The stub dialled 127.0.0.1, so that is the peer the server sees.
  EXPECT_CALL(verifier_, CheckToken(Eq(kToken), Eq("127.0.0.1"))).WillOnce(Return(Allow()));

  v1::AuthenticateResponse response;
  EXPECT_TRUE(Call(Request("", kToken), &response).ok());
}

TEST_F(AuthenticatorServiceTest, CacheMissIsAnsweredFromALookupThread) {
  verifier_.set_misses(true);
  EXPECT_CALL(verifier_, CheckToken(Eq("utk_token"), Eq("198.51.100.4")))
      .WillOnce(Return(Allow("bob", Role::kUser)));

  v1::AuthenticateResponse response;
  const grpc::Status status = Call(Request("", "utk_token", "198.51.100.4"), &response);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.user_id(), "bob");
  EXPECT_EQ(verifier_.unresolved(), 0);
}

class AuthenticatorDenyTest : public AuthenticatorServiceTest,
                              public ::testing::WithParamInterface<DenyReason> {};

TEST_P(AuthenticatorDenyTest, DenyIsUnauthenticatedWithCodeAndSentence) {
  const DenyReason reason = GetParam();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Deny(reason)));

  v1::AuthenticateResponse response;
  const grpc::Status status = Call(Request(kBearer, ""), &response);

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const std::string message = status.error_message();
  const size_t colon = message.find(':');
  ASSERT_NE(colon, std::string::npos) << message;
  EXPECT_EQ(message.substr(0, colon), DenyReasonCode(reason));
  EXPECT_EQ(message.substr(colon + 2), DenyReasonMessage(reason));
  EXPECT_EQ(message.find(kToken), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(EachReason, AuthenticatorDenyTest,
                         ::testing::ValuesIn(testing::AllDenyReasons()), testing::ReasonName);

}  // namespace
}  // namespace tokens::sidecar
