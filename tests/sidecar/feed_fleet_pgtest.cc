// The feed seen from a sidecar when other consumers misbehave: the real
// token-sidecar and token-service, a private PostgreSQL, and consumers that
// stop reading (a raw HTTP/2 client whose flow-control window never opens,
// as a stalled or hostile pod's would be). Outcomes are asserted, never
// durations.
#include <memory>
#include <string>
#include <vector>

#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/raw_h2.h"

namespace tokens::testing {
namespace {

using FeedFleetTest = SidecarTest;

TEST_F(FeedFleetTest, TwoConsumersThatNeverReadDoNotDelayANewSidecar) {
  LoadBulkTokens(20000);
  // Two SyncTokens streams with the fixture sidecar's SERVICE token whose
  // windows are shut: token-service can write them nothing.
  std::vector<std::unique_ptr<RawH2Connection>> stalled;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::unique_ptr<RawH2Connection>> connection =
        RawH2Connection::Connect(service_->address(), {/*initial_window_size=*/0,
                                                       /*window_updates=*/false});
    ASSERT_TRUE(connection.ok()) << connection.status();
    const int32_t stream = (*connection)
                               ->StartGrpcCall("/tokens.v1.TokenSync/SyncTokens",
                                               {{"authorization", "Bearer " + service_token_}},
                                               v1::SyncTokensRequest().SerializeAsString());
    ASSERT_GT(stream, 0);
    stalled.push_back(*std::move(connection));
  }

  // A sidecar started now loads the whole snapshot and becomes ready.
  std::unique_ptr<SidecarProcess> late = StartSidecar();
  ASSERT_NE(late, nullptr);
  const v1::CreateTokenResponse created = MustCreate(admin_token_, "after-the-stall");
  EXPECT_EQ(DeniedReason(CheckToken(created.secret(), late.get())), "");
  // And it still follows the feed: a revocation reaches it.
  v1::RevokeTokenRequest revoke;
  revoke.set_id(created.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked).ok());
  EXPECT_TRUE(Eventually(
      [&] { return DeniedReason(CheckToken(created.secret(), late.get())) == "revoked"; }));
  for (const std::unique_ptr<RawH2Connection>& c : stalled) {
    EXPECT_FALSE(c->connection_closed()) << "a stalled consumer was cut off without cause";
  }
}

}  // namespace
}  // namespace tokens::testing
