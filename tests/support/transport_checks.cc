#include "tests/support/transport_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/support/health_check.h"
#include "tests/support/raw_h2.h"
#include "tests/support/sanitizer_slack.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using Health = grpc::health::v1::HealthCheckResponse;

constexpr int kResourceExhausted = 8;     // grpc-status

// Polls `condition` until true or `timeout`; returns the last result.
template <typename Condition>
bool Await(Condition condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return condition();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

}  // namespace

StreamFloodResult FloodOneConnection(const ChildProcess& server, const std::string& address,
                                     const std::string& path,
                                     const std::map<std::string, std::string>& metadata,
                                     int streams) {
  StreamFloodResult result;
  result.rss_before_kib = server.ResidentKib().value_or(-1);
  RawH2Connection::Options options;
  options.ignore_stream_limit = true;
  absl::StatusOr<std::unique_ptr<RawH2Connection>> connection =
      RawH2Connection::Connect(address, options);
  EXPECT_TRUE(connection.ok()) << connection.status();
  if (!connection.ok()) return result;
  RawH2Connection& h2 = **connection;
  // The server enforces its limit once we have acknowledged its SETTINGS.
  EXPECT_TRUE(h2.AwaitSettled(absl::Seconds(30)));
  int opened = 0;
  for (; opened < kDefaultMaxConcurrentStreams; ++opened) {
    EXPECT_GT(h2.OpenHalfOpenCall(path, metadata), 0);
  }
  // Answered only once the server has read every stream before the PING.
  result.open_at_cap = h2.RoundTrip(absl::Seconds(60)) && !h2.connection_closed();
  result.rss_at_cap_kib = server.ResidentKib().value_or(-1);
  for (; opened < streams; ++opened) {
    if (h2.OpenHalfOpenCall(path, metadata) <= 0) break;
  }
  result.closed_beyond_cap = Await([&] { return h2.connection_closed(); }, absl::Seconds(60));
  result.rss_after_kib = server.ResidentKib().value_or(-1);
  return result;
}

void ExpectFloodBounded(const StreamFloodResult& flood) {
  const int64_t growth =
      std::max(flood.rss_at_cap_kib, flood.rss_after_kib) - flood.rss_before_kib;
  std::cout << "stream flood on one connection: server RSS " << flood.rss_before_kib
            << " KiB before, " << flood.rss_at_cap_kib << " KiB holding "
            << kDefaultMaxConcurrentStreams << " half-open calls, " << flood.rss_after_kib
            << " KiB after the streams beyond them (connection "
            << (flood.closed_beyond_cap ? "closed" : "still open") << ")" << std::endl;
  EXPECT_TRUE(flood.open_at_cap) << "the server did not hold the calls up to the cap";
  EXPECT_TRUE(flood.closed_beyond_cap) << "streams beyond the cap were accepted";
  ASSERT_GT(flood.rss_before_kib, 0);
  EXPECT_LT(growth, kFloodRssBoundKib + kSanitizerSlackKib);
}

void ExpectOversizedMetadataRefused(const std::string& address, const std::string& path,
                                    const std::map<std::string, std::string>& metadata,
                                    const std::string& message) {
  // What the handler answers this call: the baseline.
  const auto call = [&](const std::map<std::string, std::string>& headers) {
    // A connection each: the server may end the whole connection.
    absl::StatusOr<std::unique_ptr<RawH2Connection>> h2 = RawH2Connection::Connect(address, {});
    EXPECT_TRUE(h2.ok()) << h2.status();
    if (!h2.ok()) return RawH2Connection::Stream{};
    EXPECT_TRUE((*h2)->AwaitSettled(absl::Seconds(30)));
    const int32_t id = (*h2)->StartGrpcCall(path, headers, message);
    EXPECT_GT(id, 0);
    EXPECT_TRUE((*h2)->AwaitClosed(id, absl::Seconds(30)) || (*h2)->connection_closed());
    return (*h2)->stream(id);
  };
  const RawH2Connection::Stream baseline = call(metadata);
  ASSERT_TRUE(baseline.grpc_status.has_value());
  ASSERT_NE(*baseline.grpc_status, kResourceExhausted) << baseline.grpc_message;

  const std::string big(3 << 20, 'a');
  std::map<std::string, std::string> big_authorization = metadata;
  big_authorization["authorization"] = "Bearer " + big;
  std::map<std::string, std::string> big_extra = metadata;
  big_extra["x-extra"] = big;
  for (const auto& [name, headers] : std::map<std::string, std::map<std::string, std::string>>{
           {"3 MB authorization", big_authorization}, {"3 MB extra header", big_extra}}) {
    SCOPED_TRACE(name);
    const RawH2Connection::Stream s = call(headers);
    std::cout << name << ": reset " << s.reset_code << ", grpc-status "
              << (s.grpc_status ? std::to_string(*s.grpc_status) : "none") << " "
              << s.grpc_message << std::endl;
    // Refused by the transport, never answered by the handler.
    EXPECT_TRUE(s.grpc_status == kResourceExhausted || s.reset_code != 0)
        << "grpc-status " << s.grpc_status.value_or(-1) << ": " << s.grpc_message;
  }
  // Below the limit, the handler answers as without the header.
  std::map<std::string, std::string> modest = metadata;
  modest["x-extra"] = std::string(8192, 'c');
  const RawH2Connection::Stream served = call(modest);
  EXPECT_EQ(served.grpc_status, baseline.grpc_status) << served.grpc_message;
}

