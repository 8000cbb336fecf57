// Client addresses are chosen by whoever calls the sidecar: Authenticate's
// `client_address` and Check's source address can be a megabyte long, or no
// address at all, and need no credentials. Against the real sidecar: such
// calls leave no memory behind and write no long log line, and an address
// that is not an IP address counts as the caller's own (the gRPC peer's).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/sanitizer_slack.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

constexpr size_t kOneMegabyte = 1 << 20;
// The sidecar's defaults: 10 lookups a second per client address, bursts of
// 20.
constexpr double kRatePerClient = 10;
constexpr double kBurstPerClient = 20;
// Far above any line the sidecar writes for itself, far below the address.
constexpr size_t kLongestLogLine = 2048;

class HostileClientAddressTest : public SidecarTest {
 protected:
  // The sidecar's resident memory in KiB (VmRSS), or -1.
  int64_t SidecarRssKib() {
    absl::StatusOr<int64_t> kib = sidecar_->process().ResidentKib();
    return kib.ok() ? *kib : -1;
  }

  // A well-formed token that token-service never issued: a cache miss, so a
  // lookup (or a refusal to make one) that the per-client limit counts.
  std::string Guess() { return codec_.Generate(random_); }

  // One miss through each transport, both claiming `address`.
  void MissFrom(const std::string& address) {
    v1::AuthenticateRequest request;
    request.set_token(Guess());
    request.set_client_address(address);
    v1::AuthenticateResponse response;
    const grpc::Status status = Authenticate(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_EQ(DeniedReason(Check({{"authorization", "Bearer " + Guess()}}, nullptr, address)),
              "unknown");
  }

  // Every LookupToken call token-service has answered.
  double LookupCalls() {
    absl::StatusOr<MetricsText> metrics = ScrapeMetrics(service_->metrics_address());
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    if (!metrics.ok()) return 0;
    double calls = 0;
    for (const auto& [series, value] : metrics->samples) {
      if (absl::StartsWith(series, "grpc_server_handling_seconds_count{") &&
          absl::StrContains(series, "grpc_method=\"LookupToken\"")) {
        calls += value;
      }
    }
    return calls;
  }

  void ExpectNoLongLogLine() {
    for (absl::string_view line : absl::StrSplit(sidecar_->process().Stderr(), '\n')) {
      ASSERT_LE(line.size(), kLongestLogLine) << line.substr(0, 200) << "...";
    }
  }

  TokenCodec codec_{"utk"};
  SystemRandom random_;
};

TEST_F(HostileClientAddressTest, MegabyteAddressesLeaveNoMemoryBehindAndNoLongLogLine) {
  // A different megabyte-long address each time, as a table keyed by the
  // text would keep every one of them.
  const auto huge_address = [](int i) {
    return absl::StrCat(i, ".", std::string(kOneMegabyte, 'Z'));
  };
  // gRPC's buffers and the allocator's arenas (and AddressSanitizer's
  // quarantine) grow with such calls at first; the bound is on what stays
  // after that. These 200 misses from one address also take it over its
  // limit, which is logged.
  for (int i = 0; i < 100; ++i) MissFrom(huge_address(-1));
  const int64_t before = SidecarRssKib();
  ASSERT_GT(before, 0);

  constexpr int kCalls = 300;  // of each transport, 300 MB of addresses
  for (int i = 0; i < kCalls; ++i) MissFrom(huge_address(i));

  // Before the address was parsed, the table of clients kept every one:
  // RSS grew by about their total, 300 MB (Authenticate and Check share an
  // address). Now it grows by a few MB.
  const int64_t after = SidecarRssKib();
  // Under AddressSanitizer the warm-up fills its quarantine, and its churn
  // afterwards measured 37 MB more: kSanitizerSlackKib, still far below what
  // the 300 addresses kept.
  constexpr int64_t kBoundKib = 64 * 1024 + kSanitizerSlackKib;
  EXPECT_LE(after - before, kBoundKib) << "RSS from " << before << " KiB to " << after << " KiB";

  ExpectNoLongLogLine();
  EXPECT_THAT(sidecar_->process().Stderr(), ::testing::Not(HasSubstr(std::string(64, 'Z'))));
  ASSERT_TRUE(CheckToken(admin_token_).has_ok_response()) << "the sidecar stopped serving";
}

TEST_F(HostileClientAddressTest, AnAddressThatIsNoIpAddressCountsAsTheCallersOwn) {
  // Each call claims another address that is not one: they are all the
  // test's own (127.0.0.1, the gRPC peer), so the per-client limit holds
  // them to its rate. Keyed by the text, each would be a new client and the
  // flood would spend the whole sidecar's budget (200 at once).
  constexpr int kCalls = 100;  // of each transport
  const double lookups_before = LookupCalls();
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) {
    MissFrom(i % 2 == 0 ? absl::StrCat("client-", i) : absl::StrCat(i, std::string(1000, '#')));
  }
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double lookups = LookupCalls() - lookups_before;

  EXPECT_LE(lookups, kBurstPerClient + kRatePerClient * elapsed + 1) << "over " << elapsed << " s";
  absl::StatusOr<MetricsText> sidecar = ScrapeMetrics(sidecar_->metrics_address());
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  EXPECT_EQ(sidecar->Value("token_sidecar_lookup_rate_limited_total{limit=\"client\"}"),
            2 * kCalls - lookups);
  // The warning names the address the limit counted, never the claimed text.
  EXPECT_THAT(sidecar_->process().Stderr(), HasSubstr("client 127.0.0.1 is over"));
  EXPECT_THAT(sidecar_->process().Stderr(), ::testing::Not(HasSubstr("client-")));
  ExpectNoLongLogLine();
}

TEST_F(HostileClientAddressTest, OneAddressSpelledManyWaysIsOneClient) {
  // IPv4, IPv4 mapped into IPv6, and the same in other cases and with
  // leading zeros: one client, held to one client's rate.
  const std::vector<std::string> spellings = {"203.0.113.9", "::ffff:203.0.113.9",
                                              "::FFFF:CB00:7109", "0:0:0:0:0:ffff:cb00:7109"};
  constexpr int kCalls = 60;  // of each transport
  const double lookups_before = LookupCalls();
  const absl::Time start = absl::Now();
  for (int i = 0; i < kCalls; ++i) MissFrom(spellings[i % spellings.size()]);
  const double elapsed = absl::ToDoubleSeconds(absl::Now() - start);
  const double lookups = LookupCalls() - lookups_before;

  EXPECT_LE(lookups, kBurstPerClient + kRatePerClient * elapsed + 1) << "over " << elapsed << " s";
  EXPECT_THAT(sidecar_->process().Stderr(), HasSubstr("client 203.0.113.9 is over"));
}

}  // namespace
}  // namespace tokens::testing
