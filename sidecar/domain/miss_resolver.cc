#include "sidecar/domain/miss_resolver.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/log/json_logger.h"
#include "common/net/ip_address.h"
#include "common/time/token_bucket.h"

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

struct ClientBucket {
  TokenBucket bucket;
  absl::Time last_warned = absl::InfinitePast();
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
        bucket{std::max(0.0, options_in.lookup_burst), clock_in.Now()} {}

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

  bool TakeLookupToken(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return bucket.Take(now, options.lookups_per_second, options.lookup_burst);
  }

  // The bucket of a tracked client, or nullptr.
  ClientBucket* FindClient(const IpAddressBytes& client) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = clients.find(client);
    return it == clients.end() ? nullptr : &it->second;
  }

  // One of a tracked client's own lookups; false when it is over its rate.
  bool TakeClientLookupToken(const IpAddressBytes& client, ClientBucket& entry, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (entry.bucket.Take(now, options.lookups_per_second_per_client,
                          options.lookup_burst_per_client)) {
      return true;
    }
    // Once a minute per client at most: the address as parsed (at most 49
    // characters, whatever the request said) and the limit, never a token.
    if (now - entry.last_warned >= absl::Minutes(1)) {
      entry.last_warned = now;
      Logger("lookup")->warn(
          "client {} is over {} cache-miss lookups per second; its unknown tokens are denied "
          "without a lookup",
          FormatClientNetwork(client), options.lookups_per_second_per_client);
    }
    return false;
  }

  // Starts tracking a client whose first lookup was just granted, with that
  // lookup taken from its bucket. Only lookups made add clients, so the
  // table grows no faster than the global rate. Not tracked when every
  // tracked client is busy and the table is full: the global limit alone
  // holds it then.
  void TrackClient(const IpAddressBytes& client, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (clients.size() >= options.max_tracked_clients && !ForgetIdleClients(now)) return;
    ClientBucket& entry =
        clients.emplace(client, ClientBucket{TokenBucket{options.lookup_burst_per_client, now}})
            .first->second;
    entry.bucket.Take(now, options.lookups_per_second_per_client, options.lookup_burst_per_client);
  }

  // Drops clients whose bucket has refilled (idle ones); whether any went.
  // The sweep reads the whole table under the lock every miss waits for, so
  // it runs at most once a second: a flood from more addresses than the
  // table holds must not turn every miss into a scan.
  bool ForgetIdleClients(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (now - clients_swept_at < absl::Seconds(1)) return false;
    clients_swept_at = now;
    const size_t before = clients.size();
    absl::erase_if(clients, [&](auto& entry) {
      entry.second.bucket.Refill(now, options.lookups_per_second_per_client,
                                 options.lookup_burst_per_client);
      return entry.second.bucket.tokens >= options.lookup_burst_per_client;
    });
    return clients.size() < before;
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
  TokenBucket bucket ABSL_GUARDED_BY(mu);
  // Keyed by ClientNetwork(): 16 bytes a client, whatever text it came as.
  absl::flat_hash_map<IpAddressBytes, ClientBucket> clients ABSL_GUARDED_BY(mu);
  absl::Time clients_swept_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  Stats stats ABSL_GUARDED_BY(mu);
};

MissResolver::MissResolver(TokenLookup& lookup, const Clock& clock, MissResolverOptions options,
                           std::function<bool(const LookupResult&)> on_found)
    : impl_(std::make_unique<Impl>(lookup, clock, options, std::move(on_found))) {}

MissResolver::~MissResolver() = default;

MissOutcome MissResolver::Resolve(const TokenHash& hash, absl::string_view client_address) {
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
    // A tracked client's own limit first, so that one over it spends
    // nothing of everyone's; a client not tracked yet is added only once the
    // global limit has granted it a lookup. A client is an IPv4 address or
    // an IPv6 /64; text that is no IP address is no client (the transports
    // use the peer's address in its place).
    std::optional<IpAddressBytes> client = ParseIpAddress(client_address);
    if (client.has_value()) client = ClientNetwork(*client);
    ClientBucket* tracked = client.has_value() ? impl.FindClient(*client) : nullptr;
    if (tracked != nullptr && !impl.TakeClientLookupToken(*client, *tracked, now)) {
      ++impl.stats.client_rate_limited;
      MissOutcome outcome;
      outcome.kind = Kind::kRateLimited;
      return outcome;
    }
    if (!impl.TakeLookupToken(now)) {
      ++impl.stats.rate_limited;
      MissOutcome outcome;
      outcome.kind = Kind::kRateLimited;
      return outcome;
    }
    if (client.has_value() && tracked == nullptr) impl.TrackClient(*client, now);
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
  Stats stats = impl_->stats;
  stats.tracked_clients = impl_->clients.size();
  return stats;
}

}  // namespace tokens::sidecar
