#include "services/token_service/domain/authenticator.h"

#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/decide.h"
#include "common/net/ip_address.h"
#include "common/time/token_bucket.h"

namespace tokens::service {
namespace {

constexpr char kLimited[] =
    "too many failed authentications from this address; retry in a few seconds";

// Insertion order of remembered hashes, so the oldest go first. An element
// is stale once its hash was forgotten or remembered again (the map's
// expiry then differs).
struct RememberedOrder {
  TokenHash hash;
  absl::Time expires_at;
};

// The counter each DenyReason is counted in, indexed by it.
constexpr uint64_t Authenticator::Stats::*kCounters[kDenyReasonCount] = {
    &Authenticator::Stats::missing, &Authenticator::Stats::malformed,
    &Authenticator::Stats::unknown, &Authenticator::Stats::revoked,
    &Authenticator::Stats::expired, &Authenticator::Stats::user_disabled,
};

absl::Status Unauthenticated(DenyReason reason) {
  return absl::UnauthenticatedError(DenyReasonMessage(reason));
}

}  // namespace

// The remembered failures, the clients' budgets and the counters, under one
// lock that is never held during a lookup.
struct Authenticator::Limits {
  // What a token that failed is remembered as.
  struct Remembered {
    DenyReason reason;
    absl::Time expires_at;
  };

  explicit Limits(const AuthenticatorOptions& options_in, absl::Time now)
      : options(options_in), overflow{options_in.failure_burst_per_client, now} {}

  // The failure `hash` is remembered as, if any and still fresh.
  std::optional<DenyReason> RememberedFailure(const TokenHash& hash, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = remembered.find(hash);
    if (it == remembered.end()) return std::nullopt;
    if (now < it->second.expires_at) return it->second.reason;
    remembered.erase(it);
    return std::nullopt;
  }

  void Remember(const TokenHash& hash, DenyReason reason, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (options.remember_failures_for <= absl::ZeroDuration() || options.max_remembered == 0) {
      return;
    }
    // Expired and stale entries at the front go first, then the oldest live
    // ones while the bound would be exceeded.
    while (!remembered_order.empty()) {
      const RememberedOrder& front = remembered_order.front();
      auto it = remembered.find(front.hash);
      const bool current = it != remembered.end() && it->second.expires_at == front.expires_at;
      if (current && now < front.expires_at && remembered.size() < options.max_remembered) break;
      if (current) remembered.erase(it);
      remembered_order.pop_front();
    }
    const absl::Time expires_at = now + options.remember_failures_for;
    remembered[hash] = Remembered{reason, expires_at};
    remembered_order.push_back(RememberedOrder{hash, expires_at});
  }

  bool Limited() const { return options.failures_per_second_per_client > 0; }

  // The client's bucket, refilled to `now`: its own, or the one shared by
  // the clients without an address and those a full table cannot hold.
  TokenBucket& BucketOf(const std::optional<IpAddressBytes>& client, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    const double rate = options.failures_per_second_per_client;
    const double burst = options.failure_burst_per_client;
    auto it = client.has_value() ? clients.find(*client) : clients.end();
    if (it == clients.end()) {
      if (!client.has_value() ||
          (clients.size() >= options.max_tracked_clients && !ForgetIdleClients(now))) {
        overflow.Refill(now, rate, burst);
        return overflow;
      }
      it = clients.emplace(*client, TokenBucket{burst, now}).first;
    }
    it->second.Refill(now, rate, burst);
    return it->second;
  }

  // Drops the clients whose bucket is full again; whether any went. At most
  // once a second: it reads the whole table under the lock every call
  // takes, and a flood from more addresses than the table holds must not
  // make every call a scan.
  bool ForgetIdleClients(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (now - clients_swept_at < absl::Seconds(1)) return false;
    clients_swept_at = now;
    const size_t before = clients.size();
    absl::erase_if(clients, [&](auto& entry) {
      entry.second.Refill(now, options.failures_per_second_per_client,
                          options.failure_burst_per_client);
      return entry.second.tokens >= options.failure_burst_per_client;
    });
    return clients.size() < before;
  }

  void Count(DenyReason reason) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    ++(stats.*kCounters[static_cast<int>(reason)]);
  }

