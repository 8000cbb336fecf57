// Hostile input against the real binaries over real gRPC: huge tokens and
// metadata, floods of headers, and many concurrent creates of one name. Each
// case asserts a clear answer, nothing written, and a server that keeps
// serving afterwards.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/slow_http_client.h"
#include "tokens/v1/tokens.grpc.pb.h"

namespace tokens::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr size_t kOneMegabyte = 1 << 20;

// gRPC itself refuses a header list over its limit by closing
// the connection: the client sees UNAVAILABLE ("Socket closed"), or
// RESOURCE_EXHAUSTED/INTERNAL when the limit is noticed earlier. No handler
// runs. In production Envoy's own header limit applies first.
const auto kRefusedByTransport = AnyOf(grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::INTERNAL,
                                       grpc::StatusCode::RESOURCE_EXHAUSTED);

class HostileInputTest : public SidecarTest {
 protected:
  // GetProfile with this authorization value over a fresh channel (a
  // connection the server closed does not count against the next call).
  grpc::Status GetProfile(const std::string& authorization) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", authorization);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::GetProfileRequest request;
    v1::GetProfileResponse response;
    return v1::TokenService::NewStub(FreshChannel())->GetProfile(&ctx, request, &response);
  }

  // A channel with its own connection: channels to one address otherwise
  // share a connection, including one the server is closing.
  std::shared_ptr<grpc::Channel> FreshChannel() const {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(service_->address(), grpc::InsecureChannelCredentials(), args);
  }
};

TEST_F(HostileInputTest, AOneMegabyteBearerTokenIsRefusedAndTheServerKeepsServing) {
  const std::string before = DatabaseDigest();
  const grpc::Status status = GetProfile("Bearer utk_" + std::string(kOneMegabyte, 'A'));
  EXPECT_THAT(status.error_code(), kRefusedByTransport) << status.error_message();
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr(std::string(64, 'A'))));
  EXPECT_EQ(DatabaseDigest(), before);
  const grpc::Status after = GetProfile("Bearer " + admin_token_);
  EXPECT_TRUE(after.ok()) << "token-service stopped serving: " << after.error_message();
}

TEST_F(HostileInputTest, OversizedMetadataIsRefusedAndTheServerKeepsServing) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + admin_token_);
  for (int i = 0; i < 2000; ++i) {
    ctx.AddMetadata("x-junk-" + std::to_string(i), std::string(100, 'j'));
  }
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetProfileResponse response;
  const std::string before = DatabaseDigest();
  const grpc::Status status = v1::TokenService::NewStub(FreshChannel())
                                  ->GetProfile(&ctx, v1::GetProfileRequest(), &response);
  EXPECT_THAT(status.error_code(), kRefusedByTransport) << status.error_message();
  EXPECT_EQ(DatabaseDigest(), before);
  const grpc::Status after = GetProfile("Bearer " + admin_token_);
  EXPECT_TRUE(after.ok()) << "token-service stopped serving: " << after.error_message();
}

TEST_F(HostileInputTest, TheSidecarDeniesAOneMegabyteTokenAsMalformed) {
  // In Check's body (Envoy's request attributes), where no metadata limit
  // applies: the verifier's length check refuses it before any hashing.
  const std::string huge = "utk_" + std::string(kOneMegabyte, 'A');
  EXPECT_EQ(DeniedReason(CheckToken(huge)), "malformed");

  v1::AuthenticateRequest request;
  request.set_token(huge);
  v1::AuthenticateResponse response;
  const grpc::Status status = Authenticate(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("malformed"));
  EXPECT_LT(status.error_message().size(), 200u) << "the error must not echo the token";

  ASSERT_TRUE(CheckToken(admin_token_).has_ok_response()) << "the sidecar stopped serving";
  EXPECT_THAT(sidecar_->process().Stderr(), ::testing::Not(HasSubstr(std::string(64, 'A'))));
}

TEST_F(HostileInputTest, TheSidecarAnswersACheckWithTenThousandHeaders) {
  std::map<std::string, std::string> headers;
  for (int i = 0; i < 10000; ++i) headers["x-h-" + std::to_string(i)] = std::string(50, 'h');
  EXPECT_EQ(DeniedReason(Check(headers)), "missing");
  headers["authorization"] = "Bearer " + admin_token_;
  EXPECT_TRUE(Check(headers).has_ok_response());
}

