// FeedApplier: sequences of feed messages against a TokenCache, and what the
// cache serves afterwards.
#include "sidecar/domain/feed_applier.h"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/token/token_codec.h"
#include "gtest/gtest.h"
#include "sidecar/domain/feed.h"
#include "sidecar/domain/model.h"
#include "sidecar/domain/token_cache.h"

namespace tokens::sidecar {
namespace {

using Kind = FeedMessage::Kind;
using Effect = FeedApplier::Outcome::Kind;

// Every test token belongs to "alice"; token `n` is known by its hash.
TokenHash HashOf(int n) { return TokenCodec::Hash(absl::StrCat("token-", n)); }

SyncedToken Token(int n, int64_t version = 1) {
  SyncedToken token;
  token.hash = HashOf(n);
  token.id = TokenId({static_cast<uint8_t>(n)});
  token.user_id = "alice";
  token.expires_on = absl::CivilDay(2027, 4, 11);
  token.version = version;
  return token;
}

SyncedToken Revoked(int n, int64_t version) {
  SyncedToken token = Token(n, version);
  token.revoked = true;
  return token;
}

FeedMessage Message(Kind kind, int64_t version, std::vector<SyncedToken> tokens) {
  FeedMessage message;
  message.kind = kind;
  message.version = version;
  if (!tokens.empty()) message.users.push_back(SyncedUser{"alice", Role::kUser, false, 1});
  message.tokens = std::move(tokens);
  return message;
}

FeedMessage Snapshot(std::vector<SyncedToken> tokens) {
  return Message(Kind::kSnapshot, 0, std::move(tokens));
}
FeedMessage SnapshotEnd(int64_t version, std::vector<SyncedToken> tokens = {}) {
  return Message(Kind::kSnapshotEnd, version, std::move(tokens));
}
FeedMessage Delta(int64_t version, std::vector<SyncedToken> tokens) {
  return Message(Kind::kDelta, version, std::move(tokens));
}
FeedMessage Unknown(int64_t version) { return Message(Kind::kUnknown, version, {Token(99)}); }

// One message and what Apply() must answer: an effect, or an error code.
struct Step {
  FeedMessage message;
  std::optional<Effect> effect;
  absl::StatusCode error = absl::StatusCode::kOk;
};
Step Then(FeedMessage message, Effect effect) { return {std::move(message), effect}; }
Step Refused(FeedMessage message, absl::StatusCode code) {
  return {std::move(message), std::nullopt, code};
}

struct Case {
  std::string name;
  // The cache before the stream: tokens published at `before_version`
  // (nothing published if unset).
  std::optional<int64_t> before_version;
  std::vector<int> before_tokens;
  std::vector<Step> steps;
  // Then StreamEnded(), or else only the applier's destructor.
  bool stream_ends = false;
  // The cache afterwards.
  bool loaded = true;
  int64_t version = 0;
  std::vector<int> tokens;
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

constexpr absl::StatusCode kFailedPrecondition = absl::StatusCode::kFailedPrecondition;
constexpr absl::StatusCode kInternal = absl::StatusCode::kInternal;

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      // Happy paths.
      {"SnapshotInChunks",
       std::nullopt,
       {},
       {Then(Snapshot({Token(1), Token(2)}), Effect::kSnapshotPart),
        Then(Snapshot({Token(3)}), Effect::kSnapshotPart),
        Then(SnapshotEnd(10), Effect::kSnapshotPublished)},
       false,
       true,
       10,
       {1, 2, 3}},
      {"EmptySnapshotIsALoneSnapshotEnd",
       std::nullopt,
       {},
       {Then(SnapshotEnd(7), Effect::kSnapshotPublished)},
       false,
       true,
       7,
       {}},
      {"SnapshotEndCarryingRows",
       std::nullopt,
       {},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart),
        Then(SnapshotEnd(7, {Token(2)}), Effect::kSnapshotPublished)},
       false,
       true,
       7,
       {1, 2}},
      {"ASnapshotReplacesTheOldContents",
       5,
       {100, 101},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart),
        Then(SnapshotEnd(12), Effect::kSnapshotPublished)},
       false,
       true,
       12,
       {1}},
      {"DeltasUpsertAndRevokeAfterTheSnapshot",
       std::nullopt,
       {},
       {Then(SnapshotEnd(10, {Token(1), Token(2)}), Effect::kSnapshotPublished),
        Then(Delta(11, {Token(3, 11)}), Effect::kDeltaApplied),
        Then(Delta(12, {Revoked(1, 12)}), Effect::kDeltaApplied)},
       false,
       true,
       12,
       {2, 3}},
      {"AResumedStreamCarriesDeltasOnly",
       5,
       {100, 101},
       {Then(Delta(6, {Token(1, 6)}), Effect::kDeltaApplied),
        Then(Delta(7, {Revoked(100, 7)}), Effect::kDeltaApplied)},
       false,
       true,
       7,
       {1, 101}},
      {"DeltasMayShareAVersion",
       std::nullopt,
       {},
       {Then(SnapshotEnd(10), Effect::kSnapshotPublished),
        Then(Delta(11, {Token(1, 11)}), Effect::kDeltaApplied),
        Then(Delta(11, {Token(2, 11)}), Effect::kDeltaApplied)},
       false,
       true,
       11,
       {1, 2}},
      {"ASecondSnapshotOnTheSameStream",
       std::nullopt,
       {},
       {Then(SnapshotEnd(10, {Token(1)}), Effect::kSnapshotPublished),
        Then(Delta(11, {Token(2, 11)}), Effect::kDeltaApplied),
        Then(Snapshot({Token(3)}), Effect::kSnapshotPart),
        Then(SnapshotEnd(12), Effect::kSnapshotPublished)},
       false,
       true,
       12,
       {3}},
      // token-service's database was restored: its snapshot is older than
      // the cache, and is the truth.
      {"ASnapshotOlderThanTheCacheReplacesIt",
       50,
       {100},
       {Then(SnapshotEnd(7, {Token(1)}), Effect::kSnapshotPublished)},
       false,
       true,
       7,
       {1}},

      // What the stream must not do.
      {"ADeltaInsideASnapshot",
       5,
       {100},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart),
        Refused(Delta(11, {Token(2, 11)}), kFailedPrecondition),
        Refused(SnapshotEnd(12), kFailedPrecondition)},
       false,
       true,
       5,
       {100}},
      {"AMessageOfUnknownKind",
       5,
       {100},
       {Refused(Unknown(6), kInternal), Refused(Delta(7, {Token(1, 7)}), kFailedPrecondition)},
       false,
       true,
       5,
       {100}},
      {"AMessageOfUnknownKindInsideASnapshot",
       std::nullopt,
       {},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart), Refused(Unknown(6), kInternal),
        Refused(SnapshotEnd(7), kFailedPrecondition)},
       false,
       false,
       0,
       {}},
      {"ADeltaVersionGoingBackwards",
       std::nullopt,
       {},
       {Then(SnapshotEnd(10, {Token(1)}), Effect::kSnapshotPublished),
        Then(Delta(12, {Token(2, 12)}), Effect::kDeltaApplied),
        Refused(Delta(11, {Token(3, 11)}), kFailedPrecondition)},
       false,
       true,
       12,
       {1, 2}},
      {"ADeltaBelowTheStreamsSnapshot",
       std::nullopt,
       {},
       {Then(SnapshotEnd(10, {Token(1)}), Effect::kSnapshotPublished),
        Refused(Delta(9, {Token(2, 9)}), kFailedPrecondition)},
       false,
       true,
       10,
       {1}},
      {"ASnapshotEndBelowAnEarlierDelta",
       5,
       {100},
       {Then(Delta(8, {Token(1, 8)}), Effect::kDeltaApplied),
        Then(Snapshot({Token(2)}), Effect::kSnapshotPart),
        Refused(SnapshotEnd(7), kFailedPrecondition)},
       false,
       true,
       8,
       {100, 1}},

      // A snapshot that ends early: the stream ends before SNAPSHOT_END.
      {"ASnapshotThatEndsEarlyKeepsTheOldContents",
       5,
       {100},
       {Then(Snapshot({Token(1), Token(2)}), Effect::kSnapshotPart)},
       true,
       true,
       5,
       {100}},
      {"ASnapshotThatEndsEarlyLeavesAColdCacheUnloaded",
       std::nullopt,
       {},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart)},
       true,
       false,
       0,
       {}},
      {"AnApplierDestroyedInsideASnapshotKeepsTheOldContents",
       5,
       {100},
       {Then(Snapshot({Token(1)}), Effect::kSnapshotPart)},
       false,
       true,
       5,
       {100}},
  };
  return *cases;
}

