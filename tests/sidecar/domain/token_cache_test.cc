#include "sidecar/domain/token_cache.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "common/token/token_codec.h"
#include "gtest/gtest.h"
#include "sidecar/domain/model.h"

namespace tokens::sidecar {
namespace {

constexpr absl::CivilDay kExpiresOn(2027, 4, 11);

// Test tokens are numbered; everything about token `n` derives from `n`, so a
// reader can tell whether what it found belongs together.
TokenHash HashOf(int n) { return TokenCodec::Hash(absl::StrCat("token-", n)); }

TokenId IdOf(int n) {
  std::array<uint8_t, 16> bytes{};
  for (int i = 0; i < 4; ++i) bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  bytes[15] = 0x5a;
  return TokenId(bytes);
}

SyncedToken Token(int n, const std::string& user_id, int64_t version,
                  absl::CivilDay expires_on = kExpiresOn) {
  SyncedToken token;
  token.hash = HashOf(n);
  token.id = IdOf(n);
  token.user_id = user_id;
  token.expires_on = expires_on;
  token.version = version;
  return token;
}

SyncedToken Revoked(int n, const std::string& user_id, int64_t version) {
  SyncedToken token = Token(n, user_id, version);
  token.revoked = true;
  return token;
}

SyncedUser User(const std::string& user_id, Role role, int64_t version, bool disabled = false) {
  return SyncedUser{user_id, role, disabled, version};
}

// Publishes a snapshot of `users` and `tokens` as of `version`.
void Load(TokenCache& cache, const std::vector<SyncedUser>& users,
          const std::vector<SyncedToken>& tokens, int64_t version) {
  std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache.StartSnapshot();
  for (const SyncedUser& user : users) builder->AddUser(user);
  for (const SyncedToken& token : tokens) builder->AddToken(token);
  cache.Publish(std::move(builder), version);
}

TEST(TokenCacheTest, EmptyUntilTheFirstSnapshot) {
  TokenCache cache;
  EXPECT_FALSE(cache.loaded());
  EXPECT_EQ(cache.version(), 0);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find(HashOf(1)), std::nullopt);
}

TEST(TokenCacheTest, SnapshotServesEveryLiveToken) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kAdmin, 3), User("bob", Role::kUser, 4, /*disabled=*/true)},
       {Token(1, "alice", 5), Token(2, "bob", 6, absl::CivilDay(2026, 12, 31)),
        Revoked(3, "alice", 7)},
       10);
  EXPECT_TRUE(cache.loaded());
  EXPECT_EQ(cache.version(), 10);
  EXPECT_EQ(cache.size(), 2u);

  const std::optional<TokenFacts> alice = cache.Find(HashOf(1));
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->token_id, IdOf(1));
  EXPECT_EQ(alice->user_id, "alice");
  EXPECT_EQ(alice->role, Role::kAdmin);
  EXPECT_FALSE(alice->user_disabled);
  EXPECT_EQ(alice->expires_on, kExpiresOn);

  const std::optional<TokenFacts> bob = cache.Find(HashOf(2));
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->token_id, IdOf(2));
  EXPECT_EQ(bob->user_id, "bob");
  EXPECT_EQ(bob->role, Role::kUser);
  EXPECT_TRUE(bob->user_disabled);
  EXPECT_EQ(bob->expires_on, absl::CivilDay(2026, 12, 31));

  // Revoked tokens are not kept.
  EXPECT_EQ(cache.Find(HashOf(3)), std::nullopt);
  EXPECT_EQ(cache.Find(HashOf(4)), std::nullopt);
}

