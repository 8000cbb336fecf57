#include "sidecar/domain/miss_resolver.h"

#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gtest/gtest.h"
#include "sidecar/domain/model.h"

namespace tokens::sidecar {
namespace {

using Kind = MissOutcome::Kind;

// Long enough never to be reached by a correct implementation on a loaded
// machine; reaching it means the awaited thing did not happen.
constexpr absl::Duration kPatience = absl::Seconds(30);

TokenHash HashOf(uint8_t n) {
  TokenHash hash{};
  hash.fill(n);
  return hash;
}

LookupResult LiveToken(uint8_t n, bool revoked = false) {
  LookupResult result;
  result.token.hash = HashOf(n);
  std::array<uint8_t, 16> id;
  id.fill(n);
  result.token.id = TokenId(id);
  result.token.user_id = "alice";
  result.token.expires_on = absl::CivilDay(2027, 4, 11);
  result.token.revoked = revoked;
  result.token.version = n;
  result.user.user_id = "alice";
  result.user.role = Role::kUser;
  return result;
}

// Polls `condition` until it holds or kPatience has passed.
bool Eventually(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + kPatience;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// LookupToken with scripted answers per hash (default: no such token). A
// held hash's lookups block until it is released.
class FakeLookup final : public TokenLookup {
 public:
  void SetAnswer(const TokenHash& hash, absl::StatusOr<std::optional<LookupResult>> answer) {
    absl::MutexLock lock(&mu_);
    answers_.insert_or_assign(hash, std::move(answer));
  }
  void Hold(const TokenHash& hash) {
    absl::MutexLock lock(&mu_);
    held_.insert(hash);
  }
  void Release(const TokenHash& hash) {
    absl::MutexLock lock(&mu_);
    held_.erase(hash);
  }
  int calls(const TokenHash& hash) const {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(hash);
    return it == calls_.end() ? 0 : it->second;
  }
  int total_calls() const {
    absl::MutexLock lock(&mu_);
    int total = 0;
    for (const auto& [hash, n] : calls_) total += n;
    return total;
  }

  absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash& hash) override {
    absl::MutexLock lock(&mu_);
    ++calls_[hash];
    const auto released = [this, &hash]()
                              ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !held_.contains(hash); };
    mu_.Await(absl::Condition(&released));
    auto it = answers_.find(hash);
    if (it == answers_.end()) return std::optional<LookupResult>();
    return it->second;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<TokenHash, absl::StatusOr<std::optional<LookupResult>>> answers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<TokenHash> held_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TokenHash, int> calls_ ABSL_GUARDED_BY(mu_);
};

class MissResolverTest : public ::testing::Test {
 protected:
  MissResolverTest() {
    options_.negative_ttl = absl::Seconds(5);
    options_.lookups_per_second = 1;
    options_.lookup_burst = 1000;
    options_.max_negative_entries = 1000;
  }

  // Built on first use so that tests can adjust options_ first.
  MissResolver& resolver() {
    if (resolver_ == nullptr) {
      resolver_ = std::make_unique<MissResolver>(lookup_, clock_, options_,
                                                 [this](const LookupResult& found) {
                                                   absl::MutexLock lock(&found_mu_);
                                                   found_.push_back(found);
                                                   return true;
                                                 });
    }
    return *resolver_;
  }

  std::vector<LookupResult> found() {
    absl::MutexLock lock(&found_mu_);
    return found_;
  }

  FakeLookup lookup_;
  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 11, 28, 12, 0, 0), absl::UTCTimeZone())};
  MissResolverOptions options_;
  absl::Mutex found_mu_;
  std::vector<LookupResult> found_ ABSL_GUARDED_BY(found_mu_);
  std::unique_ptr<MissResolver> resolver_;
};

TEST_F(MissResolverTest, FoundTokenIsHandedToOnFoundAndNotRememberedAsNegative) {
  lookup_.SetAnswer(HashOf(1), LiveToken(1));

  MissOutcome first = resolver().Resolve(HashOf(1));
  ASSERT_EQ(first.kind, Kind::kFound);
  ASSERT_TRUE(first.found.has_value());
  EXPECT_EQ(first.found->token.id, LiveToken(1).token.id);
  EXPECT_EQ(first.found->user.user_id, "alice");
  ASSERT_EQ(found().size(), 1u);
  EXPECT_EQ(found()[0].token.hash, HashOf(1));

  // The caller caches a found token; should it ask again, it is looked up
  // again rather than answered from memory.
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kFound);
  EXPECT_EQ(lookup_.calls(HashOf(1)), 2);
  EXPECT_EQ(found().size(), 2u);
  EXPECT_EQ(resolver().stats().lookups, 2u);
  EXPECT_EQ(resolver().stats().negative_hits, 0u);
}

