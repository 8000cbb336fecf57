// What an operator relies on, end to end against the real binaries: the
// Prometheus endpoints of both, their documentation, and the service-token
// rotation that docs/operations.md describes.
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/prometheus_text.h"
#include "tokens/v1/tokens.grpc.pb.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

class SidecarOperationsTest : public SidecarTest {
 protected:
  static MetricsText MustScrape(const std::string& address) {
    absl::StatusOr<MetricsText> scraped = ScrapeMetrics(address);
    EXPECT_TRUE(scraped.ok()) << scraped.status();
    return scraped.ok() ? *scraped : MetricsText{};
  }
};

std::string ReadOperationsGuide() {
  std::ifstream file(OPERATIONS_DOCS);
  EXPECT_TRUE(file.is_open()) << OPERATIONS_DOCS;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

constexpr char kCheckOk[] =
    "grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"envoy.service.auth.v3."
    "Authorization\",grpc_method=\"Check\",grpc_code=\"OK\"}";
constexpr char kAllowed[] = "token_sidecar_checks_total{result=\"allowed\",reason=\"valid\"}";

TEST_F(SidecarOperationsTest, TheSidecarsMetricsShowChecksCacheFeedAndUsage) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const MetricsText before = MustScrape(sidecar_->metrics_address());
  EXPECT_EQ(before.Value("token_sidecar_cache_loaded"), 1);
  EXPECT_EQ(before.Value("token_sidecar_sync_stream_up"), 1);
  EXPECT_GE(before.Value("token_sidecar_sync_snapshots_total"), 1);
  EXPECT_EQ(before.types.at("token_sidecar_checks_total"), "counter");
  EXPECT_EQ(before.types.at("grpc_server_handling_seconds"), "histogram");

  ASSERT_TRUE(CheckToken(alice).has_ok_response());
  ASSERT_TRUE(CheckToken(alice).has_ok_response());
  EXPECT_EQ(DeniedReason(CheckToken("utk_not-a-token")), "malformed");
  EXPECT_EQ(DeniedReason(Check({})), "missing");

  const MetricsText after = MustScrape(sidecar_->metrics_address());
  EXPECT_EQ(after.Value(kAllowed) - std::max(0.0, before.Value(kAllowed)), 2);
  EXPECT_EQ(after.Value("token_sidecar_checks_total{result=\"denied\",reason=\"malformed\"}"), 1);
  EXPECT_EQ(after.Value("token_sidecar_checks_total{result=\"denied\",reason=\"missing\"}"), 1);
  EXPECT_EQ(after.Value(kCheckOk) - std::max(0.0, before.Value(kCheckOk)), 4);
  // The admin's, the sidecar's and alice's tokens at least.
  EXPECT_GE(after.Value("token_sidecar_cache_tokens"), 3);
  EXPECT_GT(after.Value("process_resident_memory_bytes"), 0);

  // Usage is flushed every 200ms here: a sent batch shows up.
  EXPECT_TRUE(Eventually([&] {
    return MustScrape(sidecar_->metrics_address())
               .Value("token_sidecar_usage_batches_total{result=\"sent\"}") >= 1;
  }));

  // token-service's side: the feed head the sidecar catches up with, the
  // stream it serves and the calls it handled.
  EXPECT_TRUE(Eventually([&] {
    const MetricsText service = MustScrape(service_->metrics_address());
    const MetricsText sidecar = MustScrape(sidecar_->metrics_address());
    return service.Value("token_service_sync_head_version") > 0 &&
           service.Value("token_service_sync_head_version") ==
               sidecar.Value("token_sidecar_cache_version");
  }));
  const MetricsText service = MustScrape(service_->metrics_address());
  EXPECT_GE(service.Value("token_service_sync_streams"), 1);
  EXPECT_GE(service.Value("token_service_db_connections_open"), 1);
  EXPECT_EQ(service.Value("token_service_db_errors_total{kind=\"query\"}"), 0);
  EXPECT_GE(service.Value("grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"tokens."
                          "v1.UserService\",grpc_method=\"CreateUser\",grpc_code=\"OK\"}"),
            1);
  EXPECT_GE(service.Value("grpc_server_handled_total{grpc_type=\"unary\",grpc_service=\"tokens."
                          "v1.TokenSync\",grpc_method=\"ReportUsage\",grpc_code=\"OK\"}"),
            1);
}

