#include "services/token_service/transport/sync_conversion.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

SyncedToken Token(const std::string& id, const std::string& user_id, int64_t version) {
  return SyncedToken{TokenCodec::Hash("secret of " + id), id,    user_id,
                     absl::CivilDay(2027, 4, 11),         false, version};
}

SyncedUser User(const std::string& user_id, int64_t version) {
  return SyncedUser{user_id, Role::kUser, false, version};
}

std::vector<std::string> TokenIds(const v1::SyncTokensResponse& message) {
  std::vector<std::string> ids;
  for (const v1::SyncedToken& t : message.tokens()) ids.push_back(t.token_id());
  return ids;
}

std::vector<std::string> UserIds(const v1::SyncTokensResponse& message) {
  std::vector<std::string> ids;
  for (const v1::SyncedUser& u : message.users()) ids.push_back(u.user_id());
  return ids;
}

TEST(SyncConversionTest, TokenAndUserCarryEveryField) {
  SyncedToken token = Token("0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a", "alice", 42);
  token.revoked = true;
  v1::SyncedToken t;
  ToProto(token, &t);
  EXPECT_EQ(t.token_hash(), std::string(token.hash.begin(), token.hash.end()));
  EXPECT_EQ(t.token_hash().size(), 32u);
  EXPECT_EQ(t.token_id(), token.token_id);
  EXPECT_EQ(t.user_id(), "alice");
  EXPECT_EQ(t.expires_on(), "2027-04-11");
  EXPECT_TRUE(t.revoked());
  EXPECT_EQ(t.version(), 42);

  v1::SyncedUser u;
  ToProto(SyncedUser{"svc", Role::kService, true, 7}, &u);
  EXPECT_EQ(u.user_id(), "svc");
  EXPECT_EQ(u.role(), v1::SERVICE);
  EXPECT_TRUE(u.disabled());
  EXPECT_EQ(u.version(), 7);

  v1::LookupTokenResponse lookup;
  ToProto(SyncLookup{token, SyncedUser{"alice", Role::kAdmin, false, 3}}, &lookup);
  EXPECT_EQ(lookup.token().token_id(), token.token_id);
  EXPECT_EQ(lookup.user().role(), v1::ADMIN);
}

TEST(SyncConversionTest, SnapshotChunksSplitWithEachOwnerBesideItsFirstToken) {
  SnapshotChunk chunk;
  for (int i = 0; i < 2500; ++i) {
    chunk.tokens.push_back(Token(absl::StrCat("t", i), i < 1500 ? "alice" : "bob", i + 1));
  }
  chunk.users = {User("alice", 1), User("bob", 2)};
  const std::vector<v1::SyncTokensResponse> messages = SnapshotMessages(chunk);
  ASSERT_THAT(messages, SizeIs(3));
  EXPECT_EQ(messages[0].tokens_size(), 1000);
  EXPECT_EQ(messages[1].tokens_size(), 1000);
  EXPECT_EQ(messages[2].tokens_size(), 500);
  EXPECT_THAT(UserIds(messages[0]), ElementsAre("alice"));
  EXPECT_THAT(UserIds(messages[1]), ElementsAre("bob"));  // t1500 is bob's first
  EXPECT_THAT(UserIds(messages[2]), IsEmpty());
  for (const v1::SyncTokensResponse& m : messages) {
    EXPECT_EQ(m.kind(), v1::SyncTokensResponse::SNAPSHOT);
    EXPECT_EQ(m.version(), 0);
  }

  // An empty chunk is one empty SNAPSHOT message.
  const std::vector<v1::SyncTokensResponse> empty = SnapshotMessages(SnapshotChunk{});
  ASSERT_THAT(empty, SizeIs(1));
  EXPECT_EQ(empty[0].kind(), v1::SyncTokensResponse::SNAPSHOT);
  EXPECT_EQ(empty[0].tokens_size(), 0);

  const v1::SyncTokensResponse end = SnapshotEndMessage(99);
  EXPECT_EQ(end.kind(), v1::SyncTokensResponse::SNAPSHOT_END);
  EXPECT_EQ(end.version(), 99);
  EXPECT_EQ(end.tokens_size(), 0);
}