TEST_F(MissResolverTest, NotFoundIsRememberedUntilTheTtlPasses) {
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(1)), 1);

  clock_.Advance(options_.negative_ttl - absl::Seconds(1));
  MissOutcome remembered = resolver().Resolve(HashOf(1));
  EXPECT_EQ(remembered.kind, Kind::kNotFound);
  EXPECT_FALSE(remembered.found.has_value());
  EXPECT_EQ(lookup_.calls(HashOf(1)), 1);
  EXPECT_EQ(resolver().stats().negative_hits, 1u);

  // The token may have been created meanwhile: after the TTL, ask again.
  clock_.Advance(absl::Seconds(1));
  lookup_.SetAnswer(HashOf(1), LiveToken(1));
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kFound);
  EXPECT_EQ(lookup_.calls(HashOf(1)), 2);
  EXPECT_EQ(found().size(), 1u);
}

TEST_F(MissResolverTest, RevokedIsRememberedAndNeverReportedFound) {
  lookup_.SetAnswer(HashOf(2), LiveToken(2, /*revoked=*/true));

  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kRevoked);
  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kRevoked);

  EXPECT_EQ(lookup_.calls(HashOf(2)), 1);
  EXPECT_EQ(resolver().stats().negative_hits, 1u);
  EXPECT_TRUE(found().empty());
}

TEST_F(MissResolverTest, UnavailableIsNotRemembered) {
  lookup_.SetAnswer(HashOf(3), absl::UnavailableError("token-service down"));
  EXPECT_EQ(resolver().Resolve(HashOf(3)).kind, Kind::kUnavailable);

  lookup_.SetAnswer(HashOf(3), LiveToken(3));
  EXPECT_EQ(resolver().Resolve(HashOf(3)).kind, Kind::kFound);
  EXPECT_EQ(lookup_.calls(HashOf(3)), 2);
  EXPECT_EQ(resolver().stats().negative_hits, 0u);
}

TEST_F(MissResolverTest, LookupsBeyondTheBurstAreRateLimitedUntilTheBucketRefills) {
  options_.lookup_burst = 3;
  options_.lookups_per_second = 2;

  for (uint8_t n = 1; n <= 3; ++n) EXPECT_EQ(resolver().Resolve(HashOf(n)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(4)).kind, Kind::kRateLimited);
  EXPECT_EQ(lookup_.calls(HashOf(4)), 0);
  EXPECT_EQ(resolver().stats().rate_limited, 1u);

  // Remembered answers need no lookup, so the empty bucket does not matter.
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);

  // Half a second at 2/s earns one lookup; a rate-limited hash was not
  // remembered, so it is looked up now.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(resolver().Resolve(HashOf(4)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(4)), 1);
  EXPECT_EQ(resolver().Resolve(HashOf(5)).kind, Kind::kRateLimited);

  EXPECT_EQ(lookup_.total_calls(), 4);
  EXPECT_EQ(resolver().stats().lookups, 4u);
  EXPECT_EQ(resolver().stats().rate_limited, 2u);
}

TEST_F(MissResolverTest, AnIdleBucketHoldsNoMoreThanTheBurst) {
  options_.lookup_burst = 2;
  options_.lookups_per_second = 10;
  options_.negative_ttl = absl::ZeroDuration();
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);

  clock_.Advance(absl::Hours(1));
  int answered = 0;
  for (uint8_t n = 10; n < 20; ++n) {
    if (resolver().Resolve(HashOf(n)).kind != Kind::kRateLimited) ++answered;
  }
  EXPECT_EQ(answered, 2);
  EXPECT_EQ(lookup_.total_calls(), 3);
}