TEST_F(SidecarOperationsTest, EveryExportedMetricIsDocumented) {
  // Some traffic, so that label sets that appear on use are there too.
  ASSERT_TRUE(CheckToken(admin_token_).has_ok_response());
  const std::string guide = ReadOperationsGuide();
  std::set<std::string> exported;
  for (const std::string& address : {service_->metrics_address(), sidecar_->metrics_address()}) {
    for (const auto& [family, type] : MustScrape(address).types) {
      exported.insert(family);
      EXPECT_THAT(guide, HasSubstr("`" + family + "`")) << "not in docs/operations.md";
    }
  }
  // And the other way round: no documented metric that is not exported.
  const std::regex documented(
      "\\| `((token_service|token_sidecar|process|grpc_server)_[a-z_]+)` \\|");
  int rows = 0;
  for (std::sregex_iterator it(guide.begin(), guide.end(), documented), end; it != end; ++it) {
    ++rows;
    EXPECT_EQ(exported.count((*it)[1]), 1u) << (*it)[1] << " is documented but not exported";
  }
  EXPECT_EQ(rows, static_cast<int>(exported.size()));
}

TEST_F(SidecarOperationsTest, RotatingTheServiceTokenFollowsTheDocumentedSteps) {
  // Step 1: an admin issues a second token for the SERVICE user "sidecar".
  v1::CreateTokenRequest create;
  create.set_name("sidecar 2027-Q1");
  create.set_expires_on(DateFromToday(90));
  create.set_user_id("sidecar");
  v1::CreateTokenResponse second;
  grpc::Status status = tokens_->CreateToken(As(admin_token_).get(), create, &second);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Step 2: a sidecar restarted with the new token becomes ready.
  auto rotated = SidecarProcess::Start(service_->address(), second.secret(),
                                       {"--metrics_listen", "127.0.0.1:0"});
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  ASSERT_TRUE((*rotated)->WaitUntilServing());

  // Step 3: the old token is found among the user's tokens and revoked.
  v1::ListTokensRequest list;
  list.set_user_id("sidecar");
  v1::ListTokensResponse listed;
  status = tokens_->ListTokens(As(admin_token_).get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string old_id;
  for (const v1::Token& token : listed.tokens()) {
    if (token.id() != second.token().id()) old_id = token.id();
  }
  ASSERT_EQ(listed.tokens_size(), 2);
  v1::RevokeTokenRequest revoke;
  revoke.set_id(old_id);
  v1::Token revoked;
  status = tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The sidecar still on the old token loses its feed, as documented...
  EXPECT_TRUE(Eventually([&] {
    return MustScrape(sidecar_->metrics_address()).Value("token_sidecar_sync_stream_up") == 0;
  }));
  EXPECT_TRUE(sidecar_->process().WaitForStderr("UNAUTHENTICATED", std::chrono::seconds(30)).ok());
  // ...while the rotated one keeps learning of changes: a new user's token
  // reaches it through the feed, and a revocation too.
  const std::string bob = NewUserWithToken("bob", v1::USER);
  const v1::CreateTokenResponse bobs = MustCreate(bob, "ci");
  EXPECT_TRUE(Eventually([&] {
    return MustScrape((*rotated)->metrics_address()).Value("token_sidecar_cache_tokens") >= 4;
  }));
  revoke.set_id(bobs.token().id());
  status = tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(Eventually(
      [&] { return DeniedReason(CheckToken(bobs.secret(), rotated->get())) == "revoked"; }));
  EXPECT_EQ(MustScrape((*rotated)->metrics_address()).Value("token_sidecar_sync_stream_up"), 1);
}

TEST_F(SidecarOperationsTest, ATakenMetricsPortStopsTheSidecarWithAMessage) {
  const std::string taken = sidecar_->metrics_address();
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run({SidecarBinary(),
                         {"--listen", "127.0.0.1:0", "--metrics_listen", taken},
                         {{"TOKEN_SIDECAR_SERVICE_TOKEN", service_token_}},
                         {}},
                        std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_THAT(result->err, HasSubstr("metrics: cannot listen on " + taken));
  EXPECT_THAT(result->err, ::testing::Not(HasSubstr(service_token_)));
}

TEST_F(SidecarOperationsTest, AnEmptyMetricsAddressTurnsMetricsOff) {
  ChildProcess::Options options{
      SidecarBinary(),
      {"--listen", "127.0.0.1:0", "--metrics_listen=", "--token_service", service_->address()},
      {{"TOKEN_SIDECAR_SERVICE_TOKEN", service_token_}},
      {}};
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> quiet = ChildProcess::Spawn(std::move(options));
  ASSERT_TRUE(quiet.ok()) << quiet.status();
  absl::StatusOr<ReadyFileContents> ready = (*quiet)->WaitUntilReady(std::chrono::seconds(30));
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->addresses.count("metrics"), 0u);
  EXPECT_EQ(ready->addresses.count("grpc"), 1u);
  EXPECT_THAT((*quiet)->Stderr(), HasSubstr("metrics are off"));
  EXPECT_THAT((*quiet)->Stderr(), ::testing::Not(HasSubstr("metrics on http")));
}

}  // namespace
}  // namespace tokens::testing
