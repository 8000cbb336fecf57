#pragma once

// The SyncStore contract (domain/ports/sync_store.h) as one typed test
// suite, run against FakeSyncStore (sync_store_contract_test.cc, no
// database) and PgSyncStore (sync_store_contract_pgtest.cc).
//
// An Env supplies a fresh, empty store per test and writes to it as a
// committed transaction would:
//   struct Env {
//     absl::Status SetUp();
//     SyncStore& store();
//     void PutUser(const std::string& user_id, Role role, bool disabled);
//     // A token whose hash is TokenCodec::Hash("secret of " + token_id).
//     void PutToken(const std::string& token_id, const std::string& user_id,
//                   absl::CivilDay expires_on, std::vector<std::string> scopes = {});
//     void Revoke(const std::string& token_id);
//   };

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/sync_store.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service::test_support {

template <typename Env>
class SyncStoreContract : public ::testing::Test {
 protected:
  static constexpr absl::CivilDay kToday{2030, 1, 15};
  static absl::Time Now() { return StartOfUtcDay(kToday) + absl::Hours(12); }
  static std::string Id(int n) { return absl::StrFormat("00000000-0000-4000-8000-%012d", n); }

  void SetUp() override {
    absl::Status ready = env_.SetUp();
    ASSERT_TRUE(ready.ok()) << ready;
  }

  SyncStore& store() { return env_.store(); }

  int64_t Version() {
    absl::StatusOr<int64_t> v = store().CurrentVersion();
    EXPECT_TRUE(v.ok()) << v.status();
    return v.value_or(-1);
  }

  // The whole snapshot, its chunks joined; fails the test on an error.
  struct Whole {
    int64_t version = 0;
    std::map<std::string, SyncedToken> tokens;
    std::vector<SyncedUser> users;
  };
  Whole Snapshot(absl::CivilDay today) {
    Whole whole;
    absl::StatusOr<int64_t> version = store().Snapshot(today, [&](SnapshotChunk chunk) {
      for (SyncedToken& t : chunk.tokens) whole.tokens[t.token_id] = t;
      for (SyncedUser& u : chunk.users) whole.users.push_back(u);
      return absl::OkStatus();
    });
    EXPECT_TRUE(version.ok()) << version.status();
    whole.version = version.value_or(-1);
    return whole;
  }

  static std::vector<std::string> UserIds(const std::vector<SyncedUser>& users) {
    std::vector<std::string> ids;
    for (const SyncedUser& u : users) ids.push_back(u.user_id);
    return ids;
  }
  static std::vector<std::string> TokenIds(const std::vector<SyncedToken>& tokens) {
    std::vector<std::string> ids;
    for (const SyncedToken& t : tokens) ids.push_back(t.token_id);
    return ids;
  }

  Env env_;
};

TYPED_TEST_SUITE_P(SyncStoreContract);

TYPED_TEST_P(SyncStoreContract, SnapshotHasTheLiveTokensWithEachOwnerOnce) {
  EXPECT_EQ(this->Snapshot(this->kToday).tokens.size(), 0u);
  this->env_.PutUser("alice", Role::kUser, false);
  this->env_.PutUser("bob", Role::kAdmin, true);
  this->env_.PutUser("carol", Role::kUser, false);
  const std::string a1 = this->Id(1), a2 = this->Id(2), a3 = this->Id(3), a4 = this->Id(4);
  const std::string b1 = this->Id(5), c1 = this->Id(6);
  this->env_.PutToken(a1, "alice", this->kToday + 1);
  this->env_.PutToken(a2, "alice", this->kToday + 30);
  this->env_.PutToken(a3, "alice", this->kToday + 30);
  this->env_.Revoke(a3);
  this->env_.PutToken(a4, "alice", this->kToday);    // expired since 00:00 UTC
  this->env_.PutToken(b1, "bob", this->kToday + 2);  // a disabled owner's: included
  this->env_.PutToken(c1, "carol", this->kToday + 2);
  this->env_.Revoke(c1);

  const auto whole = this->Snapshot(this->kToday);
  EXPECT_EQ(whole.version, this->Version());
  using ::testing::ElementsAre;
  using ::testing::UnorderedElementsAre;
  std::vector<std::string> ids;
  for (const auto& [id, t] : whole.tokens) ids.push_back(id);
  EXPECT_THAT(ids, ElementsAre(a1, a2, b1));
  EXPECT_THAT(this->UserIds(whole.users), UnorderedElementsAre("alice", "bob"));
  const SyncedToken& t = whole.tokens.at(b1);
  EXPECT_EQ(t.hash, TokenCodec::Hash("secret of " + b1));
  EXPECT_EQ(t.user_id, "bob");
  EXPECT_EQ(t.expires_on, this->kToday + 2);
  EXPECT_FALSE(t.revoked);
  EXPECT_GT(t.version, 0);
  for (const SyncedUser& u : whole.users) {
    if (u.user_id != "bob") continue;
    EXPECT_EQ(u.role, Role::kAdmin);
    EXPECT_TRUE(u.disabled);
  }
  // A day later a1 has expired too.
  ids.clear();
  for (const auto& [id, token] : this->Snapshot(this->kToday + 1).tokens) ids.push_back(id);
  EXPECT_THAT(ids, ElementsAre(a2, b1));
}

TYPED_TEST_P(SyncStoreContract, SnapshotStopsWhenTheSinkFails) {
  this->env_.PutUser("alice", Role::kUser, false);
  this->env_.PutToken(this->Id(1), "alice", this->kToday + 1);
  absl::StatusOr<int64_t> result = this->store().Snapshot(
      this->kToday, [](SnapshotChunk) { return absl::CancelledError("client went away"); });
  EXPECT_THAT(result, HasCode(absl::StatusCode::kCancelled));
}

TYPED_TEST_P(SyncStoreContract, ChangesSinceHaveChangedRowsAndTheOwnersOfChangedTokens) {
  this->env_.PutUser("alice", Role::kUser, false);
  this->env_.PutUser("bob", Role::kUser, false);
  this->env_.PutUser("carol", Role::kUser, false);
  this->env_.PutUser("dave", Role::kUser, false);
  const std::string a1 = this->Id(1), b1 = this->Id(2), d1 = this->Id(3);
  this->env_.PutToken(a1, "alice", this->kToday + 5);
  this->env_.PutToken(d1, "dave", this->kToday + 5);
  const int64_t v0 = this->Version();
  EXPECT_TRUE(this->store().ChangesSince(v0, 0)->empty());

  this->env_.Revoke(a1);                             // revoked rows are sent, so caches drop them
  this->env_.PutToken(b1, "bob", this->kToday + 5);  // bob: the owner of a changed token
  this->env_.PutUser("carol", Role::kAdmin, false);  // carol: changed herself

  absl::StatusOr<ChangeBatch> batch = this->store().ChangesSince(v0, 0);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->after_version, v0);
  EXPECT_EQ(batch->version, this->Version());
  using ::testing::ElementsAre;
  EXPECT_THAT(this->TokenIds(batch->tokens), ElementsAre(a1, b1));
  EXPECT_TRUE(batch->tokens[0].revoked);
  // Users in version order; dave's token did not change, so dave is absent.
  EXPECT_THAT(this->UserIds(batch->users), ElementsAre("alice", "bob", "carol"));
  EXPECT_EQ(batch->users[2].role, Role::kAdmin);
  for (const SyncedToken& t : batch->tokens) EXPECT_GT(t.version, v0);
  EXPECT_LT(batch->tokens[0].version, batch->tokens[1].version);

  // From the middle: only what followed.
  absl::StatusOr<ChangeBatch> rest = this->store().ChangesSince(batch->tokens[0].version, 0);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_THAT(this->TokenIds(rest->tokens), ElementsAre(b1));
  EXPECT_THAT(this->UserIds(rest->users), ElementsAre("bob", "carol"));

  EXPECT_TRUE(this->store().ChangesSince(this->Version(), 0)->empty());
}

