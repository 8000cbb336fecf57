// Expiry and scopes in band, end to end: the real token-sidecar fed by the
// real token-service (with a scope catalogue) over a private PostgreSQL;
// Envoy's Check (with the per-route context_extensions Envoy sends) and
// Authenticate over real gRPC.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/sidecar/sidecar_fixture.h"

namespace tokens::testing {
namespace {

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kPermissionDenied = 7;
constexpr char kCatalogue[] = "--token_scopes=things:read,things:write";

// A counter or gauge of the sidecar's Prometheus endpoint; -1 if absent.
double Metric(const SidecarProcess& sidecar, const std::string& name) {
  httplib::Client client(absl::StrCat("http://", sidecar.metrics_address()));
  client.set_read_timeout(10, 0);
  httplib::Result res = client.Get("/metrics");
  if (!res || res->status != 200) return -1;
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (!absl::ConsumePrefix(&line, name + " ")) continue;
    double value = 0;
    if (absl::SimpleAtod(line, &value)) return value;
  }
  return -1;
}

class ScopesE2eTest : public SidecarTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SidecarTest::SetUp());
    // The demo's catalogue; the sidecar follows the restarted token-service.
    sidecar_.reset();
    ASSERT_NO_FATAL_FAILURE(RestartService({kCatalogue}));
    sidecar_ = StartSidecar();
    ASSERT_NE(sidecar_, nullptr);
    alice_ = NewUserWithToken("alice", v1::USER);
  }

  v1::CreateTokenResponse MustCreateWith(const std::vector<std::string>& scopes,
                                         const std::string& name, int days_ahead = 30) {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(DateFromToday(days_ahead));
    for (const std::string& scope : scopes) request.add_scopes(scope);
    v1::CreateTokenResponse created;
    const grpc::Status status = tokens_->CreateToken(As(alice_).get(), request, &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  }

  // Envoy's Check on a route whose context_extensions["required_scopes"] is
  // `required` (none when empty).
  CheckResponse CheckOnRoute(const std::string& token, const std::string& required,
                             SidecarProcess* sidecar = nullptr) {
    if (sidecar == nullptr) sidecar = sidecar_.get();
    auto stub = envoy::service::auth::v3::Authorization::NewStub(sidecar->NewChannel());
    CheckRequest request;
    auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
    http->set_method("GET");
    http->set_path("/things");
    (*http->mutable_headers())["authorization"] = "Bearer " + token;
    // What a client might send to pass for scoped: removed or overwritten.
    (*http->mutable_headers())["x-auth-token-scopes"] = "things:read things:write";
    if (!required.empty()) {
      (*request.mutable_attributes()->mutable_context_extensions())["required_scopes"] = required;
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    CheckResponse response;
    const grpc::Status status = stub->Check(&ctx, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status AuthenticateWith(const std::string& token, const std::vector<std::string>& required,
                                v1::AuthenticateResponse* response) {
    v1::AuthenticateRequest request;
    request.set_token(token);
    for (const std::string& scope : required) request.add_required_scopes(scope);
    return Authenticate(request, response);
  }

  static std::string ClientHeader(const CheckResponse& response, const std::string& name) {
    for (const auto& option : response.ok_response().response_headers_to_add()) {
      if (option.header().key() == name) return option.header().value();
    }
    return "";
  }

  static std::string DeniedHeader(const CheckResponse& response, const std::string& name) {
    for (const auto& option : response.denied_response().headers()) {
      if (option.header().key() == name) return option.header().value();
    }
    return "";
  }

  std::string alice_;
};

TEST_F(ScopesE2eTest, AnAllowedCheckTellsTheUpstreamAndTheClientWhenTheTokenExpires) {
  const v1::CreateTokenResponse created = MustCreateWith({}, "expiring", 2);
  ASSERT_EQ(created.token().expires_on(), DateFromToday(2));

  const CheckResponse response = CheckOnRoute(created.secret(), "");

  ASSERT_TRUE(response.has_ok_response()) << response.DebugString();
  EXPECT_EQ(UpstreamHeader(response, "x-auth-token-expires-on"), DateFromToday(2));
  EXPECT_EQ(ClientHeader(response, "x-token-expires-on"), DateFromToday(2));
  EXPECT_EQ(response.ok_response().response_headers_to_add_size(), 1);
}

TEST_F(ScopesE2eTest, AThingsReadTokenPassesWhereThingsReadIsRequiredAndIs403WhereThingsWriteIs) {
  const v1::CreateTokenResponse reader = MustCreateWith({"things:read"}, "reader");

  const CheckResponse read = CheckOnRoute(reader.secret(), "things:read");
  ASSERT_TRUE(read.has_ok_response()) << read.DebugString();
  EXPECT_EQ(UpstreamHeader(read, "x-auth-token-scopes"), "things:read");
  EXPECT_EQ(UpstreamHeader(read, "x-auth-token-id"), reader.token().id());

  const CheckResponse write = CheckOnRoute(reader.secret(), "things:write");
  EXPECT_FALSE(write.has_ok_response());
  EXPECT_EQ(write.status().code(), kPermissionDenied);
  EXPECT_EQ(write.denied_response().status().code(), 403);
  EXPECT_EQ(DeniedHeader(write, "www-authenticate"),
            R"(Bearer error="insufficient_scope", scope="things:write")");
  EXPECT_EQ(DeniedReason(write), "insufficient_scope");
  EXPECT_THAT(write.denied_response().body(), HasSubstr(R"("missing_scopes":"things:write")"));
  EXPECT_THAT(write.denied_response().body(), Not(HasSubstr(reader.secret())));
}

TEST_F(ScopesE2eTest, ATokenWithoutScopesKeepsItsUsersFullAccessAndNoScopesHeaderGoesUp) {
  const v1::CreateTokenResponse full = MustCreateWith({}, "full");

  for (const char* required : {"things:read", "things:write", "things:read things:write"}) {
    SCOPED_TRACE(required);
    const CheckResponse response = CheckOnRoute(full.secret(), required);
    ASSERT_TRUE(response.has_ok_response()) << response.DebugString();
    EXPECT_EQ(UpstreamHeader(response, "x-auth-token-scopes"), "");
    EXPECT_THAT(response.ok_response().headers_to_remove(),
                ::testing::Contains("x-auth-token-scopes"));
  }
}

TEST_F(ScopesE2eTest, AnInvalidTokenIsStill401AndAMisconfiguredRouteLetsNothingThrough) {
  const v1::CreateTokenResponse full = MustCreateWith({}, "full");
  SystemRandom random;
  const CheckResponse unknown = CheckOnRoute(TokenCodec().Generate(random), "things:write");
  EXPECT_EQ(unknown.denied_response().status().code(), 401);
  EXPECT_EQ(DeniedReason(unknown), "unknown");

  const CheckResponse misconfigured = CheckOnRoute(full.secret(), "things:read,things:write");
  EXPECT_FALSE(misconfigured.has_ok_response());
  EXPECT_EQ(misconfigured.denied_response().status().code(), 500);
  EXPECT_EQ(DeniedReason(misconfigured), "misconfigured_route");
  // Logged once for the value, however many checks hit the route.
  EXPECT_FALSE(CheckOnRoute(full.secret(), "things:read,things:write").has_ok_response());
  ASSERT_TRUE(Eventually([&] {
    return sidecar_->process().Stderr().find("misconfigured route") != std::string::npos;
  }));
  const std::string log = sidecar_->process().Stderr();
  size_t lines = 0;
  for (size_t at = log.find("misconfigured route"); at != std::string::npos;
       at = log.find("misconfigured route", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  EXPECT_THAT(log, HasSubstr("things:read,things:write"));
  EXPECT_THAT(log, Not(HasSubstr(full.secret())));
}

TEST_F(ScopesE2eTest, AuthenticateHoldsATokenToTheRequiredScopes) {
  const v1::CreateTokenResponse reader = MustCreateWith({"things:read"}, "reader");
  const v1::CreateTokenResponse full = MustCreateWith({}, "full");

  v1::AuthenticateResponse principal;
  grpc::Status status = AuthenticateWith(reader.secret(), {"things:read"}, &principal);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(principal.scopes(), ElementsAre("things:read"));
  EXPECT_EQ(principal.expires_on(), reader.token().expires_on());

  v1::AuthenticateResponse denied;
  status = AuthenticateWith(reader.secret(), {"things:read", "things:write"}, &denied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), StartsWith("insufficient_scope"));
  EXPECT_THAT(status.error_message(), HasSubstr("things:write"));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("things:read")));

  v1::AuthenticateResponse everything;
  status = AuthenticateWith(full.secret(), {"things:read", "things:write"}, &everything);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(everything.scopes(), IsEmpty());

  v1::AuthenticateResponse invalid;
  status = AuthenticateWith(full.secret(), {"things:write", "things write"}, &invalid);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), StartsWith("required_scopes"));
}

