#include "sidecar/domain/verifier.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/model.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"
#include "tests/support/seeded_random.h"

namespace tokens::sidecar {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::tokens::test_support::SeededRandom;

constexpr absl::CivilDay kExpiresOn(2027, 4, 11);
constexpr char kClient[] = "10.1.2.3";

absl::Time Utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// token-service's LookupToken: answers from a table, or fails them all.
class FakeLookup final : public TokenLookup {
 public:
  absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash& hash) override {
    ++calls_;
    if (during_) during_();
    if (!failure_.ok()) return failure_;
    auto it = answers_.find(hash);
    if (it == answers_.end()) return std::optional<LookupResult>();
    return std::optional<LookupResult>(it->second);
  }

  void Answer(const LookupResult& result) { answers_[result.token.hash] = result; }
  void FailWith(absl::Status status) { failure_ = std::move(status); }
  // Runs inside the next lookups, as the feed would while one is in flight.
  void During(std::function<void()> action) { during_ = std::move(action); }
  int calls() const { return calls_; }

 private:
  std::map<TokenHash, LookupResult> answers_;
  absl::Status failure_;
  std::function<void()> during_;
  int calls_ = 0;
};

SyncedUser User(const std::string& user_id, Role role, int64_t version, bool disabled = false) {
  return SyncedUser{user_id, role, disabled, version};
}

// The token id of the n-th token a test issues.
TokenId IdOf(int n) {
  std::array<uint8_t, 16> bytes{};
  bytes[0] = 0xab;
  bytes[15] = static_cast<uint8_t>(n);
  return TokenId(bytes);
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() {
    std::unique_ptr<TokenCache::SnapshotBuilder> builder = cache_.StartSnapshot();
    builder->AddUser(User("alice", Role::kUser, 1));
    builder->AddUser(User("bob", Role::kAdmin, 2));
    cache_.Publish(std::move(builder), kSnapshotVersion);
  }

  // A new token's secret and its state as the feed would describe it.
  struct Issued {
    std::string secret;
    SyncedToken state;
  };
  Issued Issue(const std::string& user_id, absl::CivilDay expires_on = kExpiresOn) {
    Issued issued;
    issued.secret = codec_.Generate(random_);
    issued.state.hash = TokenCodec::Hash(issued.secret);
    issued.state.id = IdOf(++issued_);
    issued.state.user_id = user_id;
    issued.state.expires_on = expires_on;
    issued.state.version = kSnapshotVersion + issued_;
    return issued;
  }

  // Issued and already known to the cache through the feed.
  Issued IssueCached(const std::string& user_id, absl::CivilDay expires_on = kExpiresOn) {
    Issued issued = Issue(user_id, expires_on);
    cache_.ApplyDelta({}, {issued.state}, issued.state.version);
    return issued;
  }

  CheckResult Check(absl::string_view header) { return verifier_.CheckHeader(header, kClient); }

  static constexpr int64_t kSnapshotVersion = 100;

  TokenCodec codec_;
  SeededRandom random_{42};
  FakeClock clock_{Utc(2026, 6, 1, 12)};
  TokenCache cache_;
  FakeLookup lookup_;
  UsageRecorder usage_;
  MissResolver resolver_{lookup_, clock_, MissResolverOptions{}, [this](const LookupResult& found) {
                           return cache_.InsertLookedUp(found.user, found.token);
                         }};
  Verifier verifier_{codec_, cache_, resolver_, usage_, clock_};
  int issued_ = 0;
};

