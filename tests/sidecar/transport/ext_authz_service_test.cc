#include "sidecar/transport/ext_authz_service.h"

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::sidecar {
namespace {

using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::Authorization;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using ::testing::_;
using testing::Allow;
using testing::Deny;
using ::testing::Eq;
using ::testing::IsEmpty;
using testing::kSampleTokenId;
using testing::LocalServer;
using testing::MockTokenVerifier;
using ::testing::Optional;
using ::testing::Return;

constexpr char kBearer[] = "Bearer utk_3q8ZbXw0RkT2vLmN5pQs7YdHcJfG9aUe1iOo0z4Kx";

CheckRequest RequestWithHeaders(std::initializer_list<std::pair<std::string, std::string>> headers,
                                const std::string& source_ip = "203.0.113.7") {
  CheckRequest request;
  auto* attributes = request.mutable_attributes();
  if (!source_ip.empty()) {
    attributes->mutable_source()->mutable_address()->mutable_socket_address()->set_address(
        source_ip);
  }
  auto* map = attributes->mutable_request()->mutable_http()->mutable_headers();
  for (const auto& [key, value] : headers) (*map)[key] = value;
  return request;
}

// The option that sets `key`, failing the test unless there is exactly one.
const HeaderValueOption* FindOption(
    const google::protobuf::RepeatedPtrField<HeaderValueOption>& options, const std::string& key) {
  const HeaderValueOption* found = nullptr;
  for (const HeaderValueOption& option : options) {
    if (option.header().key() != key) continue;
    EXPECT_EQ(found, nullptr) << "two options for " << key;
    found = &option;
  }
  EXPECT_NE(found, nullptr) << "no option for " << key;
  return found;
}

// --- FindAuthorization -------------------------------------------------------

TEST(FindAuthorizationTest, AbsentIsNullopt) {
  EXPECT_EQ(FindAuthorization(RequestWithHeaders({{":path", "/"}})), std::nullopt);
  EXPECT_EQ(FindAuthorization(CheckRequest()), std::nullopt);
}

TEST(FindAuthorizationTest, KeyIsMatchedCaseInsensitively) {
  EXPECT_THAT(FindAuthorization(RequestWithHeaders({{"Authorization", kBearer}})),
              Optional(Eq(kBearer)));
  EXPECT_THAT(FindAuthorization(RequestWithHeaders({{"AUTHORIZATION", kBearer}})),
              Optional(Eq(kBearer)));
}

TEST(FindAuthorizationTest, PresentButEmptyIsEmptyNotNullopt) {
  EXPECT_THAT(FindAuthorization(RequestWithHeaders({{"authorization", ""}})), Optional(Eq("")));
}

TEST(FindAuthorizationTest, SeveralHeadersAreEmptyRatherThanOnePicked) {
  CheckRequest request = RequestWithHeaders({{"authorization", kBearer}});
  auto* raw = request.mutable_attributes()
                  ->mutable_request()
                  ->mutable_http()
                  ->mutable_header_map()
                  ->add_headers();
  raw->set_key("authorization");
  raw->set_raw_value("Bearer other");
  EXPECT_THAT(FindAuthorization(request), Optional(Eq("")));

  EXPECT_THAT(
      FindAuthorization(RequestWithHeaders({{"authorization", kBearer}, {"Authorization", "x"}})),
      Optional(Eq("")));
}

TEST(FindAuthorizationTest, HeaderMapValueWinsOverRawValue) {
  CheckRequest request;
  auto* header = request.mutable_attributes()
                     ->mutable_request()
                     ->mutable_http()
                     ->mutable_header_map()
                     ->add_headers();
  header->set_key("authorization");
  header->set_value(kBearer);
  header->set_raw_value("Bearer raw");
  EXPECT_THAT(FindAuthorization(request), Optional(Eq(kBearer)));
}

TEST(ClientAddressTest, FromSourceSocketAddressOrEmpty) {
  EXPECT_EQ(ClientAddress(RequestWithHeaders({}, "2001:db8::1")), "2001:db8::1");
  EXPECT_EQ(ClientAddress(RequestWithHeaders({}, "")), "");
}

// A request on a route whose context_extensions["required_scopes"] is `required`.
CheckRequest OnRoute(const std::string& required, CheckRequest request) {
  (*request.mutable_attributes()->mutable_context_extensions())["required_scopes"] = required;
  return request;
}

TEST(RequiredScopesTest, AbsentOrEmptyRequiresNothing) {
  EXPECT_THAT(RequiredScopes(CheckRequest()).required, IsEmpty());
  EXPECT_FALSE(RequiredScopes(CheckRequest()).misconfigured);
  CheckRequest other;
  (*other.mutable_attributes()->mutable_context_extensions())["virtual_host"] = "api";
  EXPECT_THAT(RequiredScopes(other).required, IsEmpty());
  EXPECT_THAT(RequiredScopes(OnRoute("  ", CheckRequest())).required, IsEmpty());
  EXPECT_FALSE(RequiredScopes(OnRoute("  ", CheckRequest())).misconfigured);
}

TEST(RequiredScopesTest, SpaceSeparatedNames) {
  const RouteScopes route = RequiredScopes(OnRoute(" things:read  things:write ", CheckRequest()));
  EXPECT_THAT(route.required, ::testing::ElementsAre("things:read", "things:write"));
  EXPECT_FALSE(route.misconfigured);
}

TEST(RequiredScopesTest, ANameThatIsNotAScopeNameIsMisconfigured) {
  for (const std::string& value :
       std::vector<std::string>{"things:read,things:write", "things:read \"x\"", "caf\xc3\xa9",
                                std::string(65, 's'), "a\nb"}) {
    EXPECT_TRUE(RequiredScopes(OnRoute(value, CheckRequest())).misconfigured) << value;
  }
}

TEST(AllowedOnTest, AuthenticationFirstThenScopesAndATokenWithoutScopesHasThemAll) {
  const RouteScopes read{{"things:read"}, false};
  const RouteScopes write{{"things:write"}, false};
  const RouteScopes broken{{"a,b"}, true};
  EXPECT_TRUE(AllowedOn(testing::AllowScoped({"things:read"}), read));
  EXPECT_FALSE(AllowedOn(testing::AllowScoped({"things:read"}), write));
  EXPECT_TRUE(AllowedOn(Allow(), read));
  EXPECT_TRUE(AllowedOn(Allow(), write));
  EXPECT_TRUE(AllowedOn(testing::AllowScoped({"things:read"}), RouteScopes{}));
  EXPECT_FALSE(AllowedOn(Deny(DenyReason::kExpired), RouteScopes{}));
  EXPECT_FALSE(AllowedOn(Allow(), broken));
}

// --- The service over real gRPC ----------------------------------------------

class ExtAuthzServiceTest : public ::testing::Test {
 protected:
  void Start(ExtAuthzOptions options = {}) {
    service_ = std::make_unique<ExtAuthzService>(verifier_, lookups_, options);
    server_ = std::make_unique<LocalServer>(std::vector<grpc::Service*>{service_.get()});
    stub_ = Authorization::NewStub(server_->NewChannel());
  }

  CheckResponse Check(const CheckRequest& request) {
    grpc::ClientContext ctx;
    CheckResponse response;
    const grpc::Status status = stub_->Check(&ctx, request, &response);
    // A denial is an answer, never a failed RPC.
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response;
  }

  ::testing::StrictMock<MockTokenVerifier> verifier_;
  WorkerPool lookups_{1, 1};
  std::unique_ptr<ExtAuthzService> service_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<Authorization::Stub> stub_;
};

TEST_F(ExtAuthzServiceTest, AllowSetsIdentityHeadersAndRemovesAuthorization) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("203.0.113.7")))
      .WillOnce(Return(Allow("alice", Role::kService)));

  const CheckResponse response = Check(RequestWithHeaders({{"authorization", kBearer}}));

  EXPECT_EQ(response.status().code(), 0);
  ASSERT_TRUE(response.has_ok_response());
  const auto& headers = response.ok_response().headers();
  EXPECT_EQ(headers.size(), 4);
  const std::pair<std::string, std::string> expected[] = {
      {"x-auth-user-id", "alice"},
      {"x-auth-user-role", "SERVICE"},
      {"x-auth-token-id", kSampleTokenId},
      {"x-auth-token-expires-on", "2027-04-11"}};
  for (const auto& [key, value] : expected) {
    const HeaderValueOption* option = FindOption(headers, key);
    ASSERT_NE(option, nullptr);
    EXPECT_EQ(option->header().value(), value);
    EXPECT_EQ(option->append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD) << key;
    EXPECT_TRUE(option->has_append()) << key;
    EXPECT_FALSE(option->append().value()) << key;
  }
  // No scopes: full access, and a client's own x-auth-token-scopes removed.
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              ::testing::ElementsAre("authorization", "x-auth-token-scopes"));
  const auto& to_client = response.ok_response().response_headers_to_add();
  ASSERT_EQ(to_client.size(), 1);
  EXPECT_EQ(to_client[0].header().key(), "x-token-expires-on");
  EXPECT_EQ(to_client[0].header().value(), "2027-04-11");
  EXPECT_EQ(to_client[0].append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
}