class FeedApplierTest : public ::testing::TestWithParam<Case> {};

TEST_P(FeedApplierTest, LeavesTheCacheAsExpected) {
  const Case& c = GetParam();
  TokenCache cache;
  if (c.before_version.has_value()) {
    std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache.StartSnapshot();
    builder->AddUser(SyncedUser{"alice", Role::kUser, false, 1});
    for (int n : c.before_tokens) builder->AddToken(Token(n));
    cache.Publish(std::move(builder), *c.before_version);
  }
  {
    FeedApplier applier(cache);
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const Step& step = c.steps[i];
      const bool loaded = cache.loaded();
      const int64_t version = cache.version();
      const size_t size = cache.size();
      absl::StatusOr<FeedApplier::Outcome> outcome = applier.Apply(step.message);
      if (step.effect.has_value()) {
        ASSERT_TRUE(outcome.ok()) << "step " << i << ": " << outcome.status();
        EXPECT_EQ(outcome->kind, *step.effect) << "step " << i;
      } else {
        ASSERT_FALSE(outcome.ok()) << "step " << i;
        EXPECT_EQ(outcome.status().code(), step.error) << "step " << i << ": " << outcome.status();
        EXPECT_FALSE(outcome.status().message().empty());
      }
      // Neither a part of a snapshot nor a refused message changes what the
      // cache serves.
      if (!outcome.ok() || outcome->kind == Effect::kSnapshotPart) {
        EXPECT_EQ(cache.loaded(), loaded) << "step " << i;
        EXPECT_EQ(cache.version(), version) << "step " << i;
        EXPECT_EQ(cache.size(), size) << "step " << i;
      }
    }
    if (c.stream_ends) applier.StreamEnded();
  }

  EXPECT_EQ(cache.loaded(), c.loaded);
  EXPECT_EQ(cache.version(), c.version);
  EXPECT_EQ(cache.size(), c.tokens.size());
  for (int n : c.tokens) EXPECT_TRUE(cache.Find(HashOf(n)).has_value()) << "token " << n;
}