TEST(TokenCacheTest, SnapshotMayDescribeAnOwnerAfterItsTokens) {
  TokenCache cache;
  std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache.StartSnapshot();
  builder->AddToken(Token(1, "alice", 5));
  builder->AddUser(User("alice", Role::kService, 2));
  cache.Publish(std::move(builder), 5);
  const std::optional<TokenFacts> found = cache.Find(HashOf(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, Role::kService);
}

TEST(TokenCacheTest, ComparesTheWholeHash) {
  TokenCache cache;
  SyncedToken token = Token(1, "alice", 2);
  SyncedToken same_start = Token(2, "alice", 2);
  // Same first 8 bytes, so the same home slot; differs only in the last byte.
  same_start.hash = token.hash;
  same_start.hash[31] ^= 1;
  Load(cache, {User("alice", Role::kUser, 1)}, {token, same_start}, 2);
  EXPECT_EQ(cache.size(), 2u);

  ASSERT_TRUE(cache.Find(token.hash).has_value());
  EXPECT_EQ(cache.Find(token.hash)->token_id, IdOf(1));
  ASSERT_TRUE(cache.Find(same_start.hash).has_value());
  EXPECT_EQ(cache.Find(same_start.hash)->token_id, IdOf(2));
  TokenHash other = token.hash;
  other[20] ^= 0x80;
  EXPECT_EQ(cache.Find(other), std::nullopt);
}

TEST(TokenCacheTest, SnapshotReplacesEverythingButOnlyAtPublish) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2), Token(2, "alice", 3)}, 3);

  std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache.StartSnapshot();
  builder->AddUser(User("alice", Role::kAdmin, 8, /*disabled=*/true));
  builder->AddUser(User("carol", Role::kUser, 9));
  builder->AddToken(Token(2, "alice", 3));
  builder->AddToken(Token(3, "carol", 9));

  // Still the old contents, users included.
  ASSERT_TRUE(cache.Find(HashOf(1)).has_value());
  EXPECT_EQ(cache.Find(HashOf(2))->role, Role::kUser);
  EXPECT_FALSE(cache.Find(HashOf(2))->user_disabled);
  EXPECT_EQ(cache.Find(HashOf(3)), std::nullopt);
  EXPECT_EQ(cache.version(), 3);

  cache.Publish(std::move(builder), 9);
  EXPECT_EQ(cache.Find(HashOf(1)), std::nullopt);
  ASSERT_TRUE(cache.Find(HashOf(2)).has_value());
  EXPECT_EQ(cache.Find(HashOf(2))->role, Role::kAdmin);
  EXPECT_TRUE(cache.Find(HashOf(2))->user_disabled);
  ASSERT_TRUE(cache.Find(HashOf(3)).has_value());
  EXPECT_EQ(cache.Find(HashOf(3))->user_id, "carol");
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.version(), 9);
}

TEST(TokenCacheTest, DeltaAddsRevokesAndRotates) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2)}, 2);

  cache.ApplyDelta({}, {Token(2, "alice", 3)}, 3);
  EXPECT_TRUE(cache.Find(HashOf(2)).has_value());
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.version(), 3);

  cache.ApplyDelta({}, {Revoked(1, "alice", 4)}, 4);
  EXPECT_EQ(cache.Find(HashOf(1)), std::nullopt);
  EXPECT_EQ(cache.size(), 1u);

  // Rotation: the old secret revoked and the new one added by one delta.
  cache.ApplyDelta({}, {Revoked(2, "alice", 5), Token(3, "alice", 5)}, 5);
  EXPECT_EQ(cache.Find(HashOf(2)), std::nullopt);
  ASSERT_TRUE(cache.Find(HashOf(3)).has_value());
  EXPECT_EQ(cache.Find(HashOf(3))->token_id, IdOf(3));
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.version(), 5);

  // Revoking what is not cached is harmless.
  cache.ApplyDelta({}, {Revoked(99, "alice", 6)}, 6);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(TokenCacheTest, UserChangesApplyToAllTheirTokens) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1), User("bob", Role::kUser, 1)},
       {Token(1, "alice", 2), Token(2, "alice", 2), Token(3, "bob", 2)}, 2);

  cache.ApplyDelta({User("alice", Role::kUser, 3, /*disabled=*/true)}, {}, 3);
  EXPECT_TRUE(cache.Find(HashOf(1))->user_disabled);
  EXPECT_TRUE(cache.Find(HashOf(2))->user_disabled);
  EXPECT_FALSE(cache.Find(HashOf(3))->user_disabled);

  cache.ApplyDelta({User("alice", Role::kUser, 4, /*disabled=*/false)}, {}, 4);
  EXPECT_FALSE(cache.Find(HashOf(1))->user_disabled);
  EXPECT_FALSE(cache.Find(HashOf(2))->user_disabled);

  cache.ApplyDelta({User("alice", Role::kAdmin, 5)}, {}, 5);
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kAdmin);
  EXPECT_EQ(cache.Find(HashOf(2))->role, Role::kAdmin);
  EXPECT_EQ(cache.Find(HashOf(3))->role, Role::kUser);
}