TEST_F(ExtAuthzServiceTest, ClientSuppliedIdentityHeaderIsOverwritten) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Allow("alice")));

  const CheckResponse response = Check(RequestWithHeaders(
      {{"authorization", kBearer}, {"x-auth-user-id", "mallory"}, {"x-auth-user-role", "ADMIN"}}));

  const HeaderValueOption* user = FindOption(response.ok_response().headers(), "x-auth-user-id");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->header().value(), "alice");
  EXPECT_EQ(user->append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  EXPECT_FALSE(user->append().value());
  for (const HeaderValueOption& option : response.ok_response().headers()) {
    EXPECT_NE(option.header().value(), "mallory");
  }
}

TEST_F(ExtAuthzServiceTest, RemoveAuthorizationOffKeepsTheHeader) {
  Start({/*remove_authorization=*/false});
  EXPECT_CALL(verifier_, CheckHeader(_, _)).WillOnce(Return(Allow()));

  const CheckResponse response = Check(RequestWithHeaders({{"authorization", kBearer}}));

  ASSERT_TRUE(response.has_ok_response());
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              ::testing::ElementsAre("x-auth-token-scopes"));
  EXPECT_EQ(response.ok_response().headers().size(), 4);
}

TEST_F(ExtAuthzServiceTest, AnAbsentHeaderReachesTheVerifierAsSuchAndAnAbsentSourceAsThePeer) {
  Start();
  // The test dialled 127.0.0.1: the peer the server sees, and the client
  // the check counts against when the request names none (ChooseClientAddress).
  EXPECT_CALL(verifier_, CheckHeader(Eq(std::nullopt), Eq("127.0.0.1")))
      .WillOnce(Return(Deny(DenyReason::kMissing)));

  const CheckResponse response = Check(RequestWithHeaders({{":path", "/"}}, ""));

  EXPECT_EQ(response.status().code(), 16);
  ASSERT_TRUE(response.has_denied_response());
  const HeaderValueOption* challenge =
      FindOption(response.denied_response().headers(), "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->header().value(), R"(Bearer error="invalid_token")");
}

TEST_F(ExtAuthzServiceTest, RawHeaderMapReachesTheVerifier) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("203.0.113.7")))
      .WillOnce(Return(Allow()));
  CheckRequest request = RequestWithHeaders({});
  auto* header = request.mutable_attributes()
                     ->mutable_request()
                     ->mutable_http()
                     ->mutable_header_map()
                     ->add_headers();
  header->set_key("authorization");
  header->set_raw_value(kBearer);

  EXPECT_TRUE(Check(request).has_ok_response());
}