TEST_F(VerifierTest, MissingOrMalformedHeadersAreDeniedBeforeAnyLookup) {
  const std::string valid = IssueCached("alice").secret;
  std::string bad_checksum = valid;
  bad_checksum.back() = bad_checksum.back() == 'A' ? 'B' : 'A';
  const std::string bad_prefix = "abc" + valid.substr(3);

  const std::pair<std::optional<std::string>, DenyReason> kCases[] = {
      {std::nullopt, DenyReason::kMissing},
      {"", DenyReason::kMalformed},
      {"Bearer", DenyReason::kMalformed},
      {"Bearer ", DenyReason::kMalformed},
      {"Bearer    ", DenyReason::kMalformed},
      {"Basic abc", DenyReason::kMalformed},
      {"Basic " + valid, DenyReason::kMalformed},
      {"Bearer utk_short", DenyReason::kMalformed},
      {"Bearer " + bad_checksum, DenyReason::kMalformed},
      {"Bearer " + bad_prefix, DenyReason::kMalformed},
      {"Bearer " + valid.substr(0, valid.size() - 1), DenyReason::kMalformed},
      {"Bearer " + valid + "x", DenyReason::kMalformed},
      {"Bearer\t" + valid, DenyReason::kMalformed},
      {"Bearer " + valid + "\t", DenyReason::kMalformed},
      {"Bearer " + valid + " " + valid, DenyReason::kMalformed},
      {"Bearer " + valid + "\xc3\xa9", DenyReason::kMalformed},
      {valid, DenyReason::kMalformed},
  };
  for (const auto& [header, reason] : kCases) {
    SCOPED_TRACE(header.has_value() ? "\"" + *header + "\"" : "absent");
    const CheckResult verdict =
        header.has_value() ? Check(*header) : verifier_.CheckHeader(std::nullopt, kClient);
    EXPECT_FALSE(verdict.allowed);
    EXPECT_EQ(verdict.reason, reason);
    EXPECT_TRUE(verdict.principal.user_id.empty());
  }
  EXPECT_EQ(lookup_.calls(), 0);
  EXPECT_THAT(usage_.Drain(), IsEmpty());
}

TEST_F(VerifierTest, ThePrincipalCarriesTheTokensExpiryAndScopesFromTheCacheAndFromALookup) {
  Issued cached = Issue("alice", absl::CivilDay(2026, 12, 9));
  cached.state.scopes = {"things:read"};
  cache_.ApplyDelta({}, {cached.state}, cached.state.version);
  const CheckResult hit = Check("Bearer " + cached.secret);
  ASSERT_TRUE(hit.allowed);
  EXPECT_EQ(hit.principal.expires_on, absl::CivilDay(2026, 12, 9));
  EXPECT_THAT(hit.principal.scopes->names, ElementsAre("things:read"));

  Issued looked_up = Issue("bob");
  looked_up.state.scopes = {"things:read", "things:write"};
  lookup_.Answer(LookupResult{looked_up.state, User("bob", Role::kAdmin, 2)});
  const CheckResult miss = Check("Bearer " + looked_up.secret);
  ASSERT_TRUE(miss.allowed);
  EXPECT_EQ(lookup_.calls(), 1);
  EXPECT_EQ(miss.principal.scopes->joined, "things:read things:write");
  // The same interned set the cache now holds for it.
  EXPECT_EQ(miss.principal.scopes, cache_.Find(looked_up.state.hash)->scopes);

  const CheckResult none = Check("Bearer " + IssueCached("alice").secret);
  ASSERT_TRUE(none.allowed);
  EXPECT_EQ(none.principal.scopes, &ScopeSet::None());
}

TEST_F(VerifierTest, SchemeIsCaseInsensitiveAndSpacesAreTolerated) {
  const std::string valid = IssueCached("alice").secret;
  for (const std::string& header : {"Bearer " + valid, "bearer " + valid, "BEARER " + valid,
                                    "Bearer   " + valid, "Bearer " + valid + "  "}) {
    SCOPED_TRACE(header);
    EXPECT_TRUE(Check(header).allowed);
  }
}

TEST_F(VerifierTest, BareTokens) {
  const std::string valid = IssueCached("alice").secret;
  EXPECT_TRUE(verifier_.CheckToken(valid, kClient).allowed);
  EXPECT_EQ(verifier_.CheckToken("", kClient).reason, DenyReason::kMissing);
  EXPECT_EQ(verifier_.CheckToken("Bearer " + valid, kClient).reason, DenyReason::kMalformed);
  EXPECT_EQ(verifier_.CheckToken(valid + " ", kClient).reason, DenyReason::kMalformed);
  EXPECT_EQ(lookup_.calls(), 0);
}