TEST_F(ScopesE2eTest, ScopesReachTheSidecarThroughTheSnapshotAndTheDelta) {
  // Before the sidecar starts: in its snapshot.
  const v1::CreateTokenResponse before = MustCreateWith({"things:read", "things:write"}, "before");
  std::unique_ptr<SidecarProcess> fresh = StartSidecar();
  ASSERT_NE(fresh, nullptr);
  ASSERT_EQ(Metric(*fresh, "token_sidecar_sync_snapshots_total"), 1);
  const double cached = Metric(*fresh, "token_sidecar_cache_tokens");
  ASSERT_GT(cached, 0);

  // After: in a delta, which the cache holds before any check asks.
  const v1::CreateTokenResponse after = MustCreateWith({"things:write"}, "after");
  ASSERT_TRUE(
      Eventually([&] { return Metric(*fresh, "token_sidecar_cache_tokens") == cached + 1; }));

  const CheckResponse from_snapshot = CheckOnRoute(before.secret(), "things:write", fresh.get());
  ASSERT_TRUE(from_snapshot.has_ok_response()) << from_snapshot.DebugString();
  EXPECT_EQ(UpstreamHeader(from_snapshot, "x-auth-token-scopes"), "things:read things:write");
  const CheckResponse from_delta = CheckOnRoute(after.secret(), "things:write", fresh.get());
  ASSERT_TRUE(from_delta.has_ok_response()) << from_delta.DebugString();
  EXPECT_EQ(UpstreamHeader(from_delta, "x-auth-token-scopes"), "things:write");
  EXPECT_EQ(CheckOnRoute(after.secret(), "things:read", fresh.get()).status().code(),
            kPermissionDenied);
  // Both from the feed: no check needed LookupToken.
  EXPECT_EQ(Metric(*fresh, "token_sidecar_lookups_total"), 0);
}