TEST(TokenCacheTest, OlderVersionsAreIgnored) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kAdmin, 5)}, {Token(1, "alice", 6)}, 6);

  // An older description of the token (another expiry) and of its owner.
  cache.ApplyDelta({User("alice", Role::kUser, 4, /*disabled=*/true)},
                   {Token(1, "alice", 5, absl::CivilDay(2026, 1, 1))}, 5);
  std::optional<TokenFacts> found = cache.Find(HashOf(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->expires_on, kExpiresOn);
  EXPECT_EQ(found->role, Role::kAdmin);
  EXPECT_FALSE(found->user_disabled);
  // The cache's version never goes back.
  EXPECT_EQ(cache.version(), 6);

  // A revocation older than the cached token does not remove it.
  cache.ApplyDelta({}, {Revoked(1, "alice", 5)}, 6);
  EXPECT_TRUE(cache.Find(HashOf(1)).has_value());

  // The same version is applied again (idempotent redelivery), newer wins.
  cache.ApplyDelta({User("alice", Role::kUser, 5)},
                   {Token(1, "alice", 7, absl::CivilDay(2027, 1, 1))}, 7);
  found = cache.Find(HashOf(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->role, Role::kUser);
  EXPECT_EQ(found->expires_on, absl::CivilDay(2027, 1, 1));
  EXPECT_EQ(cache.version(), 7);
}

TEST(TokenCacheTest, TokenOfAnUndescribedOwnerHasNoRoleUntilTheOwnerArrives) {
  TokenCache cache;
  Load(cache, {}, {}, 1);
  cache.ApplyDelta({}, {Token(1, "dave", 2)}, 2);
  std::optional<TokenFacts> found = cache.Find(HashOf(1));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->user_id, "dave");
  EXPECT_EQ(found->role, std::nullopt);

  cache.ApplyDelta({User("dave", Role::kUser, 1)}, {}, 3);
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kUser);
}

TEST(TokenCacheTest, InsertLookedUpOnlyAheadOfTheFeed) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {}, 10);

  // The feed has reached version 10: it knows better about this token.
  EXPECT_FALSE(cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(1, "alice", 10)));
  EXPECT_FALSE(cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(2, "alice", 3)));
  EXPECT_EQ(cache.Find(HashOf(1)), std::nullopt);
  EXPECT_EQ(cache.Find(HashOf(2)), std::nullopt);

  // A revoked token is never inserted.
  SyncedToken revoked = Token(3, "alice", 11);
  revoked.revoked = true;
  EXPECT_FALSE(cache.InsertLookedUp(User("alice", Role::kUser, 1), revoked));
  EXPECT_EQ(cache.Find(HashOf(3)), std::nullopt);

  EXPECT_TRUE(cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(4, "alice", 11)));
  std::optional<TokenFacts> found = cache.Find(HashOf(4));
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->token_id, IdOf(4));
  EXPECT_EQ(found->role, Role::kUser);
  EXPECT_EQ(cache.size(), 1u);
  // A lookup does not move the feed's version.
  EXPECT_EQ(cache.version(), 10);

  // Once the feed revokes it, the same lookup answer is refused.
  cache.ApplyDelta({}, {Revoked(4, "alice", 12)}, 12);
  EXPECT_FALSE(cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(4, "alice", 11)));
  EXPECT_EQ(cache.Find(HashOf(4)), std::nullopt);
}

