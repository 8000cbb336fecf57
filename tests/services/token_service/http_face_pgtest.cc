// The HTTP face (--http_listen) of the real token-service binary against
// PostgreSQL, over real HTTP/1.1 sockets with cpp-httplib's client: Connect's
// unary JSON protocol, its errors, what the face refuses itself, its headers,
// and the client address it hands the gRPC services (and nobody else can;
// X-Forwarded-For only from a trusted proxy).
#include <chrono>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/http/host_port.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "httplib.h"
#include "tests/services/token_service/service_fixture.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr std::chrono::seconds kLogTimeout(30);

class HttpFaceTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    TokenServiceTest::SetUp();
    ConnectClient();
  }

  // client_ to the running service's HTTP face (again after a restart).
  void ConnectClient() {
    ASSERT_FALSE(service_->http_address().empty()) << "no \"http\" in the ready file";
    std::string host;
    int port = 0;
    ASSERT_TRUE(SplitHostPort(service_->http_address(), &host, &port));
    client_ = std::make_unique<httplib::Client>(host, port);
    client_->set_read_timeout(std::chrono::seconds(30));
  }

  // POST `path` with a JSON body and, unless empty, a bearer token.
  httplib::Result Call(const std::string& path, const std::string& json,
                       const std::string& token = "",
                       const std::string& content_type = "application/json") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return client_->Post(path, headers, json, content_type);
  }

  std::unique_ptr<httplib::Client> client_;
};

// A JSON text as a google.protobuf.Struct; fails the test if it is not JSON.
google::protobuf::Struct ParseJson(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

// A Connect error's `code` ("" if the body is not one).
std::string CodeOf(const httplib::Result& result) {
  const google::protobuf::Struct error = ParseJson(result->body);
  const auto code = error.fields().find("code");
  return code == error.fields().end() ? "" : code->second.string_value();
}

// Every answer's headers: nothing may frame, sniff, cache or share it, and
// no CORS header lets another origin read it.
void ExpectSafeHeaders(const httplib::Result& result, const std::string& cache = "no-store") {
  ASSERT_TRUE(result);
  EXPECT_EQ(result->get_header_value("Content-Security-Policy"),
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
            "object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'");
  EXPECT_EQ(result->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(result->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(result->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_EQ(result->get_header_value("Cross-Origin-Opener-Policy"), "same-origin");
  EXPECT_EQ(result->get_header_value("Cross-Origin-Resource-Policy"), "same-origin");
  EXPECT_EQ(result->get_header_value("Cache-Control"), cache);
  EXPECT_EQ(result->get_header_value_count("Cache-Control"), 1u);
  for (const auto& [name, value] : result->headers) {
    EXPECT_THAT(absl::AsciiStrToLower(name), Not(StartsWith("access-control-")))
        << name << ": " << value;
    EXPECT_NE(absl::AsciiStrToLower(name), "set-cookie");
  }
}

TEST_F(HttpFaceTest, CreateTokenAnswersItsSecretOnceAndListTokensShowsItWithout) {
  const httplib::Result created =
      Call("/tokens.v1.TokenService/CreateToken",
           absl::StrCat(R"({"name":"over http","expiresOn":")", DateFromToday(30), R"("})"),
           admin_token_);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->status, 200) << created->body;
  EXPECT_THAT(created->get_header_value("Content-Type"), StartsWith("application/json"));
  ExpectSafeHeaders(created);
  v1::CreateTokenResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(created->body, &response).ok())
      << created->body;
  EXPECT_THAT(response.secret(), StartsWith("utk_"));
  EXPECT_EQ(response.token().name(), "over http");
  EXPECT_EQ(response.token().user_id(), "admin");

  // The secret works, over gRPC too: the same service issued it.
  v1::GetProfileResponse profile;
  ASSERT_TRUE(
      tokens_->GetProfile(As(response.secret()).get(), v1::GetProfileRequest(), &profile).ok());
  EXPECT_EQ(profile.user_id(), "admin");
  // Which token the caller holds, and that a token it creates may not outlive
  // it: its expiry is nearer than the lifetime limit.
  EXPECT_EQ(profile.token_id(), response.token().id());
  EXPECT_EQ(profile.latest_expires_on(), DateFromToday(30));

  const httplib::Result listed =
      Call("/tokens.v1.TokenService/ListTokens", R"({"pageSize":50})", admin_token_);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200) << listed->body;
  ExpectSafeHeaders(listed);
  v1::ListTokensResponse tokens;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(listed->body, &tokens).ok());
  bool found = false;
  for (const v1::Token& token : tokens.tokens())
    found = found || token.id() == response.token().id();
  EXPECT_TRUE(found) << listed->body;
  EXPECT_THAT(listed->body, Not(HasSubstr(response.secret())));
  // Connect's JSON: lowerCamelCase names, as protobuf's JSON mapping writes them.
  EXPECT_THAT(listed->body, HasSubstr("\"expiresOn\""));

  // An empty body is the empty request message; charset=utf-8 is JSON too.
  const httplib::Result own = Call("/tokens.v1.TokenService/GetProfile", "", response.secret(),
                                   "application/json; charset=utf-8");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200) << own->body;
  EXPECT_THAT(own->body, HasSubstr(absl::StrCat(R"("tokenId":")", response.token().id(), "\"")));
  EXPECT_THAT(own->body,
              HasSubstr(absl::StrCat(R"("latestExpiresOn":")", DateFromToday(30), "\"")));
}

