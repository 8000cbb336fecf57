// The sync feed at fleet scale, end to end: the real token-service binary
// and a real PostgreSQL, many SyncTokens streams over real gRPC. What a
// fleet of sidecars (and one hostile pod among them) must be able to count
// on: streams cost no thread, a consumer that does not read holds nothing
// and delays nobody, a snapshot is read once for everyone, caps refuse the
// excess with a clear error, and the feed can have a port of its own.
// Outcomes are asserted, never durations.
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/feed_consumer.h"
#include "tests/support/health_check.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/raw_h2.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kPatience = absl::Seconds(60);

// Calls `condition` until it holds or kPatience passes; its last result.
bool Eventually(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

std::string HealthStatus(const std::string& address) {
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      HealthCheck(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()), "", &response);
  if (!status.ok()) return status.error_message();
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

// The process's thread count, from /proc.
int ThreadsOf(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

class SyncFleetTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(TokenServiceTest::SetUp());
    svc_ = NewUserWithToken("svc", v1::SERVICE);
  }

  void TearDown() override {
    if (HasFailure() && feed_ != nullptr) {
      std::cerr << "---- token-service (feed) stderr ----\n" << feed_->process().Stderr();
    }
    TokenServiceTest::TearDown();
  }

  // A token-service of the test's own, with these extra flags, on the
  // fixture's database.
  void StartFeed(std::vector<std::string> flags) {
    absl::StatusOr<std::unique_ptr<TokenServiceProcess>> started =
        TokenServiceProcess::Start(database_url_, std::move(flags));
    ASSERT_TRUE(started.ok()) << started.status();
    feed_ = *std::move(started);
  }

  double Metric(const std::string& series) {
    absl::StatusOr<MetricsText> metrics = ScrapeMetrics(feed_->metrics_address());
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    return metrics.ok() ? metrics->Value(series) : -1;
  }

  // Sessions of the test's database, other than the asking one, inside a
  // transaction that began more than two seconds ago.
  int TransactionsOlderThanTwoSeconds() {
    return std::stoi(
        Sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND xact_start < now() - interval '2 s'")[0]);
  }

  // A SyncTokens stream on a connection of its own whose HTTP/2 window is
  // shut and never opens: the server can write it nothing, as with a peer
  // that stopped reading.
  struct StalledConsumer {
    std::unique_ptr<RawH2Connection> connection;
    int32_t stream = -1;
  };
  StalledConsumer OpenStalled() {
    StalledConsumer consumer;
    absl::StatusOr<std::unique_ptr<RawH2Connection>> connection =
        RawH2Connection::Connect(feed_->address(), {/*initial_window_size=*/0,
                                                    /*window_updates=*/false});
    EXPECT_TRUE(connection.ok()) << connection.status();
    if (!connection.ok()) return consumer;
    consumer.connection = *std::move(connection);
    consumer.stream = consumer.connection->StartGrpcCall(
        "/tokens.v1.TokenSync/SyncTokens", {{"authorization", "Bearer " + svc_}},
        v1::SyncTokensRequest().SerializeAsString());
    EXPECT_GT(consumer.stream, 0);
    return consumer;
  }

  // Sessions that hold the snapshot's cursor open.
  int SnapshotCursors() {
    return std::stoi(
        Sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state <> 'idle'"
            " AND query ILIKE '%feed_snapshot%'")[0]);
  }

  std::string svc_;
  std::unique_ptr<TokenServiceProcess> feed_;
};