TEST(TokenCacheTest, InsertLookedUpAppliesTheUserOnlyWhenNewer) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kAdmin, 5)}, {}, 10);

  // An older (or equally old) description of alice does not win.
  EXPECT_TRUE(cache.InsertLookedUp(User("alice", Role::kUser, 5, /*disabled=*/true),
                                   Token(1, "alice", 11)));
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kAdmin);
  EXPECT_FALSE(cache.Find(HashOf(1))->user_disabled);

  EXPECT_TRUE(cache.InsertLookedUp(User("alice", Role::kUser, 6, /*disabled=*/true),
                                   Token(2, "alice", 12)));
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kUser);
  EXPECT_TRUE(cache.Find(HashOf(1))->user_disabled);

  // An owner the cache has never heard of.
  EXPECT_TRUE(cache.InsertLookedUp(User("erin", Role::kService, 1), Token(3, "erin", 13)));
  EXPECT_EQ(cache.Find(HashOf(3))->role, Role::kService);
}

TEST(TokenCacheTest, LookedUpTokensNewerThanASnapshotSurviveIt) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2)}, 10);
  ASSERT_TRUE(cache.InsertLookedUp(User("frank", Role::kUser, 11), Token(2, "frank", 12)));
  ASSERT_TRUE(cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(3, "alice", 20)));

  // A snapshot as of 15 cannot know token 3 (version 20) yet; it does know
  // token 2 and that it is gone.
  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2)}, 15);
  EXPECT_TRUE(cache.Find(HashOf(1)).has_value());
  EXPECT_EQ(cache.Find(HashOf(2)), std::nullopt);
  ASSERT_TRUE(cache.Find(HashOf(3)).has_value());
  EXPECT_EQ(cache.Find(HashOf(3))->role, Role::kUser);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(TokenCacheTest, LookedUpTokenKeepsItsOwnerAcrossASnapshotWithoutThem) {
  TokenCache cache;
  Load(cache, {}, {}, 10);
  ASSERT_TRUE(cache.InsertLookedUp(User("gina", Role::kAdmin, 11), Token(1, "gina", 11)));
  Load(cache, {}, {}, 10);
  ASSERT_TRUE(cache.Find(HashOf(1)).has_value());
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kAdmin);
}

// The database went back (a restore, or another database): token-service
// sends a snapshot older than what the cache reached. Nothing the cache
// learned after that point may survive, or tokens the database no longer
// has would keep working.
TEST(TokenCacheTest, ASnapshotOlderThanTheCacheCarriesNothingOver) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2)}, 100);
  cache.ApplyDelta({User("alice", Role::kAdmin, 110)}, {Token(2, "alice", 120)}, 120);
  ASSERT_TRUE(cache.InsertLookedUp(User("bob", Role::kUser, 121), Token(3, "bob", 125)));

  Load(cache, {User("alice", Role::kUser, 1)}, {Token(1, "alice", 2)}, 100);
  EXPECT_EQ(cache.version(), 100);
  EXPECT_EQ(cache.Find(HashOf(2)), std::nullopt);
  EXPECT_EQ(cache.Find(HashOf(3)), std::nullopt);
  ASSERT_TRUE(cache.Find(HashOf(1)).has_value());
  EXPECT_EQ(cache.Find(HashOf(1))->role, Role::kUser);
  EXPECT_EQ(cache.size(), 1u);
}

SyncedToken Scoped(SyncedToken token, std::vector<std::string> scopes) {
  token.scopes = std::move(scopes);
  return token;
}

// The names of the token with this hash's scopes; "absent" when not cached.
std::vector<std::string> ScopesOf(const TokenCache& cache, int n) {
  const std::optional<CachedToken> found = cache.Find(HashOf(n));
  if (!found.has_value()) return {"absent"};
  EXPECT_NE(found->scopes, nullptr);
  return found->scopes->names;
}