TEST_F(ExtAuthzServiceTest, CacheMissIsAnsweredFromALookupThread) {
  Start();
  verifier_.set_misses(true);
  std::thread::id checked_on;
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), Eq("203.0.113.7")))
      .WillOnce([&](std::optional<absl::string_view>, absl::string_view) {
        checked_on = std::this_thread::get_id();
        return Allow("alice", Role::kUser);
      });

  const CheckResponse response = Check(RequestWithHeaders({{"authorization", kBearer}}));

  EXPECT_EQ(response.status().code(), 0);
  const HeaderValueOption* user = FindOption(response.ok_response().headers(), "x-auth-user-id");
  ASSERT_NE(user, nullptr);
  EXPECT_EQ(user->header().value(), "alice");
  // The waiting check ran on the pool's thread, which is still there.
  std::thread::id pool_thread;
  absl::Notification ran;
  ASSERT_TRUE(lookups_.TrySchedule([&] {
    pool_thread = std::this_thread::get_id();
    ran.Notify();
  }));
  ran.WaitForNotification();
  EXPECT_EQ(checked_on, pool_thread);
  EXPECT_EQ(verifier_.unresolved(), 0);
}

TEST_F(ExtAuthzServiceTest, CacheMissWhenEveryLookupThreadIsBusyIsDeniedAtOnce) {
  Start();
  verifier_.set_misses(true);
  // The one lookup thread is busy and the one queue place taken.
  absl::Notification busy;
  absl::Notification release;
  absl::Notification finished;  // so that `release` outlives its waiter
  ASSERT_TRUE(lookups_.TrySchedule([&] {
    busy.Notify();
    release.WaitForNotification();
    finished.Notify();
  }));
  busy.WaitForNotification();
  ASSERT_TRUE(lookups_.TrySchedule([] {}));

  // No CheckHeader expected: nothing waits for a lookup.
  const CheckResponse response = Check(RequestWithHeaders({{"authorization", kBearer}}));

  EXPECT_EQ(response.status().code(), 16);  // UNAUTHENTICATED
  EXPECT_EQ(response.status().message(), DenyReasonMessage(DenyReason::kUnknown));
  EXPECT_EQ(verifier_.unresolved(), 1);
  EXPECT_EQ(lookups_.stats().rejected, 1u);
  release.Notify();
  finished.WaitForNotification();
}