TEST_F(SyncFleetTest, ConsumersThatNeverReadHoldNothingAndDoNotDelayAnotherSnapshot) {
  LoadBulkTokens(20000);
  // Nothing here ends a stream for not reading.
  ASSERT_NO_FATAL_FAILURE(StartFeed({"--sync_stall_timeout", "1h"}));
  StalledConsumer stalled_a = OpenStalled();
  StalledConsumer stalled_b = OpenStalled();
  // Both are open and have their snapshot to send, which the server cannot.
  ASSERT_TRUE(Eventually([&] { return Metric("token_service_sync_snapshots_total") >= 2; }));

  // A third consumer gets its whole snapshot meanwhile.
  FeedConsumer reader(feed_->address(), svc_);
  ASSERT_TRUE(reader.AwaitSnapshotEnd(kPatience)) << "the stalled consumers held the third one up";

  // The stalled streams hold no transaction, let alone the snapshot's
  // cursor. Short transactions of other calls come and go (a session is
  // "idle in transaction" between two statements of one), so what is
  // asserted is that none has lasted as long as the consumers have stalled.
  absl::SleepFor(absl::Seconds(3));
  EXPECT_EQ(TransactionsOlderThanTwoSeconds(), 0);
  EXPECT_EQ(SnapshotCursors(), 0);
  // One snapshot read from the database served all three.
  EXPECT_EQ(Metric("token_service_sync_snapshot_reads_total{result=\"ok\"}"), 1);
  EXPECT_EQ(Metric("token_service_sync_streams"), 3);
  // The stalled ones are still open, nothing written to them: nothing was
  // dropped or buffered past their window.
  for (const StalledConsumer* c : {&stalled_a, &stalled_b}) {
    const RawH2Connection::Stream s = c->connection->stream(c->stream);
    EXPECT_FALSE(s.closed);
    EXPECT_EQ(s.data_bytes, 0u);
  }
}

TEST_F(SyncFleetTest, AConsumerThatStopsReadingIsDroppedAfterTheStallTimeout) {
  LoadBulkTokens(20000);
  ASSERT_NO_FATAL_FAILURE(StartFeed({"--sync_stall_timeout", "1s"}));
  StalledConsumer stalled = OpenStalled();
  ASSERT_TRUE(stalled.connection->AwaitClosed(stalled.stream, kPatience))
      << "a consumer that never reads was kept";
  const RawH2Connection::Stream ended = stalled.connection->stream(stalled.stream);
  EXPECT_TRUE(ended.reset_code != 0 || ended.grpc_status.value_or(0) != 0)
      << "the stream ended as if all was well";
  EXPECT_EQ(Metric("token_service_sync_streams_stalled_total"), 1);
  EXPECT_TRUE(Eventually([&] { return Metric("token_service_sync_streams") == 0; }));
  const std::string log = feed_->process().Stderr();
  EXPECT_THAT(log, HasSubstr("dropped: no message taken for 1s"));
  EXPECT_THAT(log, HasSubstr(R"("user_id":"svc")"));
  EXPECT_THAT(log, Not(HasSubstr(svc_))) << "the stream's token reached the log";

  // A consumer that reads is served as ever.
  FeedConsumer reader(feed_->address(), svc_);
  EXPECT_TRUE(reader.AwaitSnapshotEnd(kPatience));
}

TEST_F(SyncFleetTest, StreamsOverACallersCapOrTheTotalAreRefusedAndOthersAreUnaffected) {
  ASSERT_NO_FATAL_FAILURE(
      StartFeed({"--sync_max_streams_per_caller", "2", "--sync_max_streams", "3"}));
  const std::string other = NewUserWithToken("svc-2", v1::SERVICE);
  const std::string third = NewUserWithToken("svc-3", v1::SERVICE);
  FeedConsumer first(feed_->address(), svc_);
  FeedConsumer second(feed_->address(), svc_);
  ASSERT_TRUE(first.AwaitSnapshotEnd(kPatience));
  ASSERT_TRUE(second.AwaitSnapshotEnd(kPatience));

  FeedConsumer over_caller(feed_->address(), svc_);
  std::optional<grpc::Status> refused = over_caller.AwaitEnd(kPatience);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused->error_message(), HasSubstr("--sync_max_streams_per_caller"));

  // Another SERVICE user still gets in, up to the total.
  FeedConsumer other_caller(feed_->address(), other);
  ASSERT_TRUE(other_caller.AwaitSnapshotEnd(kPatience));
  FeedConsumer over_total(feed_->address(), third);
  refused = over_total.AwaitEnd(kPatience);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused->error_message(), HasSubstr("--sync_max_streams)"));

  EXPECT_EQ(Metric("token_service_sync_streams_refused_total{limit=\"caller\"}"), 1);
  EXPECT_EQ(Metric("token_service_sync_streams_refused_total{limit=\"total\"}"), 1);
  // The streams in place keep following the feed.
  const v1::CreateTokenResponse created = MustCreate(admin_token_, "while-capped");
  v1::RevokeTokenRequest revoke;
  revoke.set_id(created.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked).ok());
  for (FeedConsumer* c : {&first, &second, &other_caller}) {
    EXPECT_TRUE(c->AwaitRevoked(created.token().id(), kPatience));
  }
}