TEST_F(MissResolverTest, OneClientOverItsRateIsLimitedWithoutTouchingOthers) {
  options_.lookups_per_second_per_client = 1;
  options_.lookup_burst_per_client = 2;

  for (uint8_t n = 1; n <= 2; ++n) {
    EXPECT_EQ(resolver().Resolve(HashOf(n), "10.0.0.1").kind, Kind::kNotFound);
  }
  EXPECT_EQ(resolver().Resolve(HashOf(3), "10.0.0.1").kind, Kind::kRateLimited);
  EXPECT_EQ(lookup_.calls(HashOf(3)), 0);
  // Another client, and checks of unknown origin, still get lookups.
  EXPECT_EQ(resolver().Resolve(HashOf(3), "10.0.0.2").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(4)).kind, Kind::kNotFound);
  // A second later the first client has earned one more.
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(resolver().Resolve(HashOf(5), "10.0.0.1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(6), "10.0.0.1").kind, Kind::kRateLimited);

  const MissResolver::Stats stats = resolver().stats();
  EXPECT_EQ(stats.client_rate_limited, 2u);
  EXPECT_EQ(stats.rate_limited, 0u);
  EXPECT_EQ(stats.lookups, 5u);
}

TEST_F(MissResolverTest, ManyClientsAreTrackedWithinTheBoundForgettingIdleOnesFirst) {
  options_.lookups_per_second_per_client = 1;
  options_.lookup_burst_per_client = 1;
  options_.max_tracked_clients = 2;

  EXPECT_EQ(resolver().Resolve(HashOf(1), "10.0.0.1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2), "10.0.0.2").kind, Kind::kNotFound);
  // The table is full of busy clients: a third is not tracked, so only the
  // global limit applies to it...
  EXPECT_EQ(resolver().Resolve(HashOf(3), "10.0.0.3").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(4), "10.0.0.3").kind, Kind::kNotFound);
  // ...while the tracked ones stay limited.
  EXPECT_EQ(resolver().Resolve(HashOf(5), "10.0.0.1").kind, Kind::kRateLimited);
  // Once the first two are idle (refilled), they make room.
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(resolver().Resolve(HashOf(6), "10.0.0.3").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(7), "10.0.0.3").kind, Kind::kRateLimited);
}

TEST_F(MissResolverTest, AFullTableIsSweptForIdleClientsAtMostOnceASecond) {
  options_.lookups_per_second_per_client = 10;  // idle again after 100 ms
  options_.lookup_burst_per_client = 1;
  options_.max_tracked_clients = 2;

  EXPECT_EQ(resolver().Resolve(HashOf(1), "10.0.0.1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2), "10.0.0.2").kind, Kind::kNotFound);
  // Full of busy clients: this sweep finds nothing, the third goes untracked.
  EXPECT_EQ(resolver().Resolve(HashOf(3), "10.0.0.3").kind, Kind::kNotFound);
  // Half a second later the first two are idle, but the last sweep was less
  // than a second ago: still untracked, so not limited.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(resolver().Resolve(HashOf(4), "10.0.0.3").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(5), "10.0.0.3").kind, Kind::kNotFound);
  // A second after that sweep, the next one makes room: tracked and limited.
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_EQ(resolver().Resolve(HashOf(6), "10.0.0.3").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(7), "10.0.0.3").kind, Kind::kRateLimited);
}

TEST_F(MissResolverTest, ClientsAreKeyedByTheirAddressNotItsSpelling) {
  options_.lookups_per_second_per_client = 1;
  options_.lookup_burst_per_client = 2;

  EXPECT_EQ(resolver().Resolve(HashOf(1), "192.0.2.7").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2), "::ffff:192.0.2.7").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(3), "::FFFF:C000:207").kind, Kind::kRateLimited);
  EXPECT_EQ(resolver().Resolve(HashOf(4), "2001:db8::1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(5), "2001:0DB8:0:0:0:0:0:1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(6), "2001:db8:0::0:1").kind, Kind::kRateLimited);

  EXPECT_EQ(resolver().stats().tracked_clients, 2u);
  EXPECT_EQ(resolver().stats().client_rate_limited, 2u);
}