TEST(TokenCacheTest, ScopesSurviveASnapshotAndATokenWithoutScopesHasNone) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)},
       {Scoped(Token(1, "alice", 2), {"things:read"}),
        Scoped(Token(2, "alice", 3), {"things:read", "things:write"}), Token(3, "alice", 4)},
       10);
  EXPECT_EQ(ScopesOf(cache, 1), (std::vector<std::string>{"things:read"}));
  EXPECT_EQ(ScopesOf(cache, 2), (std::vector<std::string>{"things:read", "things:write"}));
  EXPECT_EQ(cache.Find(HashOf(2))->scopes->joined, "things:read things:write");
  EXPECT_TRUE(ScopesOf(cache, 3).empty());
  EXPECT_EQ(cache.Find(HashOf(3))->scopes, &ScopeSet::None());
}

TEST(TokenCacheTest, ScopesSurviveADeltaAndALookup) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {}, 10);
  cache.ApplyDelta({}, {Scoped(Token(1, "alice", 11), {"things:write"})}, 11);
  EXPECT_EQ(ScopesOf(cache, 1), (std::vector<std::string>{"things:write"}));
  ASSERT_TRUE(cache.InsertLookedUp(User("alice", Role::kUser, 1),
                                   Scoped(Token(2, "alice", 12), {"things:read"})));
  EXPECT_EQ(ScopesOf(cache, 2), (std::vector<std::string>{"things:read"}));
  // A looked-up token ahead of the feed keeps its scopes across a snapshot
  // that does not have it yet.
  Load(cache, {User("alice", Role::kUser, 1)}, {Scoped(Token(1, "alice", 11), {"things:write"})},
       11);
  EXPECT_EQ(ScopesOf(cache, 2), (std::vector<std::string>{"things:read"}));
  EXPECT_EQ(ScopesOf(cache, 1), (std::vector<std::string>{"things:write"}));
}

TEST(TokenCacheTest, TokensWithTheSameScopesShareOneSetWhateverTheOrderTheyCameIn) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)},
       {Scoped(Token(1, "alice", 2), {"things:read", "things:write"}),
        Scoped(Token(2, "alice", 3), {"things:write", "things:read"}),
        Scoped(Token(3, "alice", 4), {"things:read"})},
       10);
  cache.ApplyDelta({}, {Scoped(Token(4, "alice", 11), {"things:read", "things:write"})}, 11);
  const ScopeSet* shared = cache.Find(HashOf(1))->scopes;
  EXPECT_EQ(cache.Find(HashOf(2))->scopes, shared);
  EXPECT_EQ(cache.Find(HashOf(4))->scopes, shared);
  EXPECT_EQ(cache.InternScopes({"things:write", "things:read", "things:read"}), shared);
  EXPECT_EQ(shared->names, (std::vector<std::string>{"things:read", "things:write"}));
  EXPECT_NE(cache.Find(HashOf(3))->scopes, shared);
  // A new snapshot keeps the sets: a pointer a reader holds stays good.
  Load(cache, {User("alice", Role::kUser, 1)},
       {Scoped(Token(5, "alice", 12), {"things:read", "things:write"})}, 12);
  EXPECT_EQ(cache.Find(HashOf(5))->scopes, shared);
  EXPECT_EQ(shared->joined, "things:read things:write");
  EXPECT_EQ(cache.InternScopes({}), &ScopeSet::None());
}

TEST(TokenCacheTest, GrowsPastItsInitialCapacity) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {}, 1);
  constexpr int kTokens = 20000;
  int64_t version = 1;
  for (int batch = 0; batch < kTokens / 500; ++batch) {
    std::vector<SyncedToken> tokens;
    for (int n = batch * 500; n < (batch + 1) * 500; ++n) tokens.push_back(Token(n, "alice", 2));
    cache.ApplyDelta({}, tokens, ++version);
  }
  EXPECT_EQ(cache.size(), static_cast<size_t>(kTokens));
  for (int n = 0; n < kTokens; ++n) {
    const std::optional<TokenFacts> found = cache.Find(HashOf(n));
    ASSERT_TRUE(found.has_value()) << n;
    ASSERT_EQ(found->token_id, IdOf(n)) << n;
  }
  EXPECT_EQ(cache.Find(HashOf(kTokens)), std::nullopt);
}