TEST_F(ExtAuthzServiceTest, ABodyThatIsNotACheckRequestIsInvalidArgument) {
  Start();
  // No verifier call expected: nothing to check.
  grpc::GenericStub generic(server_->NewChannel());
  grpc::ClientContext ctx;
  grpc::Slice slice(std::string("\xff\xff\xff\xff not protobuf"));
  const grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/envoy.service.auth.v3.Authorization/Check", grpc::StubOptions(),
                    &request, &response,
                    [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), ::testing::HasSubstr("CheckRequest"));
}

TEST_F(ExtAuthzServiceTest, ATokenWithTheRequiredScopeIsAllowedWithItsScopesUpstream) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(testing::AllowScoped({"things:read", "things:write"})));

  const CheckResponse response = Check(OnRoute(
      "things:read",
      RequestWithHeaders({{"authorization", kBearer}, {"x-auth-token-scopes", "admin:all"}})));

  EXPECT_EQ(response.status().code(), 0);
  const HeaderValueOption* scopes =
      FindOption(response.ok_response().headers(), "x-auth-token-scopes");
  ASSERT_NE(scopes, nullptr);
  // Overwrites what the client sent under that name.
  EXPECT_EQ(scopes->header().value(), "things:read things:write");
  EXPECT_EQ(scopes->append_action(), HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  EXPECT_FALSE(scopes->append().value());
  EXPECT_THAT(response.ok_response().headers_to_remove(), ::testing::ElementsAre("authorization"));
}

TEST_F(ExtAuthzServiceTest, ATokenWithoutScopesHasFullAccessAndASmuggledScopesHeaderIsRemoved) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Allow()));

  const CheckResponse response = Check(OnRoute(
      "things:read things:write",
      RequestWithHeaders({{"authorization", kBearer}, {"x-auth-token-scopes", "things:read"}})));

  EXPECT_EQ(response.status().code(), 0);
  for (const HeaderValueOption& option : response.ok_response().headers()) {
    EXPECT_NE(option.header().key(), "x-auth-token-scopes");
  }
  EXPECT_THAT(response.ok_response().headers_to_remove(),
              ::testing::ElementsAre("authorization", "x-auth-token-scopes"));
}

TEST_F(ExtAuthzServiceTest, ATokenLackingARequiredScopeIs403InsufficientScope) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(testing::AllowScoped({"things:read"})));

  const CheckResponse response = Check(OnRoute("things:read things:write things:delete",
                                               RequestWithHeaders({{"authorization", kBearer}})));

  EXPECT_EQ(response.status().code(), 7);  // PERMISSION_DENIED
  EXPECT_EQ(response.status().message(),
            "insufficient_scope: token lacks things:write things:delete");
  EXPECT_FALSE(response.has_ok_response());
  ASSERT_TRUE(response.has_denied_response());
  const auto& denied = response.denied_response();
  EXPECT_EQ(denied.status().code(), envoy::type::v3::Forbidden);
  const HeaderValueOption* challenge = FindOption(denied.headers(), "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->header().value(),
            R"(Bearer error="insufficient_scope", scope="things:read things:write things:delete")");
  const HeaderValueOption* content_type = FindOption(denied.headers(), "content-type");
  ASSERT_NE(content_type, nullptr);
  EXPECT_EQ(content_type->header().value(), "application/json");
  EXPECT_EQ(denied.body(),
            R"({"error":"insufficient_scope","reason":"insufficient_scope",)"
            R"("message":"insufficient_scope: token lacks things:write things:delete",)"
            R"("missing_scopes":"things:write things:delete"})");
}

