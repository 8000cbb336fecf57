// SyncClient against an in-process TokenSync that ends every stream right
// after its last message, as token-service does when the sidecar's token is
// revoked or it shuts down.
#include "sidecar/sync/sync_client.h"

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/sync/token_service_client.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::sidecar {
namespace {

constexpr int kDeltasPerStream = 20;

// Each stream: a (empty) snapshot, deltas, then an error status straight
// after the last one.
class EndingTokenSync final : public v1::TokenSync::Service {
 public:
  grpc::Status SyncTokens(grpc::ServerContext*, const v1::SyncTokensRequest*,
                          grpc::ServerWriter<v1::SyncTokensResponse>* writer) override {
    ++streams_;
    v1::SyncTokensResponse message;
    message.set_kind(v1::SyncTokensResponse::SNAPSHOT_END);
    message.set_version(1);
    writer->Write(message);
    for (int i = 0; i < kDeltasPerStream; ++i) {
      message.set_kind(v1::SyncTokensResponse::DELTA);
      message.set_version(2 + i);
      writer->Write(message);
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away");
  }

  int streams() const { return streams_.load(); }

 private:
  std::atomic<int> streams_{0};
};

TEST(SyncClientTest, NoticesEachEndOfTheStreamAndOpensANewOne) {
  EndingTokenSync service;
  testing::LocalServer server({&service});
  TokenServiceClient client(server.NewChannel(), "utk_unused", {});
  TokenCache cache;
  SyncClient sync(client, cache, SyncClient::Options{absl::Milliseconds(1), absl::Milliseconds(2)},
                  [] {});
  sync.Start();

  // A stream whose end went unnoticed would leave the client waiting on it
  // for good, and no further stream would open.
  constexpr int kStreams = 30;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (service.streams() < kStreams && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  sync.Stop();

  EXPECT_GE(service.streams(), kStreams);
  const SyncClient::Stats stats = sync.stats();
  EXPECT_GE(stats.streams_opened, static_cast<uint64_t>(kStreams));
  EXPECT_FALSE(stats.stream_up);
  // Every message of every finished stream was applied before its end.
  EXPECT_GE(stats.deltas_applied, static_cast<uint64_t>((kStreams - 1) * kDeltasPerStream));
}

}  // namespace
}  // namespace tokens::sidecar