TEST(SyncConversionTest, DeltasSplitInVersionOrderWithResumableVersions) {
  ChangeBatch batch{10, 30, {}, {}};
  batch.tokens = {Token("t14", "bob", 14), Token("t12", "alice", 12), Token("t16", "alice", 16)};
  batch.users = {User("alice", 3), User("bob", 15), User("cid", 11)};
  const std::vector<v1::SyncTokensResponse> messages = DeltaMessages(batch, 2);
  // Rows by version: alice(3) cid(11) | t12 t14 | bob(15) t16.
  ASSERT_THAT(messages, SizeIs(3));
  for (const v1::SyncTokensResponse& m : messages) {
    EXPECT_EQ(m.kind(), v1::SyncTokensResponse::DELTA);
  }
  EXPECT_THAT(TokenIds(messages[0]), IsEmpty());
  EXPECT_THAT(UserIds(messages[0]), ElementsAre("alice", "cid"));
  EXPECT_EQ(messages[0].version(), 11);
  // Each token travels with its owner.
  EXPECT_THAT(TokenIds(messages[1]), ElementsAre("t12", "t14"));
  EXPECT_THAT(UserIds(messages[1]), ElementsAre("alice", "bob"));
  EXPECT_EQ(messages[1].version(), 14);
  EXPECT_THAT(TokenIds(messages[2]), ElementsAre("t16"));
  EXPECT_THAT(UserIds(messages[2]), ElementsAre("bob", "alice"));
  EXPECT_EQ(messages[2].version(), 30) << "the last message reaches the batch's version";

  // All in one message by default.
  const std::vector<v1::SyncTokensResponse> one = DeltaMessages(batch);
  ASSERT_THAT(one, SizeIs(1));
  EXPECT_EQ(one[0].version(), 30);
  EXPECT_THAT(TokenIds(one[0]), ElementsAre("t12", "t14", "t16"));
  EXPECT_THAT(UserIds(one[0]), ElementsAre("alice", "cid", "bob"));

  // An empty batch still tells the version.
  const std::vector<v1::SyncTokensResponse> empty = DeltaMessages(ChangeBatch{5, 8, {}, {}});
  ASSERT_THAT(empty, SizeIs(1));
  EXPECT_EQ(empty[0].version(), 8);
}

TEST(SyncConversionTest, UsagesFromProto) {
  v1::ReportUsageRequest request;
  v1::TokenUsage* first = request.add_usages();
  first->set_token_id("0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a");
  first->mutable_last_used_at()->set_seconds(1764351322);
  first->mutable_last_used_at()->set_nanos(123456789);
  first->set_client_address("10.0.0.1");
  request.add_usages()->set_token_id("no time");

  absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> usages = UsagesFromProto(request);
  ASSERT_TRUE(usages.ok()) << usages.status();
  ASSERT_THAT(*usages, SizeIs(2));
  EXPECT_EQ((*usages)[0].token_id, "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a");
  EXPECT_EQ((*usages)[0].last_used_at,
            absl::FromUnixSeconds(1764351322) + absl::Nanoseconds(123456789));
  EXPECT_EQ((*usages)[0].client_address, "10.0.0.1");
  EXPECT_EQ((*usages)[1].token_id, "no time");
  EXPECT_FALSE((*usages)[1].last_used_at.has_value());

  for (const auto& [seconds, nanos] : std::vector<std::pair<int64_t, int32_t>>{
           {0, -1}, {0, 1000000000}, {-62135596801, 0}, {253402300800, 0}}) {
    v1::ReportUsageRequest bad = request;
    bad.mutable_usages(1)->mutable_last_used_at()->set_seconds(seconds);
    bad.mutable_usages(1)->mutable_last_used_at()->set_nanos(nanos);
    absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> refused = UsagesFromProto(bad);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument) << seconds;
    EXPECT_EQ(FieldOf(refused.status()), "usages[1].last_used_at") << seconds;
  }
  EXPECT_THAT(*UsagesFromProto(v1::ReportUsageRequest()), IsEmpty());
}

}  // namespace
}  // namespace tokens::service
