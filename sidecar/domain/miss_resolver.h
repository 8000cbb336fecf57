#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "sidecar/domain/model.h"

// What the sidecar does when a presented, well-formed token is not in the
// cache: typically a token created a moment ago whose delta has not arrived,
// or garbage. One LookupToken per hash at a time (single flight), answers
// "no such token" / "revoked" remembered for a short time, and lookups
// rate-limited so a flood of random tokens cannot overload token-service.
namespace tokens::sidecar {

struct LookupResult {
  SyncedToken token;
  SyncedUser user;
};

// token-service's LookupToken, behind an interface.
class TokenLookup {
 public:
  virtual ~TokenLookup() = default;
  // nullopt: no token has this hash. An error status: token-service could
  // not answer (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
  virtual absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash& hash) = 0;
};

struct MissOutcome {
  enum class Kind {
    kFound,        // `found` is set (not revoked); on_found ran, `cached` is its answer
    kNotFound,     // no such token (maybe remembered from an earlier lookup)
    kRevoked,      // the token exists but is revoked (maybe remembered)
    kRateLimited,  // too many lookups right now; nothing was asked
    kUnavailable,  // token-service did not answer; not remembered
  };
  Kind kind = Kind::kNotFound;
  std::optional<LookupResult> found;
  // kFound: whether on_found took the answer. False when the feed had
  // already moved past it (e.g. applied a revocation while the lookup was in
  // flight): the cache, not this answer, is then the truth.
  bool cached = false;
};

struct MissResolverOptions {
  // How long "no such token" and "revoked" answers are remembered.
  absl::Duration negative_ttl = absl::Seconds(5);
  // Token bucket for lookups: sustained rate and burst.
  double lookups_per_second = 100;
  double lookup_burst = 200;
  // The same per client address, checked first, so that one client guessing
  // tokens cannot use up the lookups of everyone else. Only as fair as the
  // addresses are true: whoever states them (Envoy's downstream peer, or any
  // caller of Authenticate) can spread a flood over many.
  double lookups_per_second_per_client = 10;
  double lookup_burst_per_client = 20;
  // Bound on the client addresses tracked (16 bytes of key each); idle ones
  // are forgotten first, and a new one is added only with a lookup made.
  size_t max_tracked_clients = 10000;
  // Bound on remembered negative answers; the oldest are dropped first.
  size_t max_negative_entries = 100000;
};

class MissResolver {
 public:
  // `on_found` runs once per successful lookup of a live token (the
  // sidecar inserts it into its cache there) and says whether it was taken.
  MissResolver(TokenLookup& lookup, const Clock& clock, MissResolverOptions options,
               std::function<bool(const LookupResult&)> on_found);
  ~MissResolver();

  // Thread-safe. Concurrent calls for the same hash share one lookup.
  // `client_address` is what the per-client limit counts, by the address it
  // parses as, however spelled: an IPv4 address, or an IPv6 address's /64
  // (ClientNetwork). Text that is no IP address, empty included, is an
  // unknown client that only the global limit holds.
  MissOutcome Resolve(const TokenHash& hash, absl::string_view client_address = {});

  // Counters for metrics and tests.
  struct Stats {
    uint64_t lookups = 0;              // LookupToken calls made
    uint64_t negative_hits = 0;        // answered from remembered negatives
    uint64_t shared = 0;               // waited on another caller's lookup
    uint64_t rate_limited = 0;         // over the global rate
    uint64_t client_rate_limited = 0;  // over the per-client rate
    uint64_t unavailable = 0;          // lookups token-service did not answer
    size_t tracked_clients = 0;        // client addresses with a bucket of their own
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokens::sidecar
