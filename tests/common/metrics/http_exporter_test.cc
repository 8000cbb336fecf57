#include "common/metrics/http_exporter.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/prometheus_text.h"

namespace tokens::metrics {
namespace {

TEST(HttpExporterTest, ServesTheRegistryOnAPickedPort) {
  Registry registry;
  Counter& c = registry.AddCounter("scraped_total", "Test counter.");
  c.Increment(5);
  HttpExporter exporter(registry);
  absl::StatusOr<int> port = exporter.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  ASSERT_GT(*port, 0);
  EXPECT_EQ(exporter.address(), absl::StrCat("127.0.0.1:", *port));

  auto scraped = tokens::testing::ScrapeMetrics(absl::StrCat("127.0.0.1:", *port));
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_EQ(scraped->Value("scraped_total"), 5);

  httplib::Client client("127.0.0.1", *port);
  auto other = client.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);

  exporter.Stop();
  EXPECT_FALSE(tokens::testing::ScrapeMetrics(absl::StrCat("127.0.0.1:", *port)).ok());
}

TEST(HttpExporterTest, ReportsBadAddressesAndTakenPorts) {
  Registry registry;
  HttpExporter first(registry);
  EXPECT_EQ(first.Start("no-port").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(first.Start("::1:80").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(first.Start("127.0.0.1:70000").status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<int> port = first.Start("127.0.0.1:0");
  ASSERT_TRUE(port.ok()) << port.status();
  HttpExporter second(registry);
  EXPECT_EQ(second.Start(absl::StrCat("127.0.0.1:", *port)).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(SplitHostPortTest, AcceptsV4V6AndNames) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("0.0.0.0:9101", &host, &port));
  EXPECT_EQ(host, "0.0.0.0");
  EXPECT_EQ(port, 9101);
  ASSERT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  ASSERT_TRUE(SplitHostPort("localhost:1", &host, &port));
  EXPECT_FALSE(SplitHostPort(":80", &host, &port));
  EXPECT_FALSE(SplitHostPort("host:", &host, &port));
  EXPECT_FALSE(SplitHostPort("host:-1", &host, &port));
}

}  // namespace
}  // namespace tokens::metrics