TEST_F(VerifierTest, CachedTokenIsAllowedWithItsPrincipal) {
  const Issued issued = IssueCached("bob", absl::CivilDay(2026, 9, 30));
  const CheckResult verdict = Check("Bearer " + issued.secret);
  ASSERT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.principal.user_id, "bob");
  EXPECT_EQ(verdict.principal.role, Role::kAdmin);
  EXPECT_EQ(verdict.principal.token_id, issued.state.id);
  EXPECT_EQ(verdict.principal.expires_on, absl::CivilDay(2026, 9, 30));
  // A hit asks token-service nothing.
  EXPECT_EQ(lookup_.calls(), 0);

  const std::vector<UsageRecord> used = usage_.Drain();
  ASSERT_EQ(used.size(), 1u);
  EXPECT_EQ(used[0].token_id, issued.state.id);
  EXPECT_EQ(used[0].last_used_at, clock_.Now());
  EXPECT_EQ(used[0].client_address, kClient);
}

TEST_F(VerifierTest, RevokedByTheFeedIsDenied) {
  Issued issued = IssueCached("alice");
  ASSERT_TRUE(Check("Bearer " + issued.secret).allowed);

  issued.state.revoked = true;
  issued.state.version += 100;
  cache_.ApplyDelta({}, {issued.state}, issued.state.version);
  // Gone from the cache; token-service confirms it is revoked.
  lookup_.Answer(LookupResult{issued.state, User("alice", Role::kUser, 1)});
  const CheckResult verdict = Check("Bearer " + issued.secret);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kRevoked);
  // Remembered: the next check does not ask again.
  EXPECT_EQ(Check("Bearer " + issued.secret).reason, DenyReason::kRevoked);
  EXPECT_EQ(lookup_.calls(), 1);
}

TEST_F(VerifierTest, ExpiresAtMidnightUtcOfItsExpiryDay) {
  const Issued issued = IssueCached("alice", absl::CivilDay(2026, 6, 2));
  const std::string header = "Bearer " + issued.secret;

  clock_.Set(Utc(2026, 6, 2) - absl::Microseconds(1));
  EXPECT_TRUE(Check(header).allowed);

  clock_.Set(Utc(2026, 6, 2));
  CheckResult verdict = Check(header);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kExpired);

  clock_.Set(Utc(2026, 8, 1));
  EXPECT_EQ(Check(header).reason, DenyReason::kExpired);
  // Expiry is the verifier's call at every check; the cache was never asked
  // to drop it, and no lookup was needed.
  EXPECT_EQ(lookup_.calls(), 0);
}

TEST_F(VerifierTest, DisabledUserIsDeniedUntilReEnabled) {
  const Issued issued = IssueCached("alice");
  const std::string header = "Bearer " + issued.secret;

  cache_.ApplyDelta({User("alice", Role::kUser, 200, /*disabled=*/true)}, {}, 200);
  const CheckResult verdict = Check(header);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kUserDisabled);

  cache_.ApplyDelta({User("alice", Role::kUser, 201, /*disabled=*/false)}, {}, 201);
  EXPECT_TRUE(Check(header).allowed);
}

// Decide's order (common/auth/decide.h), the same as token-service's: the
// token's own expiry before its owner's state.
TEST_F(VerifierTest, ExpiredTokenOfADisabledUserIsExpired) {
  const Issued issued = IssueCached("alice", absl::CivilDay(2026, 6, 2));
  cache_.ApplyDelta({User("alice", Role::kUser, 200, /*disabled=*/true)}, {}, 200);
  const std::string header = "Bearer " + issued.secret;
  EXPECT_EQ(Check(header).reason, DenyReason::kUserDisabled);
  clock_.Set(Utc(2026, 6, 2));
  EXPECT_EQ(Check(header).reason, DenyReason::kExpired);
}

TEST_F(VerifierTest, RoleChangeShowsInThePrincipal) {
  const Issued issued = IssueCached("alice");
  cache_.ApplyDelta({User("alice", Role::kService, 200)}, {}, 200);
  const CheckResult verdict = Check("Bearer " + issued.secret);
  ASSERT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.principal.role, Role::kService);
}