TEST_F(SyncFleetTest, AThousandOpenStreamsLeaveTheThreadCountWhereTenLeftIt) {
  ASSERT_NO_FATAL_FAILURE(StartFeed({}));
  const pid_t pid = feed_->process().pid();
  std::vector<std::unique_ptr<FeedConsumer>> consumers;
  const auto open_until = [&](size_t n) {
    while (consumers.size() < n) {
      consumers.push_back(std::make_unique<FeedConsumer>(feed_->address(), svc_));
    }
    for (const std::unique_ptr<FeedConsumer>& c : consumers) {
      ASSERT_TRUE(c->AwaitSnapshotEnd(kPatience));
    }
  };
  ASSERT_NO_FATAL_FAILURE(open_until(10));
  const int with_ten = ThreadsOf(pid);
  ASSERT_NO_FATAL_FAILURE(open_until(1000));
  const int with_thousand = ThreadsOf(pid);
  RecordProperty("threads_with_10_streams", with_ten);
  RecordProperty("threads_with_1000_streams", with_thousand);
  std::cerr << "token-service threads: " << with_ten << " with 10 streams, " << with_thousand
            << " with 1000\n";
  EXPECT_EQ(Metric("token_service_sync_streams"), 1000);
  // gRPC's own pools may start a few threads more on a busy machine (a
  // thread per stream would be 990 more); the bound leaves them that room.
  EXPECT_LE(with_thousand, with_ten + 16);

  // Every one of them still follows the feed.
  const v1::CreateTokenResponse created = MustCreate(admin_token_, "fan-out");
  v1::RevokeTokenRequest revoke;
  revoke.set_id(created.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked).ok());
  for (const std::unique_ptr<FeedConsumer>& c : consumers) {
    ASSERT_TRUE(c->AwaitRevoked(created.token().id(), kPatience));
  }
}

TEST_F(SyncFleetTest, SyncListenServesTokenSyncOnItsOwnPortOnly) {
  ASSERT_NO_FATAL_FAILURE(StartFeed({"--sync_listen", "127.0.0.1:0"}));
  const std::string& sync_address = feed_->sync_address();
  ASSERT_FALSE(sync_address.empty());
  ASSERT_NE(sync_address, feed_->address());

  FeedConsumer on_sync_port(sync_address, svc_);
  EXPECT_TRUE(on_sync_port.AwaitSnapshotEnd(kPatience));
  FeedConsumer on_main_port(feed_->address(), svc_);
  std::optional<grpc::Status> refused = on_main_port.AwaitEnd(kPatience);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->error_code(), grpc::StatusCode::UNIMPLEMENTED);

  // The management API stays on --listen alone; health answers on both.
  auto on_sync = v1::TokenService::NewStub(
      grpc::CreateChannel(sync_address, grpc::InsecureChannelCredentials()));
  v1::GetProfileRequest request;
  v1::GetProfileResponse profile;
  EXPECT_EQ(on_sync->GetProfile(As(admin_token_).get(), request, &profile).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  auto on_main = v1::TokenService::NewStub(feed_->NewChannel());
  EXPECT_TRUE(on_main->GetProfile(As(admin_token_).get(), request, &profile).ok());
  EXPECT_EQ(HealthStatus(sync_address), "SERVING");
  EXPECT_EQ(HealthStatus(feed_->address()), "SERVING");
}

}  // namespace
}  // namespace tokens::testing
