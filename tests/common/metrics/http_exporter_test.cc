#include "common/metrics/http_exporter.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/http/host_port.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/slow_http_client.h"

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

using ::tokens::testing::DripClient;
using ::tokens::testing::RawConnection;
using ::tokens::testing::ScrapeMetrics;

// Long enough never to pass during a test: whatever a test shows is not the
// work of a deadline.
constexpr absl::Duration kForever = absl::Minutes(10);
// Bounds on waiting for what must happen, generous for a loaded machine.
constexpr absl::Duration kPatience = absl::Seconds(60);

HttpGetServer::Options NoDeadlines() {
  HttpGetServer::Options options;
  options.head_timeout = kForever;
  options.idle_timeout = kForever;
  options.write_timeout = kForever;
  return options;
}

// An exporter on 127.0.0.1 with a registry of one counter.
class ExporterTest : public ::testing::Test {
 protected:
  void Serve(HttpGetServer::Options limits) {
    registry_.AddCounter("scraped_total", "Test counter.").Increment(5);
    exporter_ = std::make_unique<HttpExporter>(registry_, limits);
    absl::StatusOr<int> port = exporter_->Start("127.0.0.1:0");
    ASSERT_TRUE(port.ok()) << port.status();
  }
  const std::string& address() const { return exporter_->address(); }

  void ExpectAScrapeSucceeds() {
    absl::StatusOr<tokens::testing::MetricsText> scraped = ScrapeMetrics(address());
    ASSERT_TRUE(scraped.ok()) << scraped.status();
    EXPECT_EQ(scraped->Value("scraped_total"), 5);
  }

  // Sends `request` on a new connection and returns all the server sends
  // until it closes the connection.
  std::string Exchange(const std::string& request) {
    auto connection = RawConnection::Connect(address());
    EXPECT_TRUE(connection.ok()) << connection.status();
    if (!connection.ok()) return "";
    (*connection)->Send(request);
    std::optional<std::string> answer = (*connection)->ReadUntilClosed(kPatience);
    EXPECT_TRUE(answer.has_value()) << "the server did not close the connection";
    return answer.value_or("");
  }

  Registry registry_;
  std::unique_ptr<HttpExporter> exporter_;
};

TEST_F(ExporterTest, SlowDripClientsDoNotDelayAConcurrentScrape) {
  Serve(NoDeadlines());
  // More drips than the old server had worker threads, each mid-head.
  std::vector<std::unique_ptr<DripClient>> drips;
  for (int i = 0; i < 4; ++i) {
    auto drip = DripClient::Start(address(), absl::Milliseconds(100));
    ASSERT_TRUE(drip.ok()) << drip.status();
    drips.push_back(std::move(*drip));
  }
  for (const auto& drip : drips) ASSERT_TRUE(drip->AwaitSent(3, kPatience));
  for (int i = 0; i < 3; ++i) ExpectAScrapeSucceeds();
  for (const auto& drip : drips) EXPECT_TRUE(drip->AwaitSent(6, kPatience)) << "still dripping";
}

TEST_F(ExporterTest, IdleConnectionsBeyondTheCapDoNotStopAScrapeAndTheOldestAreClosed) {
  HttpGetServer::Options limits = NoDeadlines();
  limits.max_connections = 4;
  Serve(limits);
  constexpr int kIdle = 12;
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < kIdle; ++i) {
    auto connection = RawConnection::Connect(address());
    ASSERT_TRUE(connection.ok()) << connection.status();
    idle.push_back(std::move(*connection));
  }
  ExpectAScrapeSucceeds();
  // The scrape was accepted after all of them, so at most max_connections - 1
  // of them can still be open.
  const absl::Time deadline = absl::Now() + kPatience;
  int closed = 0;
  while (absl::Now() < deadline) {
    closed = 0;
    for (const auto& connection : idle) closed += connection->ClosedNow() ? 1 : 0;
    if (closed >= kIdle - (limits.max_connections - 1)) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_GE(closed, kIdle - (limits.max_connections - 1));
  // The first connected are the first closed.
  EXPECT_TRUE(idle.front()->ClosedNow());
}

TEST_F(ExporterTest, ADripClientIsClosedAfterTheHeadDeadline) {
  HttpGetServer::Options limits = NoDeadlines();
  limits.head_timeout = absl::Milliseconds(300);
  Serve(limits);
  auto drip = DripClient::Start(address(), absl::Milliseconds(20));
  ASSERT_TRUE(drip.ok()) << drip.status();
  auto silent = RawConnection::Connect(address());
  ASSERT_TRUE(silent.ok()) << silent.status();
  // Closed although it never stops sending: the deadline is for the whole
  // head, not for each byte.
  EXPECT_TRUE((*drip)->AwaitClosed(kPatience));
  std::optional<std::string> answer = (*silent)->ReadUntilClosed(kPatience);
  ASSERT_TRUE(answer.has_value()) << "a connection that sends nothing is never closed";
  EXPECT_EQ(*answer, "");
  ExpectAScrapeSucceeds();
}

TEST_F(ExporterTest, AnIdleKeptAliveConnectionIsClosedAfterTheIdleDeadline) {
  HttpGetServer::Options limits = NoDeadlines();
  limits.idle_timeout = absl::Milliseconds(300);
  Serve(limits);
  auto connection = RawConnection::Connect(address());
  ASSERT_TRUE(connection.ok()) << connection.status();
  (*connection)->Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  std::optional<std::string> answer = (*connection)->ReadUntilClosed(kPatience);
  ASSERT_TRUE(answer.has_value()) << "an idle connection is never closed";
  EXPECT_TRUE(absl::StartsWith(*answer, "HTTP/1.1 200 OK\r\n")) << *answer;
  EXPECT_TRUE(absl::StrContains(*answer, "Connection: keep-alive\r\n")) << *answer;
}