TEST(TokenCacheTest, LargeSnapshotIsComplete) {
  TokenCache cache;
  constexpr int kTokens = 50000;
  std::vector<SyncedToken> tokens;
  for (int n = 0; n < kTokens; ++n) tokens.push_back(Token(n, absl::StrCat("u", n % 100), 2));
  std::vector<SyncedUser> users;
  for (int u = 0; u < 100; ++u) users.push_back(User(absl::StrCat("u", u), Role::kUser, 1));
  Load(cache, users, tokens, 2);
  EXPECT_EQ(cache.size(), static_cast<size_t>(kTokens));
  for (int n = 0; n < kTokens; ++n) {
    const std::optional<TokenFacts> found = cache.Find(HashOf(n));
    ASSERT_TRUE(found.has_value()) << n;
    ASSERT_EQ(found->user_id, absl::StrCat("u", n % 100)) << n;
  }
  // Loading the same size again starts from a builder sized for it.
  Load(cache, users, tokens, 3);
  EXPECT_EQ(cache.size(), static_cast<size_t>(kTokens));
}

TEST(TokenCacheTest, ManyInsertsAndRemovalsLeaveExactlyTheLiveTokens) {
  // A small live set churned through many times: tombstones pile up and the
  // table is rebuilt over and over without growing.
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {}, 1);
  constexpr int kLive = 30;
  constexpr int kRounds = 400;
  int64_t version = 1;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<SyncedToken> tokens;
    for (int n = round * kLive; n < (round + 1) * kLive; ++n) {
      tokens.push_back(Token(n, "alice", version + 1));
    }
    if (round > 0) {
      for (int n = (round - 1) * kLive; n < round * kLive; ++n) {
        tokens.push_back(Revoked(n, "alice", version + 1));
      }
    }
    cache.ApplyDelta({}, tokens, ++version);
    ASSERT_EQ(cache.size(), static_cast<size_t>(kLive)) << round;
  }
  for (int n = 0; n < kRounds * kLive; ++n) {
    const bool live = n >= (kRounds - 1) * kLive;
    ASSERT_EQ(cache.Find(HashOf(n)).has_value(), live) << n;
  }
}