TYPED_TEST_P(SyncStoreContract, ChangesOverTheLimitAreOutOfRange) {
  this->env_.PutUser("alice", Role::kUser, false);
  const int64_t v0 = this->Version();
  this->env_.PutToken(this->Id(1), "alice", this->kToday + 5);
  this->env_.PutToken(this->Id(2), "alice", this->kToday + 5);
  // Two tokens and their owner: three rows.
  EXPECT_THAT(this->store().ChangesSince(v0, 1), HasCode(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(this->store().ChangesSince(v0, 2), HasCode(absl::StatusCode::kOutOfRange));
  absl::StatusOr<ChangeBatch> exact = this->store().ChangesSince(v0, 3);
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->tokens.size() + exact->users.size(), 3u);
}

TYPED_TEST_P(SyncStoreContract, LookupFindsATokenAndItsOwnerByHash) {
  this->env_.PutUser("alice", Role::kService, false);
  const std::string id = this->Id(7);
  this->env_.PutToken(id, "alice", this->kToday + 3);
  this->env_.Revoke(id);
  absl::StatusOr<std::optional<SyncLookup>> found =
      this->store().LookupToken(TokenCodec::Hash("secret of " + id));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->token.token_id, id);
  EXPECT_TRUE((*found)->token.revoked);  // revoked tokens are found too: a cache learns why
  EXPECT_EQ((*found)->token.expires_on, this->kToday + 3);
  EXPECT_EQ((*found)->user.user_id, "alice");
  EXPECT_EQ((*found)->user.role, Role::kService);

  absl::StatusOr<std::optional<SyncLookup>> missing =
      this->store().LookupToken(TokenCodec::Hash("never issued"));
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());
}