TEST_F(HttpFaceTest, AValidationErrorCarriesItsBadRequestDetails) {
  const httplib::Result result =
      Call("/tokens.v1.TokenService/CreateToken",
           R"({"name":"bad date","expiresOn":"next tuesday"})", admin_token_);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  ExpectSafeHeaders(result);
  const google::protobuf::Struct error = ParseJson(result->body);
  EXPECT_EQ(error.fields().at("code").string_value(), "invalid_argument");
  EXPECT_FALSE(error.fields().at("message").string_value().empty());
  const google::protobuf::ListValue& details = error.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 1) << result->body;
  const auto& detail = details.values(0).struct_value().fields();
  EXPECT_EQ(detail.at("type").string_value(), "google.rpc.BadRequest");
  // `value`: the detail's bytes, base64 without padding.
  std::string value = detail.at("value").string_value();
  EXPECT_EQ(value.find('='), std::string::npos) << value;
  while (value.size() % 4 != 0) value += '=';
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(value, &bytes));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(bad_request.ParseFromString(bytes));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "expires_on");
  // `debug`: the same detail as JSON.
  const auto& violations =
      detail.at("debug").struct_value().fields().at("fieldViolations").list_value();
  ASSERT_EQ(violations.values_size(), 1);
  EXPECT_EQ(violations.values(0).struct_value().fields().at("field").string_value(), "expires_on");
}

TEST_F(HttpFaceTest, NoBearerIsUnauthenticatedAndAUserIsRefusedListUsers) {
  const httplib::Result anonymous = Call("/tokens.v1.TokenService/ListTokens", "{}");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(CodeOf(anonymous), "unauthenticated");
  ExpectSafeHeaders(anonymous);

  // A cookie is no credential here.
  httplib::Headers cookie = {{"Cookie", "authorization=Bearer " + admin_token_}};
  const httplib::Result with_cookie =
      client_->Post("/tokens.v1.TokenService/ListTokens", cookie, "{}", "application/json");
  ASSERT_TRUE(with_cookie);
  EXPECT_EQ(with_cookie->status, 401);

  const std::string user = NewUserWithToken("bob", v1::USER);
  const httplib::Result denied = Call("/tokens.v1.UserService/ListUsers", "{}", user);
  ASSERT_TRUE(denied);
  EXPECT_EQ(denied->status, 403);
  EXPECT_EQ(CodeOf(denied), "permission_denied");
  EXPECT_THAT(denied->body, Not(HasSubstr(user)));
}

TEST_F(HttpFaceTest, WhatIsNoUnaryMethodOfTheTwoServicesIsNotFound) {
  for (const std::string path :
       {"/tokens.v1.TokenService/NoSuchMethod", "/tokens.v1.NoService/ListTokens",
        // TokenSync is for sidecars, over gRPC only; SyncTokens streams.
        "/tokens.v1.TokenSync/LookupToken", "/tokens.v1.TokenSync/SyncTokens",
        "/grpc.health.v1.Health/Check", "/", "/tokens.v1.TokenService/ListTokens/x"}) {
    SCOPED_TRACE(path);
    const httplib::Result result = Call(path, "{}", admin_token_);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 404);
    EXPECT_EQ(CodeOf(result), "unimplemented");
    ExpectSafeHeaders(result);
  }
}