TEST_F(VerifierTest, TokenOfAnUndescribedOwnerIsUnknown) {
  const Issued issued = IssueCached("nobody");
  const CheckResult verdict = Check("Bearer " + issued.secret);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kUnknown);

  cache_.ApplyDelta({User("nobody", Role::kUser, 300)}, {}, 300);
  EXPECT_TRUE(Check("Bearer " + issued.secret).allowed);
}

TEST_F(VerifierTest, MissFoundByLookupIsAllowedThenCached) {
  const Issued issued = Issue("bob");
  lookup_.Answer(LookupResult{issued.state, User("bob", Role::kAdmin, 2)});

  CheckResult verdict = Check("Bearer " + issued.secret);
  ASSERT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.principal.user_id, "bob");
  EXPECT_EQ(verdict.principal.role, Role::kAdmin);
  EXPECT_EQ(verdict.principal.token_id, issued.state.id);
  EXPECT_EQ(verdict.principal.expires_on, kExpiresOn);
  EXPECT_EQ(lookup_.calls(), 1);

  verdict = Check("Bearer " + issued.secret);
  ASSERT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.principal.token_id, issued.state.id);
  EXPECT_EQ(lookup_.calls(), 1);
  EXPECT_TRUE(cache_.Find(issued.state.hash).has_value());
}

TEST_F(VerifierTest, MissFoundByLookupStillChecksOwnerAndExpiry) {
  const Issued disabled = Issue("carol");
  lookup_.Answer(LookupResult{disabled.state, User("carol", Role::kUser, 3, /*disabled=*/true)});
  EXPECT_EQ(Check("Bearer " + disabled.secret).reason, DenyReason::kUserDisabled);

  const Issued expired = Issue("alice", absl::CivilDay(2026, 6, 1));
  lookup_.Answer(LookupResult{expired.state, User("alice", Role::kUser, 1)});
  EXPECT_EQ(Check("Bearer " + expired.secret).reason, DenyReason::kExpired);
  EXPECT_THAT(usage_.Drain(), IsEmpty());
}

TEST_F(VerifierTest, MissNotFoundOrRevokedIsDenied) {
  const Issued unknown = Issue("alice");
  CheckResult verdict = Check("Bearer " + unknown.secret);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kUnknown);

  Issued revoked = Issue("alice");
  revoked.state.revoked = true;
  lookup_.Answer(LookupResult{revoked.state, User("alice", Role::kUser, 1)});
  verdict = Check("Bearer " + revoked.secret);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kRevoked);
  EXPECT_EQ(cache_.Find(revoked.state.hash), std::nullopt);
  EXPECT_EQ(lookup_.calls(), 2);
}

TEST_F(VerifierTest, TokenServiceUnavailableIsUnknown) {
  const Issued issued = Issue("alice");
  lookup_.Answer(LookupResult{issued.state, User("alice", Role::kUser, 1)});
  lookup_.FailWith(absl::UnavailableError("connection refused"));
  EXPECT_EQ(Check("Bearer " + issued.secret).reason, DenyReason::kUnknown);

  // Not remembered: once token-service answers, the token works.
  lookup_.FailWith(absl::OkStatus());
  EXPECT_TRUE(Check("Bearer " + issued.secret).allowed);
  EXPECT_EQ(lookup_.calls(), 2);
}

TEST_F(VerifierTest, RateLimitedLookupIsUnknown) {
  MissResolverOptions options;
  options.lookups_per_second = 0;
  options.lookup_burst = 0;
  MissResolver no_lookups(lookup_, clock_, options, [this](const LookupResult& found) {
    return cache_.InsertLookedUp(found.user, found.token);
  });
  Verifier verifier(codec_, cache_, no_lookups, usage_, clock_);

  const Issued issued = Issue("alice");
  lookup_.Answer(LookupResult{issued.state, User("alice", Role::kUser, 1)});
  const CheckResult verdict = verifier.CheckHeader("Bearer " + issued.secret, kClient);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kUnknown);
  EXPECT_EQ(lookup_.calls(), 0);
  // Cached tokens do not need lookups.
  EXPECT_TRUE(verifier.CheckHeader("Bearer " + IssueCached("alice").secret, kClient).allowed);
}

