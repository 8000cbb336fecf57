#include "services/token_service/domain/authenticator.h"

#include <deque>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/auth/bearer.h"
#include "common/net/ip_address.h"
#include "common/time/civil_date.h"
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

// Per Authenticator::Failure, in its order: the reason a client is given
// and the counter it is counted in.
struct FailureEntry {
  const char* message;
  uint64_t Authenticator::Stats::*counter;
};
constexpr FailureEntry kFailureEntries[] = {
    {"", nullptr},  // kNone
    {"unknown token", &Authenticator::Stats::unknown},
    {"token revoked", &Authenticator::Stats::revoked},
    {"token expired", &Authenticator::Stats::expired},
    {"user disabled", &Authenticator::Stats::user_disabled},
};

const FailureEntry& EntryOf(Authenticator::Failure failure) {
  return kFailureEntries[static_cast<size_t>(failure)];
}

}  // namespace

// The remembered failures, the clients' budgets and the counters, under one
// lock that is never held during a lookup.
struct Authenticator::Limits {
  // What a token that failed is remembered as.
  struct Remembered {
    Failure failure;
    absl::Time expires_at;
  };

  explicit Limits(const AuthenticatorOptions& options_in, absl::Time now)
      : options(options_in), overflow{options_in.failure_burst_per_client, now} {}

  // The failure `hash` is remembered as, if any and still fresh.
  std::optional<Failure> RememberedFailure(const TokenHash& hash, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    auto it = remembered.find(hash);
    if (it == remembered.end()) return std::nullopt;
    if (now < it->second.expires_at) return it->second.failure;
    remembered.erase(it);
    return std::nullopt;
  }

  void Remember(const TokenHash& hash, Failure failure, absl::Time now)
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
    remembered[hash] = Remembered{failure, expires_at};
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

  void Count(Failure failure) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    if (uint64_t Stats::*counter = EntryOf(failure).counter) ++(stats.*counter);
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
  if (!authorization.has_value() || authorization->empty()) {
    absl::MutexLock lock(&limits.mu);
    ++limits.stats.missing;
    return absl::UnauthenticatedError("missing bearer token");
  }
  std::optional<absl::string_view> token = ParseBearer(*authorization);
  if (!token.has_value() || codec_.Validate(*token) != TokenFormatError::kOk) {
    absl::MutexLock lock(&limits.mu);
    ++limits.stats.malformed;
    return absl::UnauthenticatedError("malformed token");
  }
  const TokenHash hash = TokenCodec::Hash(*token);
  std::optional<IpAddressBytes> client = ParseIpAddress(client_address);
  if (client.has_value()) client = ClientNetwork(*client);
  {
    absl::MutexLock lock(&limits.mu);
    const absl::Time now = clock_.Now();
    if (std::optional<Failure> failure = limits.RememberedFailure(hash, now)) {
      limits.Count(*failure);
      ++limits.stats.remembered;
      return absl::UnauthenticatedError(EntryOf(*failure).message);
    }
    // Checked before the lookup, charged after it fails: a client's valid
    // tokens never use its budget up.
    if (limits.Limited() && limits.BucketOf(client, now).tokens < 1.0) {
      ++limits.stats.rate_limited;
      return absl::ResourceExhaustedError(kLimited);
    }
    ++limits.stats.lookups;
  }

  Failure failure = Failure::kNone;
  absl::StatusOr<Principal> caller = Check(hash, &failure);
  if (failure == Failure::kNone) return caller;

  absl::MutexLock lock(&limits.mu);
  const absl::Time now = clock_.Now();
  if (limits.Limited()) {
    limits.BucketOf(client, now)
        .Take(now, limits.options.failures_per_second_per_client,
              limits.options.failure_burst_per_client);
  }
  limits.Count(failure);
  // For good: no token is ever created with a hash presented before, nor
  // un-revoked, nor given a later expiry. A disabled user may be enabled.
  if (failure != Failure::kUserDisabled) limits.Remember(hash, failure, now);
  return caller;
}

absl::StatusOr<Principal> Authenticator::Check(const TokenHash& hash, Failure* failure) const {
  absl::StatusOr<TokenAuthRecord> record = store_.FindTokenForAuth(hash);
  if (absl::IsNotFound(record.status())) {
    *failure = Failure::kUnknown;
  } else if (!record.ok()) {
    return record.status();
  } else if (record->revoked) {
    *failure = Failure::kRevoked;
  } else if (clock_.Now() >= StartOfUtcDay(record->expires_on)) {
    *failure = Failure::kExpired;
  } else if (record->user.disabled) {
    *failure = Failure::kUserDisabled;
  }
  if (*failure != Failure::kNone) return absl::UnauthenticatedError(EntryOf(*failure).message);
  Principal caller{record->user.user_id, record->user.display_name, record->user.email,
                   record->user.role, record->token_id};
  caller.token_expires_on = record->expires_on;
  return caller;
}

Authenticator::Stats Authenticator::stats() const {
  absl::MutexLock lock(&limits_->mu);
  return limits_->stats;
}

}  // namespace tokens::service