TEST_F(HttpFaceTest, ABodyThatIsNoJsonOfTheRequestIsInvalidArgument) {
  for (const std::string body :
       {"{", "not json", "[]", R"({"pageSize":"many"})", R"({"pageSize":10,"noSuchField":1})"}) {
    SCOPED_TRACE(body);
    const httplib::Result result = Call("/tokens.v1.TokenService/ListTokens", body, admin_token_);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400);
    EXPECT_EQ(CodeOf(result), "invalid_argument");
    ExpectSafeHeaders(result);
  }
  const httplib::Result unknown =
      Call("/tokens.v1.TokenService/ListTokens", R"({"noSuchField":1})", admin_token_);
  ASSERT_TRUE(unknown);
  EXPECT_THAT(unknown->body, HasSubstr("noSuchField"));

  // The error names the field but never carries back what was sent: not a
  // value (here a token in the wrong field), not the parser's quote of the
  // body around a bad byte.
  const httplib::Result misplaced = Call("/tokens.v1.TokenService/ListTokens",
                                         R"({"status":")" + admin_token_ + R"("})", admin_token_);
  ASSERT_TRUE(misplaced);
  EXPECT_EQ(CodeOf(misplaced), "invalid_argument");
  EXPECT_THAT(misplaced->body, HasSubstr("status"));
  EXPECT_THAT(misplaced->body, Not(HasSubstr(admin_token_.substr(4))));
  const httplib::Result not_utf8 =
      Call("/tokens.v1.TokenService/CreateToken",
           "{\"name\":\"\xff\xfe-marker-after\",\"expiresOn\":\"2030-01-01\"}", admin_token_);
  ASSERT_TRUE(not_utf8);
  EXPECT_EQ(CodeOf(not_utf8), "invalid_argument");
  EXPECT_THAT(not_utf8->body, HasSubstr("UTF-8"));
  EXPECT_THAT(not_utf8->body, Not(HasSubstr("marker-after")));
  EXPECT_THAT(not_utf8->body, Not(HasSubstr("expiresOn")));
}

TEST_F(HttpFaceTest, ConnectsHeadersAreReadAndCheckedBeforeTheCall) {
  const auto post = [&](httplib::Headers headers) {
    headers.emplace("Authorization", "Bearer " + admin_token_);
    return client_->Post("/tokens.v1.TokenService/GetProfile", headers, "{}", "application/json");
  };
  const httplib::Result fine =
      post({{"Connect-Protocol-Version", "1"}, {"Connect-Timeout-Ms", "30000"}});
  ASSERT_TRUE(fine);
  EXPECT_EQ(fine->status, 200) << fine->body;
  for (const httplib::Headers& bad :
       std::vector<httplib::Headers>{{{"Connect-Protocol-Version", "2"}},
                                     {{"Connect-Timeout-Ms", "soon"}},
                                     {{"Connect-Timeout-Ms", "0"}},
                                     {{"Connect-Timeout-Ms", "12345678901"}}}) {
    const httplib::Result result = post(bad);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << bad.begin()->first << ": " << bad.begin()->second;
    EXPECT_EQ(CodeOf(result), "invalid_argument");
  }
  const httplib::Result zstd = post({{"Content-Encoding", "zstd"}});
  ASSERT_TRUE(zstd);
  EXPECT_EQ(zstd->status, 501);
  EXPECT_EQ(CodeOf(zstd), "unimplemented");
}

TEST_F(HttpFaceTest, OtherContentTypesAreUnsupportedMediaType) {
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded",
                                 "application/proto", "application/json; charset=latin1"}) {
    SCOPED_TRACE(type);
    const httplib::Result result =
        Call("/tokens.v1.TokenService/ListTokens", "{}", admin_token_, type);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 415);
    ExpectSafeHeaders(result);
  }
}

TEST_F(HttpFaceTest, AnOversizedBodyIsResourceExhausted) {
  const std::string body =
      absl::StrCat(R"({"nameContains":")", std::string(64 * 1024, 'a'), R"("})");
  const httplib::Result result = Call("/tokens.v1.TokenService/ListTokens", body, admin_token_);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 429);
  EXPECT_EQ(CodeOf(result), "resource_exhausted");
  ExpectSafeHeaders(result);
}

TEST_F(HttpFaceTest, OnlyPostIsServedAndNoPreflightIsAnswered) {
  const httplib::Result get = client_->Get("/tokens.v1.TokenService/ListTokens");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  EXPECT_EQ(get->get_header_value("Allow"), "POST");
  ExpectSafeHeaders(get);

  const httplib::Headers preflight = {{"Origin", "https://evil.example"},
                                      {"Access-Control-Request-Method", "POST"},
                                      {"Access-Control-Request-Headers", "authorization"}};
  const httplib::Result options = client_->Options("/tokens.v1.TokenService/ListTokens", preflight);
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 405);
  ExpectSafeHeaders(options);

  // A cross-origin POST is served (a browser would not let the page read it)
  // but never invites one: no CORS header in the answer.
  const httplib::Headers origin = {{"Origin", "https://evil.example"},
                                   {"Authorization", "Bearer " + admin_token_}};
  const httplib::Result post =
      client_->Post("/tokens.v1.TokenService/GetProfile", origin, "{}", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  ExpectSafeHeaders(post);
}