void ExpectCleanDrain(ChildProcess& server, const std::string& address) {
  {
    // The watcher's own channel, dropped once its stream has ended: an idle
    // gRPC C++ channel reads its connection only every 5 s (its backup
    // poller), so it would answer the server's shutdown PING that late, and
    // the server waits for that answer before closing the connection.
    HealthWatch watch(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), "");
    ASSERT_TRUE(watch.AwaitStatus(Health::SERVING, std::chrono::seconds(30)));
    if (!server.ready_file().empty()) {
      EXPECT_TRUE(ReadReadyFile(server.ready_file()).ok()) << "ready and serving";
    }
    server.Signal(SIGTERM);
    EXPECT_TRUE(watch.AwaitStatus(Health::NOT_SERVING, std::chrono::seconds(60)));
    // The ready file goes before the health status changes: whoever reads
    // it never finds a draining process.
    if (!server.ready_file().empty()) {
      EXPECT_EQ(ReadReadyFile(server.ready_file()).status().code(), absl::StatusCode::kNotFound);
    }
    ASSERT_TRUE(watch.AwaitEnd(std::chrono::seconds(60)));
    EXPECT_THAT(watch.received(), ElementsAre(Health::SERVING, Health::NOT_SERVING));
    EXPECT_EQ(watch.end_status().error_code(), grpc::StatusCode::UNAVAILABLE)
        << watch.end_status().error_message();
  }
  absl::StatusOr<int> exit = server.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << server.Stderr();
  absl::StatusOr<std::string> took =
      server.WaitForStderr(R"(stopped in ([0-9]+) ms)", std::chrono::seconds(1));
  ASSERT_TRUE(took.ok()) << took.status();
  std::cout << "drain with an open Watch stream: stopped in " << *took << " ms" << std::endl;
}

void ExpectExhaustedListenerRecoversOrIsReported(ChildProcess& server, const std::string& address,
                                                 const std::string& binary) {
  // The binary raised its soft limit to the hard one it was given.
  EXPECT_TRUE(server
                  .WaitForStderr(absl::StrCat("open files limit: soft ", kLowOpenFilesLimit,
                                              ", hard ", kLowOpenFilesLimit),
                                 std::chrono::seconds(10))
                  .ok())
      << server.Stderr();
  const size_t colon = address.rfind(':');
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  ASSERT_EQ(inet_pton(AF_INET, address.substr(0, colon).c_str(), &peer.sin_addr), 1);
  // Non-blocking connects: once the server stops accepting, the kernel
  // still completes handshakes into the listen backlog.
  std::vector<int> sockets;
  bool exhausted = false;
  for (uint64_t i = 0; i < kLowOpenFilesLimit + 300 && !exhausted; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0) << std::strerror(errno);
    sockets.push_back(fd);
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&peer), sizeof(peer));
    if (i % 20 == 19) {
      exhausted =
          server.WaitForStderr("Failed accept4", std::chrono::milliseconds(200)).ok();
    }
  }
  if (!exhausted) {
    exhausted = server.WaitForStderr("Failed accept4", std::chrono::seconds(30)).ok();
  }
  for (int fd : sockets) close(fd);
  ASSERT_TRUE(exhausted) << "no \"Failed accept4\" after " << sockets.size()
                         << " connections; stderr:\n"
                         << server.Stderr();
  std::cout << "descriptors exhausted after " << sockets.size() << " plain connections"
            << std::endl;

  // Give the server every chance to accept again before judging it.
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status served =
      HealthCheck(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), "",
                  &response, std::chrono::seconds(5));
  absl::StatusOr<ChildProcess::Result> probe = ChildProcess::Run(
      {binary, {"probe", "--address", address, "--probe_timeout", "3s"}, {}, {}},
      std::chrono::seconds(60));
  ASSERT_TRUE(probe.ok()) << probe.status();
  std::cout << "after the connections closed: a new connection "
            << (served.ok() ? "was served" : "was not served (" + served.error_message() + ")")
            << "; probe exited " << probe->exit_code << ": " << probe->out << probe->err
            << std::endl;
  const bool reported = probe->exit_code == 1 && absl::StrContains(probe->err, "wedged");
  EXPECT_TRUE(served.ok() || reported);
  // Whichever it is, the probe must agree with it.
  if (served.ok()) {
    EXPECT_EQ(probe->exit_code, 0) << probe->err;
  } else {
    EXPECT_TRUE(reported) << probe->err;
  }
}

}  // namespace tokens::testing
