// GrpcFeedSource, and SyncClient driving it, against in-process TokenSync
// servers: what a stream carries, a message the sidecar cannot use, a
// token-service that is not listening yet, and streams that end. The waits
// below only keep a broken client from hanging the test; nothing asserts how
// long anything took.
#include "sidecar/sync/grpc_feed_source.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/sync/sync_client.h"
#include "sidecar/sync/token_service_client.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::sidecar {
namespace {

constexpr char kServiceToken[] = "utk_the_sidecars_token";
constexpr absl::Duration kHangGuard = absl::Seconds(60);

void AddToken(v1::SyncTokensResponse& message, int n) {
  v1::SyncedToken* token = message.add_tokens();
  const TokenHash hash = TokenCodec::Hash(absl::StrCat("token-", n));
  token->set_token_hash(std::string(hash.begin(), hash.end()));
  token->set_token_id(absl::StrCat("00000000-0000-0000-0000-00000000000", n));
  token->set_user_id("alice");
  token->set_expires_on("2027-01-01");
  token->set_version(n);
  v1::SyncedUser* user = message.add_users();
  user->set_user_id("alice");
  user->set_role(v1::USER);
}

v1::SyncTokensResponse Message(v1::SyncTokensResponse::Kind kind, int64_t version,
                               std::vector<int> tokens = {}) {
  v1::SyncTokensResponse message;
  message.set_kind(kind);
  message.set_version(version);
  for (int n : tokens) AddToken(message, n);
  return message;
}

// Holds a server-side stream open until the client cancels it; false if it
// never does.
bool AwaitCancellation(grpc::ServerContext* context) {
  const absl::Time give_up = absl::Now() + kHangGuard;
  while (!context->IsCancelled()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// Sends its messages, then holds the stream open until the client cancels.
class ScriptedTokenSync final : public v1::TokenSync::Service {
 public:
  explicit ScriptedTokenSync(std::vector<v1::SyncTokensResponse> messages)
      : messages_(std::move(messages)) {}

  grpc::Status SyncTokens(grpc::ServerContext* context, const v1::SyncTokensRequest* request,
                          grpc::ServerWriter<v1::SyncTokensResponse>* writer) override {
    from_version_ = request->from_version();
    auto authorization = context->client_metadata().find("authorization");
    if (authorization != context->client_metadata().end()) {
      authorization_ = std::string(authorization->second.data(), authorization->second.size());
    }
    for (const v1::SyncTokensResponse& message : messages_) writer->Write(message);
    cancelled_ = AwaitCancellation(context);
    done_.Notify();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away");
  }

  // Once the stream is over: what the client asked with, and whether it
  // cancelled.
  void AwaitDone() { done_.WaitForNotificationWithTimeout(kHangGuard); }
  int64_t from_version() const { return from_version_; }
  const std::string& authorization() const { return authorization_; }
  bool cancelled() const { return cancelled_; }

 private:
  const std::vector<v1::SyncTokensResponse> messages_;
  // Written by the one stream before done_ is notified.
  int64_t from_version_ = -1;
  std::string authorization_;
  bool cancelled_ = false;
  absl::Notification done_;
};

// A ScriptedTokenSync served in-process, and a GrpcFeedSource reading it.
struct ServedScript {
  explicit ServedScript(std::vector<v1::SyncTokensResponse> messages)
      : service(std::move(messages)),
        server({&service}),
        client(NewTokenServiceChannel(server.address()), kServiceToken, {}),
        source(client) {}

  ScriptedTokenSync service;
  testing::LocalServer server;
  TokenServiceClient client;
  GrpcFeedSource source;
};

TEST(GrpcFeedSourceTest, ConvertsEachMessageAndAsksFromTheVersionWithTheServiceToken) {
  ServedScript served({Message(v1::SyncTokensResponse::SNAPSHOT, 0, {1, 2}),
                       Message(v1::SyncTokensResponse::SNAPSHOT_END, 9),
                       Message(v1::SyncTokensResponse::DELTA, 10, {3}),
                       Message(v1::SyncTokensResponse::KIND_UNSPECIFIED, 11)});
  std::unique_ptr<FeedStream> stream = served.source.Open(7);
  std::vector<FeedMessage> read(4);
  for (FeedMessage& message : read) ASSERT_TRUE(stream->Read(&message));
  stream->Cancel();
  EXPECT_FALSE(stream->Read(&read[0]));
  EXPECT_EQ(stream->Finish().code(), absl::StatusCode::kCancelled);
  served.service.AwaitDone();

  EXPECT_EQ(served.service.from_version(), 7);
  EXPECT_EQ(served.service.authorization(), absl::StrCat("Bearer ", kServiceToken));
  EXPECT_EQ(read[0].kind, FeedMessage::Kind::kSnapshot);
  ASSERT_EQ(read[0].tokens.size(), 2u);
  EXPECT_EQ(read[0].tokens[1].hash, TokenCodec::Hash("token-2"));
  EXPECT_EQ(read[0].users.size(), 2u);
  EXPECT_EQ(read[1].kind, FeedMessage::Kind::kSnapshotEnd);
  EXPECT_EQ(read[1].version, 9);
  EXPECT_EQ(read[2].kind, FeedMessage::Kind::kDelta);
  EXPECT_EQ(read[2].version, 10);
  ASSERT_EQ(read[2].tokens.size(), 1u);
  EXPECT_EQ(read[2].tokens[0].version, 3);
  EXPECT_EQ(read[3].kind, FeedMessage::Kind::kUnknown);
}

TEST(GrpcFeedSourceTest, AMessageTheSidecarCannotUseEndsTheStreamAndCancelsTheCall) {
  v1::SyncTokensResponse bad = Message(v1::SyncTokensResponse::SNAPSHOT_END, 3, {1});
  bad.mutable_tokens(0)->set_token_hash("short");
  ServedScript served({Message(v1::SyncTokensResponse::SNAPSHOT, 0, {2}), bad});
  std::unique_ptr<FeedStream> stream = served.source.Open(0);
  FeedMessage message;
  ASSERT_TRUE(stream->Read(&message));
  EXPECT_FALSE(stream->Read(&message));
  EXPECT_FALSE(stream->Read(&message)) << "stays ended";
  const absl::Status status = stream->Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_NE(status.message().find("token_hash"), absl::string_view::npos) << status;
  served.service.AwaitDone();
  EXPECT_TRUE(served.service.cancelled());
}

TEST(GrpcFeedSourceTest, AStreamDestroyedUnfinishedIsCancelled) {
  ServedScript served({Message(v1::SyncTokensResponse::SNAPSHOT_END, 3)});
  std::unique_ptr<FeedStream> stream = served.source.Open(0);
  FeedMessage message;
  ASSERT_TRUE(stream->Read(&message));
  stream.reset();
  served.service.AwaitDone();
  EXPECT_TRUE(served.service.cancelled());
}

// A unix socket nobody listens on until Listen(): a token-service that is
// down, and then back, at the same address.
class LateServer {
 public:
  LateServer()
      : path_(absl::StrCat(::testing::TempDir(), "/sidecar-feed-", getpid(), "-", ++count_,
                           ".sock")) {
    unlink(path_.c_str());
  }
  ~LateServer() {
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
    }
    unlink(path_.c_str());
  }

  std::string address() const { return "unix:" + path_; }

  void Listen(grpc::Service* service) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address(), grpc::InsecureServerCredentials());
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

 private:
  static inline std::atomic<int> count_{0};
  const std::string path_;
  std::unique_ptr<grpc::Server> server_;
};

// Waits until gRPC marks the channel as failed: a connection attempt was made
// (only a call asks for one) and refused.
bool AwaitTransientFailure(grpc::Channel& channel) {
  const auto give_up = std::chrono::system_clock::now() + std::chrono::seconds(60);
  grpc_connectivity_state state = channel.GetState(false);
  while (state != GRPC_CHANNEL_TRANSIENT_FAILURE) {
    if (!channel.WaitForStateChange(state, give_up)) return false;
    state = channel.GetState(false);
  }
  return true;
}

// An hour of backoff, waited in full: a failed attempt is not followed by
// another during a test.
SyncClient::Options HourLongBackoff() {
  return SyncClient::Options{absl::Hours(1), absl::Hours(1), [] { return 1.0; }};
}

TEST(GrpcFeedSourceTest, AnAttemptMadeBeforeTokenServiceListensSucceedsOnceItDoes) {
  ScriptedTokenSync service({Message(v1::SyncTokensResponse::SNAPSHOT_END, 5, {1})});
  LateServer server;
  std::shared_ptr<grpc::Channel> channel = NewTokenServiceChannel(server.address());
  TokenServiceClient client(channel, kServiceToken, {});
  GrpcFeedSource source(client);
  TokenCache cache;
  SystemClock clock;
  absl::Notification loaded;
  SyncClient sync(source, cache, clock, HourLongBackoff(), [&loaded] { loaded.Notify(); });
  sync.Start();

  // The first attempt is under way and the channel is marked as failed.
  ASSERT_TRUE(AwaitTransientFailure(*channel));
  server.Listen(&service);

  // Had that attempt failed, the next would be an hour away.
  ASSERT_TRUE(loaded.WaitForNotificationWithTimeout(kHangGuard));
  EXPECT_EQ(cache.version(), 5);
  EXPECT_TRUE(cache.Find(TokenCodec::Hash("token-1")).has_value());
  EXPECT_EQ(sync.stats().streams_opened, 1u);
  sync.Stop();
  service.AwaitDone();
  EXPECT_TRUE(service.cancelled());
}

TEST(GrpcFeedSourceTest, StopCancelsAnAttemptStillWaitingForTokenService) {
  LateServer server;  // never listens
  std::shared_ptr<grpc::Channel> channel = NewTokenServiceChannel(server.address());
  TokenServiceClient client(channel, kServiceToken, {});
  GrpcFeedSource source(client);
  TokenCache cache;
  SystemClock clock;
  SyncClient sync(source, cache, clock, HourLongBackoff(), [] {});
  sync.Start();
  ASSERT_TRUE(AwaitTransientFailure(*channel));

  sync.Stop();  // would hang, were the waiting attempt not cancelled
  EXPECT_FALSE(cache.loaded());
  EXPECT_EQ(sync.stats().streams_opened, 1u);
  EXPECT_FALSE(sync.stats().stream_up);
}

constexpr int kDeltasPerStream = 20;

// Each stream: a (empty) snapshot, deltas, then an error status straight
// after the last one, as token-service ends a stream when the sidecar's
// token is revoked or it shuts down.
class EndingTokenSync final : public v1::TokenSync::Service {
 public:
  grpc::Status SyncTokens(grpc::ServerContext*, const v1::SyncTokensRequest*,
                          grpc::ServerWriter<v1::SyncTokensResponse>* writer) override {
    ++streams_;
    writer->Write(Message(v1::SyncTokensResponse::SNAPSHOT_END, 1));
    for (int i = 0; i < kDeltasPerStream; ++i) {
      writer->Write(Message(v1::SyncTokensResponse::DELTA, 2 + i));
    }
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "going away");
  }

  int streams() const { return streams_.load(); }

 private:
  std::atomic<int> streams_{0};
};

TEST(GrpcFeedSourceTest, SyncClientNoticesEachEndOfTheStreamAndOpensANewOne) {
  EndingTokenSync service;
  testing::LocalServer server({&service});
  TokenServiceClient client(NewTokenServiceChannel(server.address()), kServiceToken, {});
  GrpcFeedSource source(client);
  TokenCache cache;
  SystemClock clock;
  SyncClient sync(source, cache, clock, HourLongBackoff(), [] {});
  sync.Start();

  // A stream whose end went unnoticed would leave the client waiting on it
  // for good, and no further stream would open. Each stream made progress,
  // so each next one opens without a wait.
  constexpr int kStreams = 30;
  const absl::Time give_up = absl::Now() + kHangGuard;
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