// The access-log line of a call made over HTTP names the HTTP client's
// address, as one over gRPC names the gRPC client's: the gRPC services see
// the in-process channel's peer, and trust the address the face adds only
// from it.
TEST_F(HttpFaceTest, TheLogLineOfAnHttpCallNamesTheHttpClient) {
  const httplib::Result result =
      Call("/tokens.v1.TokenService/ListTokenEvents", "{}", admin_token_);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  absl::StatusOr<std::string> peer = service_->process().WaitForStderr(
      R"re("method":"ListTokenEvents"[^\n]*"peer":"([^"]*)")re", kLogTimeout);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "127.0.0.1");
}

// The metadata by which the face passes its client's address is ignored
// from any other caller: a gRPC client cannot pass for another address, nor
// an HTTP client through headers of those names.
TEST_F(HttpFaceTest, NoCallerCanChooseTheAddressTheServicesSee) {
  std::unique_ptr<grpc::ClientContext> ctx = As(admin_token_);
  ctx->AddMetadata("x-tokens-http-client", "203.0.113.7");
  ctx->AddMetadata("x-tokens-http-face-key", std::string(64, '0'));
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(ctx.get(), v1::GetProfileRequest(), &profile).ok());
  absl::StatusOr<std::string> peer = service_->process().WaitForStderr(
      R"re("method":"GetProfile"[^\n]*"peer":"([^"]*)")re", kLogTimeout);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "127.0.0.1");

  const httplib::Headers spoof = {{"X-Tokens-Http-Client", "203.0.113.8"},
                                  {"X-Tokens-Http-Face-Key", std::string(64, '0')},
                                  {"Authorization", "Bearer " + admin_token_}};
  const httplib::Result result =
      client_->Post("/tokens.v1.UserService/ListUsers", spoof, "{}", "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  peer = service_->process().WaitForStderr(R"re("method":"ListUsers"[^\n]*"peer":"([^"]*)")re",
                                           kLogTimeout);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "127.0.0.1");
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("203.0.113.")));
}

// Without --http_trusted_proxies (the default) no peer's X-Forwarded-For is
// read, and with it, not that of a peer outside the list.
TEST_F(HttpFaceTest, XForwardedForIsIgnoredUnlessThePeerIsATrustedProxy) {
  const httplib::Headers forwarded = {{"X-Forwarded-For", "203.0.113.7"},
                                      {"Authorization", "Bearer " + admin_token_}};
  httplib::Result result =
      client_->Post("/tokens.v1.TokenService/GetProfile", forwarded, "{}", "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  absl::StatusOr<std::string> peer = service_->process().WaitForStderr(
      R"re("method":"GetProfile"[^\n]*"peer":"([^"]*)")re", kLogTimeout);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "127.0.0.1");
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("203.0.113.")));

  RestartService({"--http_trusted_proxies=192.0.2.1, 10.0.0.0/8, ::2"});
  ConnectClient();
  result = client_->Post("/tokens.v1.TokenService/GetProfile", forwarded, "{}", "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  peer = service_->process().WaitForStderr(R"re("method":"GetProfile"[^\n]*"peer":"([^"]*)")re",
                                           kLogTimeout);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(*peer, "127.0.0.1");
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("203.0.113.")));
}

// token-service behind a proxy on 127.0.0.1 (as behind Envoy's console
// listener): --http_trusted_proxies=127.0.0.1, a small failed-authentication
// budget.
class HttpFaceBehindAProxyTest : public HttpFaceTest {
 protected:
  void SetUp() override {
    HttpFaceTest::SetUp();
    if (HasFatalFailure()) return;
    RestartService({"--http_trusted_proxies=127.0.0.1", "--auth_failure_burst_per_client=3",
                    "--auth_failure_rate_per_client=1"});
    ConnectClient();
  }

  // POST `path` with `token` as if forwarded for `forwarded_for` ("": no
  // X-Forwarded-For).
  httplib::Result CallFor(const std::string& forwarded_for, const std::string& path,
                          const std::string& token) {
    httplib::Headers headers = {{"Authorization", "Bearer " + token}};
    if (!forwarded_for.empty()) headers.emplace("X-Forwarded-For", forwarded_for);
    return client_->Post(path, headers, "{}", "application/json");
  }

