#include "common/metrics/registry.h"

#include <cstdint>
#include <limits>
#include <thread>
#include <vector>

#include "common/metrics/process_metrics.h"
#include "common/metrics/rpc_metrics.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/support/prometheus_text.h"

namespace tokens::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tokens::testing::ParseMetricsText;

TEST(RegistryTest, RendersCountersAndGaugesWithHelpTypeAndLabels) {
  Registry registry;
  Counter& allowed = registry.AddCounter("checks_total", "Checks.", {{"result", "allowed"}});
  Counter& denied = registry.AddCounter("checks_total", "Checks.", {{"result", "denied"}});
  registry.AddGaugeFn("cache_tokens", "Tokens cached.", {}, [] { return 42.0; });
  allowed.Increment();
  allowed.Increment(2);
  denied.Increment();

  const std::string text = registry.Render();
  EXPECT_EQ(text,
            "# HELP checks_total Checks.\n"
            "# TYPE checks_total counter\n"
            "checks_total{result=\"allowed\"} 3\n"
            "checks_total{result=\"denied\"} 1\n"
            "# HELP cache_tokens Tokens cached.\n"
            "# TYPE cache_tokens gauge\n"
            "cache_tokens 42\n");
  auto parsed = ParseMetricsText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Value("checks_total{result=\"allowed\"}"), 3);
  EXPECT_EQ(parsed->types.at("cache_tokens"), "gauge");
}

TEST(RegistryTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry registry;
  Histogram& h = registry.AddHistogram("latency_seconds", "Latency.", {{"m", "x"}}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // upper bounds are inclusive
  h.Observe(0.5);
  h.Observe(7);
  auto parsed = ParseMetricsText(registry.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->Value("latency_seconds_bucket{m=\"x\",le=\"0.1\"}"), 2);
  EXPECT_EQ(parsed->Value("latency_seconds_bucket{m=\"x\",le=\"1\"}"), 3);
  EXPECT_EQ(parsed->Value("latency_seconds_bucket{m=\"x\",le=\"+Inf\"}"), 4);
  EXPECT_EQ(parsed->Value("latency_seconds_count{m=\"x\"}"), 4);
  EXPECT_DOUBLE_EQ(parsed->Value("latency_seconds_sum{m=\"x\"}"), 7.65);
  EXPECT_EQ(h.count(), 4u);
}

TEST(RegistryTest, EmptyHiddenHistogramsAreLeftOut) {
  Registry registry;
  registry.AddHistogram("h_seconds", "H.", {{"code", "OK"}}, {1}, /*hide_when_empty=*/true);
  Histogram& shown = registry.AddHistogram("h_seconds", "H.", {{"code", "NOT_FOUND"}}, {1}, true);
  shown.Observe(0.5);
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("h_seconds_count{code=\"NOT_FOUND\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("code=\"OK\"")));
}

TEST(RegistryTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.AddCounter("c_total", "Line one\nback\\slash", {{"v", "a\"b\\c\nd"}});
  const std::string text = registry.Render();
  EXPECT_THAT(text, HasSubstr("# HELP c_total Line one\\nback\\\\slash\n"));
  EXPECT_THAT(text, HasSubstr("c_total{v=\"a\\\"b\\\\c\\nd\"} 0\n"));
  EXPECT_TRUE(ParseMetricsText(text).ok());
}

TEST(FormatValueTest, IntegersInFullAndOtherNumbersToTheLastDigitThatCounts) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(-0.0), "0");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(-7), "-7");
  // A Unix time: all its digits, never 1.79661065e+09.
  EXPECT_EQ(FormatValue(1796610650), "1796610650");
  EXPECT_EQ(FormatValue(1796610650.123), "1796610650.123");
  EXPECT_EQ(FormatValue(1796610650.123456), "1796610650.123456");
  EXPECT_EQ(FormatValue(123456789012345678.0), "123456789012345680");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.00025), "0.00025");
  EXPECT_EQ(FormatValue(0.0001), "0.0001");
  EXPECT_EQ(FormatValue(0.00005), "5e-05");
  EXPECT_EQ(FormatValue(2.5), "2.5");
  EXPECT_EQ(FormatValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatValue(1e-9), "1e-09");
  EXPECT_EQ(FormatValue(1e300), "1e+300");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(RegistryTest, RendersExactValues) {
  Registry registry;
  Counter& big = registry.AddCounter("big_total", "Past 2^53.");
  big.Increment((uint64_t{1} << 53) + 1);
  registry.AddGaugeFn("start_time_seconds", "A time.", {}, [] { return 1796610650.25; });
  registry.AddGaugeFn("ratio", "A ratio.", {}, [] { return 0.1; });
  Histogram& h = registry.AddHistogram("d_seconds", "D.", {}, {0.00005, 2.5});
  h.Observe(0.00004);
  h.Observe(1);
  EXPECT_EQ(registry.Render(),
            "# HELP big_total Past 2^53.\n"
            "# TYPE big_total counter\n"
            "big_total 9007199254740993\n"
            "# HELP start_time_seconds A time.\n"
            "# TYPE start_time_seconds gauge\n"
            "start_time_seconds 1796610650.25\n"
            "# HELP ratio A ratio.\n"
            "# TYPE ratio gauge\n"
            "ratio 0.1\n"
            "# HELP d_seconds D.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"5e-05\"} 1\n"
            "d_seconds_bucket{le=\"2.5\"} 2\n"
            "d_seconds_bucket{le=\"+Inf\"} 2\n"
            "d_seconds_sum 1.00004\n"
            "d_seconds_count 2\n");
}