// Readers keep looking tokens up while the writer applies deltas and
// publishes snapshots. Every answer must belong together, and tokens that are
// never removed must never go missing.
TEST(TokenCacheTest, ReadersSeeConsistentAnswersWhileTheWriterWorks) {
  constexpr int kStable = 200;  // tokens 0..kStable-1: always present
  constexpr int kChurnPerRound = 40;
  constexpr int kChurnSets = 50;  // churn tokens are reused after this many rounds
  constexpr int kTokens = kStable + kChurnSets * kChurnPerRound;
  constexpr int kMinRounds = 300;
  constexpr int kMaxRounds = 100000;
  constexpr int kUsers = 7;
  constexpr int kReaders = 3;
  auto user_of = [](int n) { return absl::StrCat("user-", n % kUsers); };
  // A user's role never changes here; only disabled flips.
  auto role_of = [](int n) { return n % kUsers == 0 ? Role::kAdmin : Role::kUser; };
  auto churn_set = [](int round) { return kStable + round % kChurnSets * kChurnPerRound; };
  std::vector<TokenHash> hashes;
  for (int n = 0; n < kTokens; ++n) hashes.push_back(HashOf(n));

  TokenCache cache;
  int64_t version = 1;
  std::vector<SyncedUser> users;
  for (int u = 0; u < kUsers; ++u) users.push_back(User(user_of(u), role_of(u), 1));
  std::vector<SyncedToken> stable;
  for (int n = 0; n < kStable; ++n) stable.push_back(Token(n, user_of(n), 1));
  Load(cache, users, stable, version);

  std::atomic<bool> writer_done{false};
  std::atomic<int> passes_while_writing{0};
  std::atomic<int64_t> inconsistent{0};
  std::atomic<int64_t> stable_missing{0};
  std::atomic<int64_t> churn_hits{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      while (!writer_done.load()) {
        for (int n = r; n < kTokens; n += kReaders) {
          const std::optional<TokenFacts> found = cache.Find(hashes[n]);
          if (!found.has_value()) {
            if (n < kStable) stable_missing.fetch_add(1);
            continue;
          }
          if (n >= kStable) churn_hits.fetch_add(1);
          const bool consistent = found->token_id == IdOf(n) && found->user_id == user_of(n) &&
                                  found->role == role_of(n) && found->expires_on >= kExpiresOn &&
                                  found->expires_on < kExpiresOn + 10;
          if (!consistent) inconsistent.fetch_add(1);
        }
        if (!writer_done.load()) passes_while_writing.fetch_add(1);
      }
    });
  }

  // At least kMinRounds, and on until every reader has had a few passes
  // during the writes, however the threads get scheduled.
  for (int round = 0;
       round < kMinRounds || (passes_while_writing.load() < 3 * kReaders && round < kMaxRounds);
       ++round) {
    ++version;
    std::vector<SyncedToken> tokens;
    // A new set of churn tokens, the previous set revoked, and some stable
    // tokens described again with another expiry.
    const int first = churn_set(round);
    for (int n = first; n < first + kChurnPerRound; ++n) {
      tokens.push_back(Token(n, user_of(n), version));
    }
    if (round > 0) {
      for (int n = churn_set(round - 1); n < churn_set(round - 1) + kChurnPerRound; ++n) {
        tokens.push_back(Revoked(n, user_of(n), version));
      }
    }
    for (int n = round % 50; n < kStable; n += 50) {
      tokens.push_back(Token(n, user_of(n), version, kExpiresOn + round % 10));
    }
    const std::vector<SyncedUser> flipped = {
        User(user_of(round), role_of(round), version, /*disabled=*/round % 2 == 0)};
    cache.ApplyDelta(flipped, tokens, version);

    if (round % 25 == 24) {
      // A fresh snapshot: the stable tokens and the current churn set.
      ++version;
      std::vector<SyncedToken> all = stable;
      for (int n = first; n < first + kChurnPerRound; ++n) {
        all.push_back(Token(n, user_of(n), version));
      }
      Load(cache, users, all, version);
    }
  }
  writer_done.store(true);
  for (std::thread& reader : readers) reader.join();

  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_EQ(stable_missing.load(), 0);
  // The readers did see the churn, not only the stable tokens.
  EXPECT_GT(churn_hits.load(), 0);
  EXPECT_EQ(cache.size(), static_cast<size_t>(kStable + kChurnPerRound));
}

TEST(TokenCacheTest, LookupsRaceWithTheFeedSafely) {
  TokenCache cache;
  Load(cache, {User("alice", Role::kUser, 1)}, {}, 1);
  constexpr int kTokens = 2000;
  std::thread looker([&] {
    for (int n = 0; n < kTokens; ++n) {
      cache.InsertLookedUp(User("alice", Role::kUser, 1), Token(n, "alice", 1000000 + n));
    }
  });
  for (int n = 0; n < kTokens; ++n) {
    cache.ApplyDelta({}, {Token(kTokens + n, "alice", 2 + n)}, 2 + n);
  }
  looker.join();
  EXPECT_EQ(cache.size(), static_cast<size_t>(2 * kTokens));
  for (int n = 0; n < 2 * kTokens; ++n) ASSERT_TRUE(cache.Find(HashOf(n)).has_value()) << n;
}

}  // namespace
}  // namespace tokens::sidecar
