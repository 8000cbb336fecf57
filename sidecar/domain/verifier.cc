#include "sidecar/domain/verifier.h"

#include <string>
#include <utility>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/bearer.h"
#include "common/time/civil_date.h"

namespace tokens::sidecar {
namespace {

Verdict Deny(DenyReason reason) {
  Verdict verdict;
  verdict.reason = reason;
  return verdict;
}

// The checks that need the owner and the clock, for a token known to exist
// and not to be revoked.
Verdict Evaluate(CachedToken token, absl::Time now) {
  // A token whose owner the feed has not described yet is not trusted.
  if (token.role == Role::kUnspecified) return Deny(DenyReason::kUnknown);
  if (token.user_disabled) return Deny(DenyReason::kUserDisabled);
  if (UtcDay(now) >= token.expires_on) return Deny(DenyReason::kExpired);
  Verdict verdict;
  verdict.allowed = true;
  verdict.principal =
      Principal{std::move(token.user_id), token.role, token.token_id, token.expires_on};
  return verdict;
}

// A looked-up token, as the cache would have answered.
CachedToken FromLookup(LookupResult&& found) {
  CachedToken token;
  token.token_id = found.token.id;
  token.user_id = std::move(found.user.user_id);
  token.role = found.user.role;
  token.user_disabled = found.user.disabled;
  token.expires_on = found.token.expires_on;
  return token;
}

}  // namespace

Verifier::Verifier(const TokenCodec& codec, TokenCache& cache, MissResolver& resolver,
                   UsageRecorder& usage, const Clock& clock)
    : codec_(codec), cache_(cache), resolver_(resolver), usage_(usage), clock_(clock) {}

Verdict Verifier::Decide(CachedToken token, absl::string_view client_address) {
  const absl::Time now = clock_.Now();
  Verdict verdict = Evaluate(std::move(token), now);
  // Only an allowed check records usage.
  if (verdict.allowed) {
    usage_.Record(verdict.principal.token_id, now, client_address);
  }
  return verdict;
}

Verdict Verifier::CheckHeader(std::optional<absl::string_view> authorization,
                              absl::string_view client_address) {
  TokenHash hash;
  std::optional<Verdict> verdict = VerifyHeaderNow(authorization, client_address, hash);
  return Counted(verdict.has_value() ? *std::move(verdict) : Resolve(hash, client_address));
}

Verdict Verifier::CheckToken(absl::string_view token, absl::string_view client_address) {
  TokenHash hash;
  std::optional<Verdict> verdict = VerifyTokenNow(token, client_address, hash);
  return Counted(verdict.has_value() ? *std::move(verdict) : Resolve(hash, client_address));
}

std::optional<Verdict> Verifier::CheckHeaderNow(std::optional<absl::string_view> authorization,
                                                absl::string_view client_address) {
  TokenHash hash;
  std::optional<Verdict> verdict = VerifyHeaderNow(authorization, client_address, hash);
  if (!verdict.has_value()) return std::nullopt;
  return Counted(*std::move(verdict));
}

std::optional<Verdict> Verifier::CheckTokenNow(absl::string_view token,
                                               absl::string_view client_address) {
  TokenHash hash;
  std::optional<Verdict> verdict = VerifyTokenNow(token, client_address, hash);
  if (!verdict.has_value()) return std::nullopt;
  return Counted(*std::move(verdict));
}

Verdict Verifier::DenyUnresolved() { return Counted(Deny(DenyReason::kUnknown)); }

Verifier::Stats Verifier::stats() const {
  Stats stats;
  stats.allowed = allowed_.n.load(std::memory_order_relaxed);
  for (int i = 0; i < kDenyReasonCount; ++i) {
    stats.denied[i] = denied_[i].n.load(std::memory_order_relaxed);
  }
  return stats;
}

Verdict Verifier::Counted(Verdict verdict) {
  PaddedCount& count = verdict.allowed ? allowed_ : denied_[static_cast<int>(verdict.reason)];
  count.n.fetch_add(1, std::memory_order_relaxed);
  return verdict;
}

std::optional<Verdict> Verifier::VerifyHeaderNow(std::optional<absl::string_view> authorization,
                                                 absl::string_view client_address,
                                                 TokenHash& hash) {
  // A header that is present but empty (or repeated: the transport passes
  // "" then) is not "Bearer <token>": malformed, not missing.
  if (!authorization.has_value()) return Deny(DenyReason::kMissing);
  const std::optional<absl::string_view> token = ParseBearer(*authorization);
  if (!token.has_value()) return Deny(DenyReason::kMalformed);
  return VerifyTokenNow(*token, client_address, hash);
}

std::optional<Verdict> Verifier::VerifyTokenNow(absl::string_view token,
                                                absl::string_view client_address, TokenHash& hash) {
  if (token.empty()) return Deny(DenyReason::kMissing);
  // Format and checksum first: a mistyped or random token costs no lookup.
  if (codec_.Validate(token) != TokenFormatError::kOk) return Deny(DenyReason::kMalformed);
  hash = TokenCodec::Hash(token);
  if (std::optional<CachedToken> cached = cache_.Find(hash)) {
    return Decide(*std::move(cached), client_address);
  }
  return std::nullopt;
}

Verdict Verifier::Resolve(const TokenHash& hash, absl::string_view client_address) {
  // On a miss, the resolver's callback has already put a found token into
  // the cache, so the next check of it is a hit.
  MissOutcome outcome = resolver_.Resolve(hash, client_address);
  switch (outcome.kind) {
    case MissOutcome::Kind::kFound: {
      if (!outcome.found.has_value()) break;
      if (outcome.found->token.revoked) return Deny(DenyReason::kRevoked);
      if (outcome.cached) return Decide(FromLookup(*std::move(outcome.found)), client_address);
      // The feed got past this answer while it was in flight: what the
      // cache holds now decides. Absent from it, the token is no longer live
      // (revoked), unless the answer itself already shows why not.
      if (std::optional<CachedToken> cached = cache_.Find(hash)) {
        return Decide(*std::move(cached), client_address);
      }
      const Verdict stale = Evaluate(FromLookup(*std::move(outcome.found)), clock_.Now());
      return stale.allowed ? Deny(DenyReason::kRevoked) : stale;
    }
    case MissOutcome::Kind::kRevoked:
      return Deny(DenyReason::kRevoked);
    case MissOutcome::Kind::kNotFound:
    case MissOutcome::Kind::kRateLimited:
    case MissOutcome::Kind::kUnavailable:
      break;
  }
  return Deny(DenyReason::kUnknown);
}

}  // namespace tokens::sidecar