TEST(RegistryTest, ConcurrentUpdatesAreAllCounted) {
  Registry registry;
  Counter& c = registry.AddCounter("n_total", "N.");
  Histogram& h = registry.AddHistogram("d_seconds", "D.", {}, LatencyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Increment();
        h.Observe(0.001);
      }
    });
  }
  std::thread scraper([&] {
    for (int i = 0; i < 50; ++i) ASSERT_TRUE(ParseMetricsText(registry.Render()).ok());
  });
  for (auto& t : threads) t.join();
  scraper.join();
  EXPECT_EQ(c.value(), 80000u);
  EXPECT_EQ(h.count(), 80000u);
  EXPECT_NEAR(h.sum(), 80.0, 1e-6);
}

TEST(RegistryDeathTest, RefusesInvalidNamesAndDuplicateSeries) {
  Registry registry;
  EXPECT_DEATH(registry.AddCounter("bad-name", "x"), "bad metric name");
  EXPECT_DEATH(registry.AddCounter("ok_total", "x", {{"le", "1"}}), "bad label name");
  registry.AddCounter("dup_total", "x", {{"a", "1"}});
  EXPECT_DEATH(registry.AddCounter("dup_total", "x", {{"a", "1"}}), "same labels twice");
  EXPECT_DEATH(registry.AddGaugeFn("dup_total", "x", {{"a", "2"}}, [] { return 0.0; }),
               "another type");
}

TEST(RpcMetricsTest, CountsStartedAndHandledCallsInGoGrpcPrometheusNames) {
  // Links the health proto in, as registering the service does in a server.
  ASSERT_NE(grpc::health::v1::HealthCheckRequest::descriptor(), nullptr);
  Registry registry;
  RpcMetrics rpc(registry, "grpc.health.v1.Health");
  rpc.Started("Check");
  rpc.Started("Check");
  rpc.Started("Check");
  rpc.Started("Watch");
  rpc.Handled("Check", grpc::StatusCode::OK, absl::Microseconds(70));
  rpc.Handled("Check", grpc::StatusCode::OK, absl::Milliseconds(3));
  rpc.Handled("Check", grpc::StatusCode::NOT_FOUND, absl::Microseconds(10));
  rpc.Started("NoSuchMethod");                                                // ignored
  rpc.Handled("NoSuchMethod", grpc::StatusCode::OK, absl::Microseconds(10));  // ignored
  const std::string text = registry.Render();
  auto parsed = ParseMetricsText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const std::string check =
      R"(grpc_type="unary",grpc_service="grpc.health.v1.Health",grpc_method="Check")";
  const std::string watch =
      R"(grpc_type="server_stream",grpc_service="grpc.health.v1.Health",grpc_method="Watch")";
  EXPECT_EQ(parsed->types.at("grpc_server_started_total"), "counter");
  EXPECT_EQ(parsed->types.at("grpc_server_handled_total"), "counter");
  EXPECT_EQ(parsed->types.at("grpc_server_handling_seconds"), "histogram");
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{" + check + "} 3\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_started_total{" + watch + "} 1\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{" + check + R"(,grpc_code="OK"} 2)"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handled_total{" + check + R"(,grpc_code="NOT_FOUND"} 1)"));
  // Every code of every method is there before its first call.
  EXPECT_THAT(text, HasSubstr("grpc_server_handled_total{" + watch + R"(,grpc_code="OK"} 0)"));
  EXPECT_THAT(
      text, HasSubstr("grpc_server_handled_total{" + check + R"(,grpc_code="UNAUTHENTICATED"} 0)"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{" + check + "} 3\n"));
  EXPECT_THAT(text,
              HasSubstr("grpc_server_handling_seconds_bucket{" + check + R"(,le="0.0001"} 2)"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_sum{" + check + "} 0.00308\n"));
  EXPECT_THAT(text, HasSubstr("grpc_server_handling_seconds_count{" + watch + "} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("NoSuchMethod")));
}

TEST(RpcMetricsTest, TypesFromTheDescriptor) {
  EXPECT_EQ(GrpcType(false, false), "unary");
  EXPECT_EQ(GrpcType(true, false), "client_stream");
  EXPECT_EQ(GrpcType(false, true), "server_stream");
  EXPECT_EQ(GrpcType(true, true), "bidi_stream");
}

TEST(RpcMetricsTest, CodeNames) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::OK), "OK");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::UNAUTHENTICATED), "UNAUTHENTICATED");
}

}  // namespace
}  // namespace tokens::metrics

namespace tokens::metrics {
namespace {

TEST(ProcessMetricsTest, ReportsThisProcess) {
  Registry registry;
  AddProcessMetrics(registry);
  auto parsed = tokens::testing::ParseMetricsText(registry.Render());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_GT(parsed->Value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(parsed->Value("process_start_time_seconds"), 1.7e9);
  EXPECT_GE(parsed->Value("process_cpu_seconds_total"), 0);
}

}  // namespace
}  // namespace tokens::metrics