INSTANTIATE_TEST_SUITE_P(Sequences, FeedApplierTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& named) {
                           return named.param.name;
                         });

TEST(FeedApplierOutcomeTest, SaysWhenASnapshotStartsAndHowManyTokensItCarried) {
  TokenCache cache;
  FeedApplier applier(cache);
  absl::StatusOr<FeedApplier::Outcome> first = applier.Apply(Snapshot({Token(1), Token(2)}));
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->started_snapshot);
  EXPECT_TRUE(applier.in_snapshot());
  absl::StatusOr<FeedApplier::Outcome> end = applier.Apply(SnapshotEnd(4, {Token(3)}));
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->started_snapshot);
  EXPECT_EQ(end->kind, Effect::kSnapshotPublished);
  EXPECT_EQ(end->snapshot_tokens, 3u);
  EXPECT_FALSE(applier.in_snapshot());

  // A lone SNAPSHOT_END starts and ends a snapshot, counted afresh.
  absl::StatusOr<FeedApplier::Outcome> lone = applier.Apply(SnapshotEnd(5, {Token(4)}));
  ASSERT_TRUE(lone.ok());
  EXPECT_TRUE(lone->started_snapshot);
  EXPECT_EQ(lone->snapshot_tokens, 1u);

  absl::StatusOr<FeedApplier::Outcome> delta = applier.Apply(Delta(6, {Token(5, 6)}));
  ASSERT_TRUE(delta.ok());
  EXPECT_EQ(delta->kind, Effect::kDeltaApplied);
  EXPECT_FALSE(delta->started_snapshot);
}

TEST(FeedApplierOutcomeTest, StreamEndedSaysWhetherASnapshotWasDropped) {
  TokenCache cache;
  FeedApplier applier(cache);
  EXPECT_FALSE(applier.StreamEnded());
  ASSERT_TRUE(applier.Apply(Snapshot({Token(1)})).ok());
  EXPECT_TRUE(applier.StreamEnded());
  EXPECT_FALSE(applier.in_snapshot());
  EXPECT_FALSE(cache.loaded());
}

}  // namespace
}  // namespace tokens::sidecar
