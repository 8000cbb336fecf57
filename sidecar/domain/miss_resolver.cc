#include "sidecar/domain/miss_resolver.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace tokens::sidecar {
namespace {

using Kind = MissOutcome::Kind;

// One LookupToken in progress. Callers that arrive while it runs keep a
// reference and wait for `done`; the leader fills `outcome` first.
struct Flight {
  bool done = false;
  MissOutcome outcome;
};

struct NegativeEntry {
  Kind kind = Kind::kNotFound;
  absl::Time expires_at;
};

// Insertion order of remembered negatives, so the oldest are dropped first.
// An element is stale once its hash was dropped or remembered again (its
// expiry then differs from the map's).
struct NegativeOrder {
  TokenHash hash;
  absl::Time expires_at;
};

}  // namespace

struct MissResolver::Impl {
  Impl(TokenLookup& lookup_in, const Clock& clock_in, MissResolverOptions options_in,
       std::function<bool(const LookupResult&)> on_found_in)
      : lookup(lookup_in),
        clock(clock_in),
        options(options_in),
        on_found(std::move(on_found_in)),
        bucket_tokens(std::max(0.0, options_in.lookup_burst)),
        bucket_refilled_at(clock_in.Now()) {}

  // The remembered answer for `hash`, if any and still fresh; drops it once
  // expired.
  std::optional<Kind> FreshNegative(const TokenHash& hash, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = negatives.find(hash);
    if (it == negatives.end()) return std::nullopt;
    if (now >= it->second.expires_at) {
      negatives.erase(it);
      return std::nullopt;
    }
    return it->second.kind;
  }

  void Remember(const TokenHash& hash, Kind kind, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (options.negative_ttl <= absl::ZeroDuration() || options.max_negative_entries == 0) return;
    // Expired and stale entries at the front go first, then the oldest live
    // ones while the bound would be exceeded.
    while (!negative_order.empty()) {
      const NegativeOrder& front = negative_order.front();
      auto it = negatives.find(front.hash);
      const bool current = it != negatives.end() && it->second.expires_at == front.expires_at;
      if (current && now < front.expires_at && negatives.size() < options.max_negative_entries) {
        break;
      }
      if (current) negatives.erase(it);
      negative_order.pop_front();
    }
    const absl::Time expires_at = now + options.negative_ttl;
    negatives[hash] = NegativeEntry{kind, expires_at};
    negative_order.push_back(NegativeOrder{hash, expires_at});
  }

  // Token bucket, refilled from the injected clock. A clock that steps back
  // earns nothing until it passes the last refill again.
  bool TakeLookupToken(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const double capacity = std::max(0.0, options.lookup_burst);
    if (now > bucket_refilled_at) {
      const double earned = absl::ToDoubleSeconds(now - bucket_refilled_at) *
                            std::max(0.0, options.lookups_per_second);
      bucket_tokens = std::min(capacity, bucket_tokens + earned);
      bucket_refilled_at = now;
    }
    if (bucket_tokens < 1.0) return false;
    bucket_tokens -= 1.0;
    return true;
  }

  // Runs the lookup with no lock held and turns its answer into an outcome.
  MissOutcome LookUp(const TokenHash& hash) {
    absl::StatusOr<std::optional<LookupResult>> result = lookup.Lookup(hash);
    MissOutcome outcome;
    if (!result.ok()) {
      outcome.kind = Kind::kUnavailable;
    } else if (!result->has_value()) {
      outcome.kind = Kind::kNotFound;
    } else if ((*result)->token.revoked) {
      outcome.kind = Kind::kRevoked;
    } else {
      // Before anyone is answered, so a caller that gets kFound finds the
      // token wherever on_found put it.
      outcome.cached = on_found ? on_found(**result) : false;
      outcome.kind = Kind::kFound;
      outcome.found = std::move(*result);
    }
    return outcome;
  }

  TokenLookup& lookup;
  const Clock& clock;
  const MissResolverOptions options;
  const std::function<bool(const LookupResult&)> on_found;

  mutable absl::Mutex mu;
  absl::flat_hash_map<TokenHash, std::shared_ptr<Flight>> flights ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<TokenHash, NegativeEntry> negatives ABSL_GUARDED_BY(mu);
  std::deque<NegativeOrder> negative_order ABSL_GUARDED_BY(mu);
  double bucket_tokens ABSL_GUARDED_BY(mu);
  absl::Time bucket_refilled_at ABSL_GUARDED_BY(mu);
  Stats stats ABSL_GUARDED_BY(mu);
};

MissResolver::MissResolver(TokenLookup& lookup, const Clock& clock, MissResolverOptions options,
                           std::function<bool(const LookupResult&)> on_found)
    : impl_(std::make_unique<Impl>(lookup, clock, options, std::move(on_found))) {}

MissResolver::~MissResolver() = default;

MissOutcome MissResolver::Resolve(const TokenHash& hash) {
  Impl& impl = *impl_;
  std::shared_ptr<Flight> flight;
  {
    absl::MutexLock lock(&impl.mu);
    const absl::Time now = impl.clock.Now();
    if (std::optional<Kind> remembered = impl.FreshNegative(hash, now)) {
      ++impl.stats.negative_hits;
      MissOutcome outcome;
      outcome.kind = *remembered;
      return outcome;
    }
    if (auto it = impl.flights.find(hash); it != impl.flights.end()) {
      ++impl.stats.shared;
      // Holding the Flight keeps it alive after the leader unlists it.
      std::shared_ptr<Flight> joined = it->second;
      impl.mu.Await(absl::Condition(&joined->done));
      return joined->outcome;
    }
    if (!impl.TakeLookupToken(now)) {
      ++impl.stats.rate_limited;
      MissOutcome outcome;
      outcome.kind = Kind::kRateLimited;
      return outcome;
    }
    ++impl.stats.lookups;
    flight = std::make_shared<Flight>();
    impl.flights.emplace(hash, flight);
  }

  MissOutcome outcome = impl.LookUp(hash);

  absl::MutexLock lock(&impl.mu);
  if (outcome.kind == Kind::kUnavailable) ++impl.stats.unavailable;
  if (outcome.kind == Kind::kNotFound || outcome.kind == Kind::kRevoked) {
    impl.Remember(hash, outcome.kind, impl.clock.Now());
  }
  flight->outcome = outcome;
  flight->done = true;
  impl.flights.erase(hash);
  return outcome;
}

MissResolver::Stats MissResolver::stats() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->stats;
}

}  // namespace tokens::sidecar