TEST_F(ExtAuthzServiceTest, AnInvalidTokenIsStill401OnARouteThatRequiresScopes) {
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(Deny(DenyReason::kRevoked)));

  const CheckResponse response =
      Check(OnRoute("things:write", RequestWithHeaders({{"authorization", kBearer}})));

  EXPECT_EQ(response.status().code(), 16);
  EXPECT_EQ(response.denied_response().status().code(), envoy::type::v3::Unauthorized);
  const HeaderValueOption* challenge =
      FindOption(response.denied_response().headers(), "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->header().value(), R"(Bearer error="invalid_token")");
}

TEST_F(ExtAuthzServiceTest, AMissAnsweredAfterALookupIsHeldToTheRouteScopesToo) {
  Start();
  verifier_.set_misses(true);
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _))
      .WillOnce(Return(testing::AllowScoped({"things:read"})));

  const CheckResponse response =
      Check(OnRoute("things:write", RequestWithHeaders({{"authorization", kBearer}})));

  EXPECT_EQ(response.status().code(), 7);
  EXPECT_EQ(response.denied_response().status().code(), envoy::type::v3::Forbidden);
}

TEST_F(ExtAuthzServiceTest, AMisconfiguredRouteAllowsNothingAndAsksNoVerifier) {
  Start();
  // StrictMock: no CheckHeader expected; a valid token would not pass either.
  for (int i = 0; i < 2; ++i) {
    const CheckResponse response = Check(
        OnRoute("things:read,things:write", RequestWithHeaders({{"authorization", kBearer}})));

    EXPECT_EQ(response.status().code(), 13);  // INTERNAL
    EXPECT_FALSE(response.has_ok_response());
    ASSERT_TRUE(response.has_denied_response());
    EXPECT_EQ(response.denied_response().status().code(), envoy::type::v3::InternalServerError);
    EXPECT_EQ(response.denied_response().body(),
              R"({"error":"server_error","reason":"misconfigured_route",)"
              R"("message":"misconfigured_route: the route's required_scopes is not a list of )"
              R"(scope names"})");
  }
}

TEST(ExtAuthzMisconfiguredTest, AMisconfiguredRouteDeniesEvenAnAllowedVerdict) {
  const CheckResponse response =
      ToCheckResponse(Allow(), {}, RouteScopes{{"things:read,things:write"}, true});
  EXPECT_EQ(response.status().code(), 13);
  EXPECT_FALSE(response.has_ok_response());
}

class ExtAuthzDenyTest : public ExtAuthzServiceTest,
                         public ::testing::WithParamInterface<DenyReason> {};

TEST_P(ExtAuthzDenyTest, DenyIs401WithChallengeAndJsonReason) {
  const DenyReason reason = GetParam();
  Start();
  EXPECT_CALL(verifier_, CheckHeader(Optional(Eq(kBearer)), _)).WillOnce(Return(Deny(reason)));

  const CheckResponse response = Check(RequestWithHeaders({{"authorization", kBearer}}));

  EXPECT_EQ(response.status().code(), 16);  // UNAUTHENTICATED
  EXPECT_EQ(response.status().message(), DenyReasonMessage(reason));
  EXPECT_FALSE(response.has_ok_response());
  ASSERT_TRUE(response.has_denied_response());
  const auto& denied = response.denied_response();
  EXPECT_EQ(denied.status().code(), envoy::type::v3::Unauthorized);

  const HeaderValueOption* challenge = FindOption(denied.headers(), "www-authenticate");
  ASSERT_NE(challenge, nullptr);
  EXPECT_EQ(challenge->header().value(), R"(Bearer error="invalid_token")");
  const HeaderValueOption* content_type = FindOption(denied.headers(), "content-type");
  ASSERT_NE(content_type, nullptr);
  EXPECT_EQ(content_type->header().value(), "application/json");

  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(denied.body(), &body).ok())
      << denied.body();
  const auto& fields = body.fields();
  ASSERT_EQ(fields.count("reason"), 1u) << denied.body();
  EXPECT_EQ(fields.at("reason").string_value(), DenyReasonCode(reason));
  ASSERT_EQ(fields.count("message"), 1u) << denied.body();
  EXPECT_EQ(fields.at("message").string_value(), DenyReasonMessage(reason));
  ASSERT_EQ(fields.count("error"), 1u) << denied.body();
  EXPECT_EQ(fields.at("error").string_value(), "invalid_token");
  // The body explains; it never echoes the credential.
  EXPECT_EQ(denied.body().find("utk_"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(EachReason, ExtAuthzDenyTest,
                         ::testing::ValuesIn(testing::AllDenyReasons()), testing::ReasonName);

}  // namespace
}  // namespace tokens::sidecar