TEST_F(VerifierTest, UsageIsRecordedOnlyForAllowedChecks) {
  const Issued good = IssueCached("alice");
  const Issued other = IssueCached("bob");
  const Issued expired = IssueCached("alice", absl::CivilDay(2026, 6, 1));
  const Issued of_disabled = IssueCached("carol");
  cache_.ApplyDelta({User("carol", Role::kUser, 400, /*disabled=*/true)}, {}, 400);

  EXPECT_FALSE(Check("Bearer " + expired.secret).allowed);
  EXPECT_FALSE(Check("Bearer " + of_disabled.secret).allowed);
  EXPECT_FALSE(Check("Bearer " + Issue("alice").secret).allowed);
  EXPECT_THAT(usage_.Drain(), IsEmpty());

  EXPECT_TRUE(Check("Bearer " + good.secret).allowed);
  clock_.Advance(absl::Minutes(1));
  EXPECT_TRUE(verifier_.CheckHeader("Bearer " + good.secret, "").allowed);
  EXPECT_FALSE(Check("Bearer " + expired.secret).allowed);
  EXPECT_THAT(usage_.Drain(), ElementsAre(AllOf(Field(&UsageRecord::token_id, good.state.id),
                                                Field(&UsageRecord::last_used_at, clock_.Now()))));
  EXPECT_TRUE(verifier_.CheckToken(other.secret, kClient).allowed);
  EXPECT_THAT(usage_.Drain(), ElementsAre(Field(&UsageRecord::token_id, other.state.id)));
}

// The feed applied a revocation while the lookup was in flight: the cache
// refuses the stale answer, and so must the check.
TEST_F(VerifierTest, ALookupAnswerTheFeedHasPassedDoesNotAllow) {
  const Issued issued = Issue("alice");
  lookup_.Answer({issued.state, User("alice", Role::kUser, 1)});
  lookup_.During([&] {
    SyncedToken revoked = issued.state;
    revoked.revoked = true;
    revoked.version += 1;
    cache_.ApplyDelta({}, {revoked}, revoked.version);
  });
  const CheckResult verdict = Check("Bearer " + issued.secret);
  EXPECT_FALSE(verdict.allowed);
  EXPECT_EQ(verdict.reason, DenyReason::kRevoked);
  EXPECT_EQ(cache_.Find(issued.state.hash), std::nullopt);
  EXPECT_THAT(usage_.Drain(), IsEmpty());
}

// ... while if the feed delivered the token itself meanwhile, the cache
// answers.
TEST_F(VerifierTest, ALookupAnswerTheFeedHasPassedDefersToTheCache) {
  const Issued issued = Issue("alice");
  lookup_.Answer({issued.state, User("alice", Role::kUser, 1)});
  lookup_.During([&] { cache_.ApplyDelta({}, {issued.state}, issued.state.version + 5); });
  const CheckResult verdict = Check("Bearer " + issued.secret);
  ASSERT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.principal.token_id, issued.state.id);
}

}  // namespace
}  // namespace tokens::sidecar

namespace tokens::sidecar {
namespace {

TEST_F(VerifierTest, StatsCountEachVerdictOnceByReason) {
  const std::string valid = IssueCached("alice").secret;
  EXPECT_TRUE(Check("Bearer " + valid).allowed);
  EXPECT_TRUE(verifier_.CheckToken(valid, kClient).allowed);
  EXPECT_FALSE(verifier_.CheckHeader(std::nullopt, kClient).allowed);
  EXPECT_FALSE(Check("Basic abc").allowed);
  EXPECT_FALSE(Check("Bearer utk_short").allowed);

  const Verifier::Stats stats = verifier_.stats();
  EXPECT_EQ(stats.allowed, 2u);  // CheckHeader counts once, not again inside
  EXPECT_EQ(stats.denied[static_cast<int>(DenyReason::kMissing)], 1u);
  EXPECT_EQ(stats.denied[static_cast<int>(DenyReason::kMalformed)], 2u);
  EXPECT_EQ(stats.denied[static_cast<int>(DenyReason::kUnknown)], 0u);
}

}  // namespace
}  // namespace tokens::sidecar