TEST_F(MissResolverTest, AnIpv6ClientIsItsSlash64) {
  // One host usually holds a whole /64 and may pick any address in it.
  options_.lookups_per_second_per_client = 1;
  options_.lookup_burst_per_client = 2;

  EXPECT_EQ(resolver().Resolve(HashOf(1), "2001:db8:1:2::1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2), "2001:db8:1:2::2").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(3), "2001:db8:1:2:ffff::9").kind, Kind::kRateLimited);
  EXPECT_EQ(resolver().Resolve(HashOf(4), "2001:db8:1:3::1").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().stats().tracked_clients, 2u);
}

TEST_F(MissResolverTest, AnAddressThatIsNoIpAddressIsNoClient) {
  // The transports put the gRPC peer's address in place of such text; what
  // still is none (a peer on a unix socket) is an unknown client, held by
  // the global limit only, and nothing of the text is kept.
  options_.lookups_per_second_per_client = 1;
  options_.lookup_burst_per_client = 1;
  const std::string huge(1 << 20, 'Z');
  for (uint8_t n = 1; n <= 6; ++n) {
    EXPECT_EQ(
        resolver().Resolve(HashOf(n), n % 2 == 0 ? absl::string_view(huge) : "localhost").kind,
        Kind::kNotFound);
  }
  EXPECT_EQ(resolver().stats().tracked_clients, 0u);
  EXPECT_EQ(resolver().stats().client_rate_limited, 0u);
}

TEST_F(MissResolverTest, ANewClientIsTrackedOnlyWhenTheGlobalLimitGrantsItALookup) {
  // A flood from ever new addresses grows the table of clients no faster
  // than lookups are made.
  options_.lookups_per_second = 1;
  options_.lookup_burst = 3;
  for (int i = 0; i < 50; ++i) {
    EXPECT_NE(
        resolver().Resolve(HashOf(static_cast<uint8_t>(i + 1)), absl::StrCat("10.1.0.", i)).kind,
        Kind::kUnavailable);
  }
  const MissResolver::Stats stats = resolver().stats();
  EXPECT_EQ(stats.lookups, 3u);
  EXPECT_EQ(stats.rate_limited, 47u);
  EXPECT_EQ(stats.tracked_clients, 3u);
}

TEST_F(MissResolverTest, AClientOverItsOwnLimitSpendsNothingOfTheGlobalOne) {
  options_.lookups_per_second = 0.001;
  options_.lookup_burst = 3;
  options_.lookups_per_second_per_client = 0.001;
  options_.lookup_burst_per_client = 1;

  EXPECT_EQ(resolver().Resolve(HashOf(1), "10.0.0.1").kind, Kind::kNotFound);
  for (uint8_t n = 2; n <= 9; ++n) {
    EXPECT_EQ(resolver().Resolve(HashOf(n), "10.0.0.1").kind, Kind::kRateLimited);
  }
  EXPECT_EQ(resolver().Resolve(HashOf(10), "10.0.0.2").kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(11), "10.0.0.3").kind, Kind::kNotFound);

  const MissResolver::Stats stats = resolver().stats();
  EXPECT_EQ(stats.client_rate_limited, 8u);
  EXPECT_EQ(stats.rate_limited, 0u);
  EXPECT_EQ(stats.lookups, 3u);
}

TEST_F(MissResolverTest, NegativeCacheDropsTheOldestBeyondItsBound) {
  options_.max_negative_entries = 2;

  for (uint8_t n = 1; n <= 3; ++n) {
    EXPECT_EQ(resolver().Resolve(HashOf(n)).kind, Kind::kNotFound);
    clock_.Advance(absl::Milliseconds(10));
  }
  // 2 and 3 are still remembered; 1, the oldest, was dropped.
  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(3)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().stats().negative_hits, 2u);
  EXPECT_EQ(lookup_.total_calls(), 3);

  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(1)), 2);
  // Remembering 1 again dropped 2, now the oldest.
  EXPECT_EQ(resolver().Resolve(HashOf(3)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(3)), 1);
  EXPECT_EQ(lookup_.calls(HashOf(2)), 2);
}

TEST_F(MissResolverTest, AHashRememberedAgainAfterExpiryKeepsItsNewPlaceInLine) {
  options_.max_negative_entries = 2;

  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);
  clock_.Advance(options_.negative_ttl);
  // 1 expired: looked up and remembered again, now younger than 2.
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kNotFound);
  EXPECT_EQ(resolver().Resolve(HashOf(3)).kind, Kind::kNotFound);

  // 3 pushed out the oldest live entry, 1; 2 stays.
  EXPECT_EQ(resolver().Resolve(HashOf(2)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(2)), 1);
  EXPECT_EQ(resolver().Resolve(HashOf(1)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(1)), 3);
}