TEST_F(ScopesE2eTest, ScopesReachTheSidecarThroughLookupToken) {
  // A token the feed does not carry: written without the change feed's
  // trigger (so no NOTIFY) while token-service polls only hourly, so the
  // sidecar can learn of it only by LookupToken on its first check.
  sidecar_.reset();
  ASSERT_NO_FATAL_FAILURE(RestartService({kCatalogue, "--sync_poll_interval=1h"}));
  sidecar_ = StartSidecar();
  ASSERT_NE(sidecar_, nullptr);
  SystemRandom random;
  const std::string secret = TokenCodec().Generate(random);
  const std::string hash = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(TokenCodec::Hash(secret).data()), 32));
  Sql(absl::StrCat(
      "SET session_replication_role = replica;"
      "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on, scopes,"
      "                    version)"
      " VALUES (gen_random_uuid(), 'alice', 'written behind the feed', decode('",
      hash,
      "', 'hex'), 'utk_test…0000', now(), current_date + 30, '{things:read}',"
      "         nextval('change_version_seq'));"
      "SET session_replication_role = DEFAULT"));
  ASSERT_EQ(Metric(*sidecar_, "token_sidecar_lookups_total"), 0);

  const CheckResponse read = CheckOnRoute(secret, "things:read");
  ASSERT_TRUE(read.has_ok_response()) << read.DebugString();
  EXPECT_EQ(UpstreamHeader(read, "x-auth-token-scopes"), "things:read");
  EXPECT_EQ(Metric(*sidecar_, "token_sidecar_lookups_total"), 1);
  // Now cached, with its scopes, without another lookup.
  EXPECT_EQ(CheckOnRoute(secret, "things:write").status().code(), kPermissionDenied);
  v1::AuthenticateResponse principal;
  ASSERT_TRUE(AuthenticateWith(secret, {}, &principal).ok());
  EXPECT_THAT(principal.scopes(), ElementsAre("things:read"));
  EXPECT_EQ(Metric(*sidecar_, "token_sidecar_lookups_total"), 1);
}

TEST_F(ScopesE2eTest, TheExampleServiceRequiresItsScopesThroughTheClientLibrary) {
  const v1::CreateTokenResponse reader = MustCreateWith({"things:read"}, "reader");
  const v1::CreateTokenResponse writer = MustCreateWith({"things:write"}, "writer");
  const v1::CreateTokenResponse full = MustCreateWith({}, "full");
  for (const std::string api : {"sync", "callback"}) {
    SCOPED_TRACE(api);
    absl::StatusOr<std::unique_ptr<ChildProcess>> echo =
        ChildProcess::Spawn({EchoServiceBinary(),
                             {"--listen", "127.0.0.1:0", "--sidecar", sidecar_->address(), "--api",
                              api, "--required_scopes", "things:read", "--sidecar_timeout", "30s"},
                             {},
                             {}});
    ASSERT_TRUE(echo.ok()) << echo.status();
    absl::StatusOr<std::string> address = (*echo)->WaitUntilListening(std::chrono::seconds(60));
    ASSERT_TRUE(address.ok()) << address.status();
    auto stub = examples::echo::v1::Echo::NewStub(
        grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
    examples::echo::v1::EchoRequest request;
    request.set_message("hello");

    examples::echo::v1::EchoResponse response;
    grpc::Status status = stub->Echo(As(reader.secret()).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.user_id(), "alice");
    EXPECT_THAT(response.scopes(), ElementsAre("things:read"));
    EXPECT_EQ(response.expires_on(), reader.token().expires_on());

    examples::echo::v1::EchoResponse refused;
    status = stub->Echo(As(writer.secret()).get(), request, &refused);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(status.error_message(), "insufficient_scope: token lacks things:read");
    EXPECT_EQ(refused.user_id(), "");

    examples::echo::v1::EchoResponse everything;
    status = stub->Echo(As(full.secret()).get(), request, &everything);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_THAT(everything.scopes(), IsEmpty());
  }
}

}  // namespace
}  // namespace tokens::testing