  const AuthenticatorOptions options;
  mutable absl::Mutex mu;
  absl::flat_hash_map<TokenHash, Remembered> remembered ABSL_GUARDED_BY(mu);
  std::deque<RememberedOrder> remembered_order ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<IpAddressBytes, TokenBucket> clients ABSL_GUARDED_BY(mu);  // by ClientNetwork
  TokenBucket overflow ABSL_GUARDED_BY(mu);
  absl::Time clients_swept_at ABSL_GUARDED_BY(mu) = absl::InfinitePast();
  Stats stats ABSL_GUARDED_BY(mu);
};

Authenticator::Authenticator(TokenStore& store, const TokenCodec& codec, const Clock& clock,
                             AuthenticatorOptions options)
    : store_(store),
      codec_(codec),
      clock_(clock),
      limits_(std::make_unique<Limits>(options, clock.Now())) {}

Authenticator::~Authenticator() = default;

absl::StatusOr<Principal> Authenticator::Authenticate(
    std::optional<absl::string_view> authorization, absl::string_view client_address) const {
  Limits& limits = *limits_;
  // The sidecar's rule for what was presented: no header is missing,
  // anything else that is not a well-formed bearer token (an empty header
  // included) malformed.
  const Presented presented = ReadAuthorization(authorization, codec_);
  if (presented.denied.has_value()) {
    absl::MutexLock lock(&limits.mu);
    limits.Count(*presented.denied);
    return Unauthenticated(*presented.denied);
  }
  const TokenHash hash = TokenCodec::Hash(presented.token);
  std::optional<IpAddressBytes> client = ParseIpAddress(client_address);
  if (client.has_value()) client = ClientNetwork(*client);
  {
    absl::MutexLock lock(&limits.mu);
    const absl::Time now = clock_.Now();
    if (std::optional<DenyReason> reason = limits.RememberedFailure(hash, now)) {
      limits.Count(*reason);
      ++limits.stats.remembered;
      return Unauthenticated(*reason);
    }
    // Checked before the lookup, charged after it fails: a client's valid
    // tokens never use its budget up.
    if (limits.Limited() && limits.BucketOf(client, now).tokens < 1.0) {
      ++limits.stats.rate_limited;
      return absl::ResourceExhaustedError(kLimited);
    }
    ++limits.stats.lookups;
  }

  std::optional<DenyReason> denied;
  absl::StatusOr<Principal> caller = Check(hash, &denied);
  if (!denied.has_value()) return caller;

  absl::MutexLock lock(&limits.mu);
  const absl::Time now = clock_.Now();
  if (limits.Limited()) {
    limits.BucketOf(client, now)
        .Take(now, limits.options.failures_per_second_per_client,
              limits.options.failure_burst_per_client);
  }
  limits.Count(*denied);
  // For good: no token is ever created with a hash presented before, nor
  // un-revoked, nor given a later expiry. A disabled user may be enabled.
  // Decide checks the permanent facts first, so a token that is revoked or
  // expired is remembered as such even if its user is disabled too.
  if (*denied != DenyReason::kUserDisabled) limits.Remember(hash, *denied, now);
  return caller;
}

absl::StatusOr<Principal> Authenticator::Check(const TokenHash& hash,
                                               std::optional<DenyReason>* denied) const {
  absl::StatusOr<TokenAuthRecord> record = store_.FindTokenForAuth(hash);
  if (absl::IsNotFound(record.status())) {
    *denied = DenyReason::kUnknown;
    return Unauthenticated(DenyReason::kUnknown);
  }
  if (!record.ok()) return record.status();
  const Verdict verdict = Decide(FactsOf(*record), clock_.Now());
  if (!verdict.allowed) {
    *denied = verdict.reason;
    return Unauthenticated(verdict.reason);
  }
  Principal caller{record->user.user_id, record->user.display_name, record->user.email,
                   record->user.role, record->token_id};
  caller.token_expires_on = record->expires_on;
  caller.token_scopes = record->scopes;
  return caller;
}

Authenticator::Stats Authenticator::stats() const {
  absl::MutexLock lock(&limits_->mu);
  return limits_->stats;
}

}  // namespace tokens::service
