// token-service's transport limits and drain, against the real binary: a
// client opening thousands of streams on one connection, beyond
// --max_concurrent_streams, loses the connection and the process's memory
// stays bounded;
// oversized metadata is refused before any handler sees it; SIGTERM tells
// health watchers NOT_SERVING, ends their streams and exits 0 without
// waiting out --shutdown_timeout; a listener wedged by EMFILE is reported
// by `token-service probe`.
#include <string>

#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/transport_checks.h"

namespace tokens::testing {
namespace {

constexpr char kListTokens[] = "/tokens.v1.TokenService/ListTokens";

class TransportLimitsTest : public TokenServiceTest {};

TEST_F(TransportLimitsTest, StreamsBeyondTheCapEndTheConnectionAndMemoryStaysBounded) {
  const StreamFloodResult flood =
      FloodOneConnection(service_->process(), service_->address(), kListTokens,
                         {{"authorization", "Bearer " + admin_token_}});
  ExpectFloodBounded(flood);
}

TEST_F(TransportLimitsTest, OversizedMetadataIsRefusedBeforeAnyHandler) {
  ExpectOversizedMetadataRefused(service_->address(), kListTokens,
                                 {{"authorization", "Bearer " + admin_token_}}, "");
}

TEST_F(TransportLimitsTest, SigtermTellsHealthWatchersThenExitsZeroWithoutWaitingForThem) {
  // Far longer than the test waits: a drain that waited for the Watch stream
  // would fail it.
  RestartService({"--shutdown_timeout=120s"});
  ExpectCleanDrain(service_->process(), service_->address());
}

// gRPC 1.51 stops accepting for good once accept() fails with EMFILE (see
// docs/operations.md); the probe is what tells Kubernetes.
TEST_F(TransportLimitsTest, AListenerOutOfDescriptorsIsServedAgainOrReportedByTheProbe) {
  ChildProcess::Options options{TokenServiceBinary(),
                                {"--listen", "127.0.0.1:0", "--metrics_listen", "", "--http_listen",
                                 "", "--database_url", database_url_},
                                {},
                                {"DATABASE_URL"}};
  options.open_files_limit = kLowOpenFilesLimit;
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> server = ChildProcess::Spawn(options);
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<ReadyFileContents> ready = (*server)->WaitUntilReady(std::chrono::seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  ExpectExhaustedListenerRecoversOrIsReported(**server, ready->addresses["grpc"],
                                              TokenServiceBinary());
}

}  // namespace
}  // namespace tokens::testing