TEST_F(HostileInputTest, ManyConcurrentCreatesOfOneNameAdmitExactlyOne) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  constexpr int kCallers = 16;
  std::atomic<int> ok{0};
  std::atomic<int> name_taken{0};
  std::atomic<int> other{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&] {
      // One channel each, so the calls really race on the server.
      auto stub = v1::TokenService::NewStub(service_->NewChannel());
      v1::CreateTokenRequest request;
      request.set_name("deploy");
      request.set_expires_on(DateFromToday(30));
      v1::CreateTokenResponse response;
      const grpc::Status status = stub->CreateToken(As(alice).get(), request, &response);
      if (status.ok()) {
        ++ok;
      } else if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
                 ViolatedFields(status) == std::vector<std::string>{"name"}) {
        ++name_taken;  // "you already have a token with this name", under the field
      } else {
        ++other;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(name_taken.load(), kCallers - 1);
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice' AND name = 'deploy'"),
            std::vector<std::string>{"1"});
}

double LookupCalls(const MetricsText& service_metrics) {
  double calls = 0;
  for (const auto& [series, value] : service_metrics.samples) {
    if (absl::StartsWith(series, "grpc_server_handling_seconds_count{") &&
        absl::StrContains(series, "grpc_method=\"LookupToken\"")) {
      calls += value;
    }
  }
  return calls;
}

TEST_F(HostileInputTest, AFloodOfRandomTokensFromOneClientCostsABoundedNumberOfLookups) {
  // The defaults: 10 lookups a second per client address, bursts of 20.
  constexpr double kRate = 10;
  constexpr double kBurst = 20;
  constexpr int kGuesses = 500;
  const std::string attacker = "203.0.113.7";
  TokenCodec codec("utk");
  SystemRandom random;
  std::vector<std::string> guesses;
  for (int i = 0; i < kGuesses; ++i) guesses.push_back(codec.Generate(random));

  absl::StatusOr<MetricsText> before = ScrapeMetrics(service_->metrics_address());
  ASSERT_TRUE(before.ok()) << before.status();
  const absl::Time start = absl::Now();
  for (const std::string& guess : guesses) {
    EXPECT_EQ(DeniedReason(Check({{"authorization", "Bearer " + guess}}, nullptr, attacker)),
              "unknown");
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  absl::StatusOr<MetricsText> after = ScrapeMetrics(service_->metrics_address());
  ASSERT_TRUE(after.ok()) << after.status();

  // The bound follows from the token bucket and the time the flood took,
  // whatever that time was.
  const double lookups = LookupCalls(*after) - LookupCalls(*before);
  EXPECT_LE(lookups, kBurst + kRate * elapsed + 1) << "over " << elapsed << " s";
  EXPECT_LT(lookups, kGuesses);
  absl::StatusOr<MetricsText> sidecar = ScrapeMetrics(sidecar_->metrics_address());
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  EXPECT_EQ(sidecar->Value("token_sidecar_lookup_rate_limited_total{limit=\"client\"}"),
            kGuesses - lookups);

  // One log line names the client and the limit; none carries a guess.
  const std::string log = sidecar_->process().Stderr();
  EXPECT_THAT(log, HasSubstr("client " + attacker + " is over"));
  for (const std::string& guess : guesses) {
    ASSERT_THAT(log, ::testing::Not(HasSubstr(guess)));
  }

  // Everyone else still gets lookups: a token minted after the flood (maybe
  // not yet in the cache) is allowed for another client.
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse fresh = MustCreate(alice, "after the flood");
  EXPECT_TRUE(Check({{"authorization", "Bearer " + fresh.secret()}}, nullptr, "198.51.100.1")
                  .has_ok_response());
}

// The metrics port (issue 13): clients dripping a request head a byte at a
// time, more of them than the port once had threads, hold nothing a
// concurrent scrape needs.
TEST_F(HostileInputTest, SlowDripClientsOnTheMetricsPortDoNotStopAConcurrentScrape) {
  std::vector<std::unique_ptr<DripClient>> drips;
  for (int i = 0; i < 4; ++i) {
    absl::StatusOr<std::unique_ptr<DripClient>> drip =
        DripClient::Start(sidecar_->metrics_address(), absl::Milliseconds(100));
    ASSERT_TRUE(drip.ok()) << drip.status();
    drips.push_back(std::move(*drip));
  }
  for (const auto& drip : drips) ASSERT_TRUE(drip->AwaitSent(3, absl::Seconds(60)));
  absl::StatusOr<MetricsText> scraped = ScrapeMetrics(sidecar_->metrics_address());
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_FALSE(scraped->samples.empty());
}

}  // namespace
}  // namespace tokens::testing