TYPED_TEST_P(SyncStoreContract, ScopesTravelInTheSnapshotTheChangesAndLookups) {
  this->env_.PutUser("alice", Role::kUser, false);
  const std::vector<std::string> scopes = {"things:read", "things:write"};
  const std::string scoped = this->Id(1);
  const std::string full = this->Id(2);
  this->env_.PutToken(scoped, "alice", this->kToday + 3, scopes);
  this->env_.PutToken(full, "alice", this->kToday + 3);

  const auto whole = this->Snapshot(this->kToday);
  EXPECT_EQ(whole.tokens.at(scoped).scopes, scopes);
  EXPECT_THAT(whole.tokens.at(full).scopes, ::testing::IsEmpty());

  absl::StatusOr<ChangeBatch> changes = this->store().ChangesSince(0, 0);
  ASSERT_TRUE(changes.ok()) << changes.status();
  ASSERT_EQ(changes->tokens.size(), 2u);
  for (const SyncedToken& t : changes->tokens) {
    EXPECT_EQ(t.scopes, t.token_id == scoped ? scopes : std::vector<std::string>{});
  }

  absl::StatusOr<std::optional<SyncLookup>> found =
      this->store().LookupToken(TokenCodec::Hash("secret of " + scoped));
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->token.scopes, scopes);
}

TYPED_TEST_P(SyncStoreContract, RecordUsageCountsTheTokensWhoseLastUseMovedForward) {
  this->env_.PutUser("alice", Role::kUser, false);
  const std::string a = this->Id(1), b = this->Id(2);
  this->env_.PutToken(a, "alice", this->kToday + 5);
  this->env_.PutToken(b, "alice", this->kToday + 5);
  const absl::Time t = this->Now();
  EXPECT_EQ(*this->store().RecordUsage({}), 0);
  const int64_t v0 = this->Version();
  EXPECT_EQ(*this->store().RecordUsage(
                {{a, t, "10.0.0.1"}, {a, t + absl::Seconds(1), ""}, {this->Id(999), t, ""}}),
            1);
  // The same batch again, or an earlier use: nothing moves.
  EXPECT_EQ(*this->store().RecordUsage({{a, t + absl::Seconds(1), ""}}), 0);
  EXPECT_EQ(*this->store().RecordUsage({{a, t, ""}}), 0);
  EXPECT_EQ(*this->store().RecordUsage({{a, t + absl::Seconds(2), ""}, {b, t, ""}}), 2);
  // Usage is not a change a cache needs.
  EXPECT_EQ(this->Version(), v0);
}

REGISTER_TYPED_TEST_SUITE_P(SyncStoreContract, SnapshotHasTheLiveTokensWithEachOwnerOnce,
                            SnapshotStopsWhenTheSinkFails,
                            ChangesSinceHaveChangedRowsAndTheOwnersOfChangedTokens,
                            ChangesOverTheLimitAreOutOfRange, LookupFindsATokenAndItsOwnerByHash,
                            ScopesTravelInTheSnapshotTheChangesAndLookups,
                            RecordUsageCountsTheTokensWhoseLastUseMovedForward);

}  // namespace tokens::service::test_support