  // The access log's `peer` of the first call of `method`.
  std::string PeerOf(const std::string& method) {
    absl::StatusOr<std::string> peer = service_->process().WaitForStderr(
        absl::StrCat(R"re("method":")re", method, R"re("[^\n]*"peer":"([^"]*)")re"), kLogTimeout);
    EXPECT_TRUE(peer.ok()) << peer.status();
    return peer.value_or("");
  }
};

// The client is the rightmost X-Forwarded-For address that is no trusted
// proxy: what the client wrote in front of it (a spoofed address) is not
// believed, and trusted hops behind it are skipped.
TEST_F(HttpFaceBehindAProxyTest, TheClientIsTheRightmostUntrustedForwardedAddress) {
  httplib::Result result =
      CallFor("203.0.113.7", "/tokens.v1.TokenService/GetProfile", admin_token_);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(PeerOf("GetProfile"), "203.0.113.7");

  result = CallFor("198.51.100.66, 203.0.113.8, 127.0.0.1", "/tokens.v1.TokenService/ListTokens",
                   admin_token_);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(PeerOf("ListTokens"), "203.0.113.8");

  // An entry that is no bare address breaks the chain: the proxy's own.
  result = CallFor("203.0.113.9:4711", "/tokens.v1.UserService/ListUsers", admin_token_);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(PeerOf("ListUsers"), "127.0.0.1");
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("198.51.100.66")));
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("203.0.113.9")));
}

// Each forwarded client has its own failed-authentication budget: one that
// empties its own with unknown tokens is refused RESOURCE_EXHAUSTED, and
// another client's valid call through the same proxy is still answered.
TEST_F(HttpFaceBehindAProxyTest, EachForwardedClientHasItsOwnFailedAuthenticationBudget) {
  TokenCodec codec("utk");
  SystemRandom random;
  bool exhausted = false;
  // The burst is 3; refills (1 a second) can only add a few more lookups.
  for (int i = 0; i < 200 && !exhausted; ++i) {
    const httplib::Result result =
        CallFor("203.0.113.7", "/tokens.v1.TokenService/GetProfile", codec.Generate(random));
    ASSERT_TRUE(result);
    if (result->status == 429) {
      EXPECT_EQ(CodeOf(result), "resource_exhausted");
      exhausted = true;
    } else {
      ASSERT_EQ(result->status, 401) << result->body;
    }
  }
  ASSERT_TRUE(exhausted) << "203.0.113.7's budget never ran out";

  httplib::Result other =
      CallFor("198.51.100.9", "/tokens.v1.TokenService/ListTokens", admin_token_);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << other->body;
  EXPECT_EQ(PeerOf("ListTokens"), "198.51.100.9");
  // Nor is the proxy's own address the one that was charged.
  other = CallFor("", "/tokens.v1.UserService/ListUsers", admin_token_);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << other->body;
  EXPECT_EQ(PeerOf("ListUsers"), "127.0.0.1");
}

// The web console, from the binary, under the same headers (no-cache instead
// of no-store); its tests and notes are not served.
TEST_F(HttpFaceTest, TheWebConsoleIsServedAtTheRoot) {
  const httplib::Result index = client_->Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_THAT(index->body, HasSubstr("<script type=\"module\" src=\"app.js\"></script>"));
  ExpectSafeHeaders(index, "no-cache");
  for (const char* path : {"/app.js", "/api.js", "/views/profile.js"}) {
    SCOPED_TRACE(path);
    const httplib::Result script = client_->Get(path);
    ASSERT_TRUE(script);
    EXPECT_EQ(script->status, 200);
    EXPECT_EQ(script->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
    ExpectSafeHeaders(script, "no-cache");
  }
  const httplib::Result styles = client_->Get("/styles.css");
  ASSERT_TRUE(styles);
  EXPECT_EQ(styles->get_header_value("Content-Type"), "text/css; charset=utf-8");
  for (const char* path :
       {"/README.md", "/package.json", "/test/api.test.js", "/nothing.js", "/../CMakeLists.txt"}) {
    SCOPED_TRACE(path);
    const httplib::Result missing = client_->Get(path);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 404);
    ExpectSafeHeaders(missing);
  }
}

// An --http_listen that cannot be bound is fatal at start-up, as a gRPC
// address is: exit 1, and no ready file for whoever waits.
TEST_F(HttpFaceTest, AnHttpAddressInUseStopsTheProcess) {
  absl::StatusOr<ChildProcess::Result> second =
      RunTokenService({"--listen", "127.0.0.1:0", "--metrics_listen", "", "--http_listen",
                       service_->http_address(), "--database_url", database_url_});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->exit_code, 1) << second->err;
  EXPECT_THAT(second->err, HasSubstr("HTTP face"));
}

}  // namespace
}  // namespace tokens::testing
