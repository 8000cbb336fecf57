// token-sidecar's transport limits and drain, against the real binary (the
// checks are token-service's too, see tests/support/transport_checks.h): a
// stream flood on one connection ends at --max_concurrent_streams with
// bounded memory; oversized metadata is refused; SIGTERM tells health
// watchers NOT_SERVING and exits 0 without waiting for them; a listener out
// of descriptors is reported by `token-sidecar probe`. And a connection's
// max age on token-service ends the sidecar's feed stream, which resumes
// from the version the sidecar holds, without a new snapshot.
#include <string>

#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/transport_checks.h"
#include "tokens/v1/authenticator.pb.h"

namespace tokens::testing {
namespace {

constexpr char kAuthenticate[] = "/tokens.v1.Authenticator/Authenticate";

class SidecarTransportTest : public SidecarTest {};

// Occurrences of `needle` in `haystack`.
size_t Count(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size())) {
    ++count;
  }
  return count;
}

TEST_F(SidecarTransportTest, StreamsBeyondTheCapEndTheConnectionAndMemoryStaysBounded) {
  const StreamFloodResult flood =
      FloodOneConnection(sidecar_->process(), sidecar_->address(), kAuthenticate, {});
  ExpectFloodBounded(flood);
}

TEST_F(SidecarTransportTest, OversizedMetadataIsRefusedBeforeAnyHandler) {
  v1::AuthenticateRequest request;
  request.set_token(NewUserWithToken("alice", v1::USER));
  ExpectOversizedMetadataRefused(sidecar_->address(), kAuthenticate, {},
                                 request.SerializeAsString());
}

TEST_F(SidecarTransportTest, SigtermTellsHealthWatchersThenExitsZeroWithoutWaitingForThem) {
  // Far longer than the test waits: a drain that waited for the Watch stream
  // would fail it.
  std::unique_ptr<SidecarProcess> sidecar = StartSidecar({"--shutdown_timeout=120s"});
  ASSERT_NE(sidecar, nullptr);
  ExpectCleanDrain(sidecar->process(), sidecar->address());
}

TEST_F(SidecarTransportTest, AListenerOutOfDescriptorsIsServedAgainOrReportedByTheProbe) {
  ChildProcess::Options options{SidecarBinary(),
                                {"--listen", "127.0.0.1:0", "--metrics_listen", "",
                                 "--token_service", service_->address()},
                                {{"TOKEN_SIDECAR_SERVICE_TOKEN", service_token_}},
                                {}};
  options.open_files_limit = kLowOpenFilesLimit;
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> server = ChildProcess::Spawn(options);
  ASSERT_TRUE(server.ok()) << server.status();
  // Ready first, so that the probe's verdict is about the listener.
  absl::StatusOr<ReadyFileContents> ready = (*server)->WaitUntilReady(std::chrono::seconds(60));
  ASSERT_TRUE(ready.ok()) << ready.status();
  ExpectExhaustedListenerRecoversOrIsReported(**server, ready->addresses["grpc"], SidecarBinary());
}

TEST_F(SidecarTransportTest, AConnectionsMaxAgeEndsTheFeedStreamWhichResumesFromItsVersion) {
  RestartService({"--max_connection_age=1s", "--max_connection_age_grace=1s"});
  std::unique_ptr<SidecarProcess> sidecar = StartSidecar();
  ASSERT_NE(sidecar, nullptr);
  // Each age (1 s ±10 %, plus the grace) ends the stream; the sidecar reopens
  // it from its version and token-service serves the changes since then.
  EXPECT_TRUE(Eventually([&] {
    return Count(service_->process().Stderr(), "resumes from version") >= 3;
  }, std::chrono::seconds(60))) << service_->process().Stderr();
  // Still following the feed: a token issued now is accepted.
  const std::string token = NewUserWithToken("bob", v1::USER);
  EXPECT_TRUE(Eventually([&] { return CheckToken(token, sidecar.get()).has_ok_response(); }));
  // One snapshot, at the start; every later stream resumed.
  EXPECT_EQ(Count(sidecar->process().Stderr(), "snapshot loaded"), 1u)
      << sidecar->process().Stderr();
}

}  // namespace
}  // namespace tokens::testing