// A registry whose text is large (about 200 KiB), so that a client that does
// not read holds the server's write long before all its answers are sent.
void AddManySeries(Registry& registry) {
  for (int i = 0; i < 5000; ++i) {
    registry.AddCounter("padding_total", "Padding.", {{"series", absl::StrCat("s", i)}});
  }
}

// 1000 pipelined requests, far more answers than socket buffers hold.
std::string PipelinedScrapes() {
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  return requests;
}

TEST_F(ExporterTest, AClientThatDoesNotReadItsAnswersDoesNotStopAScrape) {
  AddManySeries(registry_);
  Serve(NoDeadlines());
  std::vector<std::unique_ptr<RawConnection>> stalled;
  for (int i = 0; i < 3; ++i) {
    auto connection = RawConnection::Connect(address(), /*receive_buffer=*/4096);
    ASSERT_TRUE(connection.ok()) << connection.status();
    ASSERT_TRUE((*connection)->Send(PipelinedScrapes()));
    stalled.push_back(std::move(*connection));
  }
  for (int i = 0; i < 3; ++i) ExpectAScrapeSucceeds();
}

TEST_F(ExporterTest, AClientThatDoesNotReadIsClosedAfterTheWriteDeadline) {
  AddManySeries(registry_);
  HttpGetServer::Options limits = NoDeadlines();
  limits.write_timeout = absl::Milliseconds(300);
  Serve(limits);
  auto connection = RawConnection::Connect(address(), /*receive_buffer=*/4096);
  ASSERT_TRUE(connection.ok()) << connection.status();
  // More requests than a head's worth, so some are still unread in the
  // server's socket when it closes: it resets the connection, which shows
  // here without reading (reading would let the answer go on).
  std::string requests;
  for (int i = 0; i < 4; ++i) requests += PipelinedScrapes();
  ASSERT_TRUE((*connection)->Send(requests));
  EXPECT_TRUE((*connection)->AwaitReset(kPatience));
  ExpectAScrapeSucceeds();
}

TEST_F(ExporterTest, MalformedOversizedAndOtherRequestsGetTheirStatusAndAClose) {
  Serve(NoDeadlines());
  struct Case {
    std::string request;
    std::string status_line;  // what the answer starts with
  };
  const std::vector<Case> cases = {
      {"garbage\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 400 "},
      {"GET metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\n folded: header\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431 "},
      {"GET /metrics HTTP/1.1\r\nX-Endless: " + std::string(20000, 'a'), "HTTP/1.1 431 "},
      {"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", "HTTP/1.1 405 "},
      {"DELETE /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 "},
      {"GET /other HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 "},
      {"GET /metrics HTTP/1.0\r\n\r\n", "HTTP/1.1 200 "},
  };
  for (const Case& c : cases) {
    const std::string answer = Exchange(c.request);
    EXPECT_TRUE(absl::StartsWith(answer, c.status_line))
        << c.request.substr(0, 60) << " -> " << answer.substr(0, 200);
    EXPECT_TRUE(absl::StrContains(answer, "\r\nConnection: close\r\n")) << answer.substr(0, 200);
  }
  ExpectAScrapeSucceeds();
}

TEST_F(ExporterTest, KeepAlivePipeliningAndHead) {
  Serve(NoDeadlines());
  const std::string answer = Exchange(
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /metrics?x=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
      "GET /nothing HTTP/1.1\r\n\r\n"
      "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n");
  const std::vector<std::string> answers = absl::StrSplit(answer, "HTTP/1.1 ", absl::SkipEmpty());
  ASSERT_EQ(answers.size(), 5u) << answer;
  const std::string text = registry_.Render();
  EXPECT_TRUE(absl::EndsWith(answers[0], "\r\n\r\n" + text)) << answers[0];
  EXPECT_TRUE(absl::StartsWith(answers[0], "200 OK\r\nContent-Type: text/plain; version=0.0.4"))
      << answers[0];
  EXPECT_TRUE(absl::StrContains(answers[1], absl::StrCat("Content-Length: ", text.size())))
      << answers[1];
  EXPECT_TRUE(absl::EndsWith(answers[1], "\r\n\r\n")) << "HEAD has no body: " << answers[1];
  EXPECT_TRUE(absl::StrContains(answers[2], "Connection: keep-alive\r\n")) << answers[2];
  EXPECT_TRUE(absl::StartsWith(answers[3], "404 ")) << answers[3];
  EXPECT_TRUE(absl::StrContains(answers[4], "Connection: close\r\n")) << answers[4];
}

TEST(HttpExporterV6Test, ServesOnIpv6Loopback) {
  Registry registry;
  registry.AddCounter("scraped_total", "Test counter.").Increment(2);
  HttpExporter exporter(registry);
  absl::StatusOr<int> port = exporter.Start("[::1]:0");
  if (!port.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << port.status();
  EXPECT_EQ(exporter.address(), absl::StrCat("[::1]:", *port));
  absl::StatusOr<tokens::testing::MetricsText> scraped = ScrapeMetrics(exporter.address());
  ASSERT_TRUE(scraped.ok()) << scraped.status();
  EXPECT_EQ(scraped->Value("scraped_total"), 2);
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