TEST_F(MissResolverTest, ConcurrentCallersForOneHashShareASingleLookup) {
  constexpr int kCallers = 8;
  lookup_.SetAnswer(HashOf(7), LiveToken(7));
  lookup_.Hold(HashOf(7));
  MissResolver& shared_resolver = resolver();

  std::vector<MissOutcome> outcomes(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back(
        [&shared_resolver, &outcomes, i] { outcomes[i] = shared_resolver.Resolve(HashOf(7)); });
  }
  // Every caller is either the one looking up or waiting on it.
  const bool all_arrived = Eventually([&] {
    return lookup_.calls(HashOf(7)) == 1 &&
           shared_resolver.stats().shared == static_cast<uint64_t>(kCallers - 1);
  });
  lookup_.Release(HashOf(7));
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(all_arrived);

  EXPECT_EQ(lookup_.calls(HashOf(7)), 1);
  EXPECT_EQ(shared_resolver.stats().lookups, 1u);
  EXPECT_EQ(shared_resolver.stats().shared, static_cast<uint64_t>(kCallers - 1));
  EXPECT_EQ(found().size(), 1u);
  for (const MissOutcome& outcome : outcomes) {
    EXPECT_EQ(outcome.kind, Kind::kFound);
    ASSERT_TRUE(outcome.found.has_value());
    EXPECT_EQ(outcome.found->token.id, LiveToken(7).token.id);
  }
}

TEST_F(MissResolverTest, CallersSharingAFailedLookupAllSeeItAndTheNextCallRetries) {
  constexpr int kCallers = 4;
  lookup_.SetAnswer(HashOf(8), absl::DeadlineExceededError("slow"));
  lookup_.Hold(HashOf(8));
  MissResolver& shared_resolver = resolver();

  std::vector<MissOutcome> outcomes(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back(
        [&shared_resolver, &outcomes, i] { outcomes[i] = shared_resolver.Resolve(HashOf(8)); });
  }
  const bool all_arrived = Eventually(
      [&] { return shared_resolver.stats().shared == static_cast<uint64_t>(kCallers - 1); });
  lookup_.Release(HashOf(8));
  for (std::thread& caller : callers) caller.join();
  ASSERT_TRUE(all_arrived);

  for (const MissOutcome& outcome : outcomes) EXPECT_EQ(outcome.kind, Kind::kUnavailable);
  EXPECT_EQ(lookup_.calls(HashOf(8)), 1);

  lookup_.SetAnswer(HashOf(8), std::optional<LookupResult>());
  EXPECT_EQ(shared_resolver.Resolve(HashOf(8)).kind, Kind::kNotFound);
  EXPECT_EQ(lookup_.calls(HashOf(8)), 2);
}

TEST_F(MissResolverTest, ALookupInProgressDoesNotHoldUpOtherHashes) {
  lookup_.Hold(HashOf(1));
  lookup_.SetAnswer(HashOf(2), LiveToken(2));
  MissResolver& shared_resolver = resolver();

  absl::Notification a_done;
  std::thread a([&] {
    shared_resolver.Resolve(HashOf(1));
    a_done.Notify();
  });
  const bool a_started = Eventually([&] { return lookup_.calls(HashOf(1)) == 1; });

  MissOutcome b_outcome;
  absl::Notification b_done;
  std::thread b([&] {
    b_outcome = shared_resolver.Resolve(HashOf(2));
    b_done.Notify();
  });
  const bool b_finished = b_done.WaitForNotificationWithTimeout(kPatience);
  const bool a_still_blocked = !a_done.HasBeenNotified();

  lookup_.Release(HashOf(1));
  a.join();
  b.join();
  ASSERT_TRUE(a_started);
  EXPECT_TRUE(b_finished);
  EXPECT_TRUE(a_still_blocked);
  EXPECT_EQ(b_outcome.kind, Kind::kFound);
  EXPECT_EQ(shared_resolver.stats().shared, 0u);
}

}  // namespace
}  // namespace tokens::sidecar
