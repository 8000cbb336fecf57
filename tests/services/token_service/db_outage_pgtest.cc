// token-service's log while its database is down under load, against the
// real binary and a real PostgreSQL stopped and restarted. How long the
// outage lasts is set by the number of calls it answers, never by a clock:
// every assertion is about what was logged and counted.
#include <atomic>
#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/postgres_instance.h"
#include "tests/support/prometheus_text.h"

namespace tokens::testing {
namespace {

constexpr char kConnectFailures[] = "token_service_db_errors_total{kind=\"connect\"}";
// The default --db_pool_size: each pooled connection that was open when
// the database went away breaks once.
constexpr int kPoolSize = 8;

class DbOutageTest : public TokenServiceTest {
 protected:
  grpc::StatusCode GetProfileCode() {
    v1::GetProfileRequest request;
    v1::GetProfileResponse response;
    return tokens_->GetProfile(As(admin_token_).get(), request, &response).error_code();
  }

  double ConnectFailures() {
    absl::StatusOr<MetricsText> scraped = ScrapeMetrics(service_->metrics_address());
    EXPECT_TRUE(scraped.ok()) << scraped.status();
    return scraped.ok() ? scraped->Value(kConnectFailures) : -1;
  }

  // The warning-or-worse lines of the "db" logger in `log`.
  static std::vector<std::string> DbWarnings(const std::string& log) {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
      if (absl::StrContains(line, R"("logger":"db")") &&
          !absl::StrContains(line, R"("level":"info")")) {
        lines.emplace_back(line);
      }
    }
    return lines;
  }
};

TEST_F(DbOutageTest, AnOutageUnderLoadIsLoggedOnceAndItsFailedAttemptsCountedWhenItEnds) {
  ASSERT_EQ(GetProfileCode(), grpc::StatusCode::OK);
  const double failures_before = ConnectFailures();
  const size_t log_before = service_->process().Stderr().size();

  ASSERT_TRUE(SharedPostgres().Stop().ok());
  // Every call now needs a connection and tries to open one.
  constexpr int kUnavailableCalls = 500;
  int unavailable = 0;
  int calls = 0;
  while (unavailable < kUnavailableCalls && calls < 20 * kUnavailableCalls) {
    ++calls;
    if (GetProfileCode() == grpc::StatusCode::UNAVAILABLE) ++unavailable;
  }
  ASSERT_EQ(unavailable, kUnavailableCalls) << "of " << calls << " calls";
  const std::vector<std::string> during =
      DbWarnings(service_->process().Stderr().substr(log_before));

  ASSERT_TRUE(SharedPostgres().Restart().ok());
  bool back = false;
  for (int i = 0; i < 1500 && !back; ++i) {
    back = GetProfileCode() == grpc::StatusCode::OK;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(back);
  absl::StatusOr<std::string> count = service_->process().WaitForStderr(
      R"(database reachable again after (\d+) failed connection attempts)",
      std::chrono::seconds(30));
  ASSERT_TRUE(count.ok()) << count.status();

  // Bounded by the pool, not by the load: one line when the outage began,
  // one per pooled connection that broke, the change listener's own.
  EXPECT_LE(during.size(), static_cast<size_t>(kPoolSize + 3))
      << during.size() << " lines, the first: " << (during.empty() ? "" : during[0]);
  int connect_lines = 0;
  for (const std::string& line : during) {
    if (absl::StrContains(line, "cannot connect to the database")) ++connect_lines;
  }
  EXPECT_EQ(connect_lines, 1);
  // The closing line counts every failed attempt, as the metric does.
  const double failed = ConnectFailures() - failures_before;
  EXPECT_GE(failed, 1);
  EXPECT_EQ(std::stod(*count), failed);
}

}  // namespace
}  // namespace tokens::testing
