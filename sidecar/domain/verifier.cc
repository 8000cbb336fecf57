#include "sidecar/domain/verifier.h"

#include <string>
#include <utility>

#include "absl/time/time.h"

namespace tokens::sidecar {
namespace {

CheckResult Deny(DenyReason reason) {
  CheckResult result;
  result.reason = reason;
  return result;
}

}  // namespace

// A looked-up token, as the cache would have answered.
CachedToken Verifier::FromLookup(LookupResult&& found) const {
  CachedToken token;
  token.token_id = found.token.id;
  token.user_id = std::move(found.user.user_id);
  token.role = found.user.role;
  token.user_disabled = found.user.disabled;
  token.revoked = found.token.revoked;
  token.expires_on = found.token.expires_on;
  token.scopes = cache_.InternScopes(found.token.scopes);
  return token;
}

Verifier::Verifier(const TokenCodec& codec, TokenCache& cache, MissResolver& resolver,
                   UsageRecorder& usage, const Clock& clock)
    : codec_(codec), cache_(cache), resolver_(resolver), usage_(usage), clock_(clock) {}

CheckResult Verifier::Admit(CachedToken token, absl::string_view client_address) {
  const absl::Time now = clock_.Now();
  const Verdict verdict = Decide(token, now);
  if (!verdict.allowed) return Deny(verdict.reason);
  CheckResult result;
  result.allowed = true;
  // Decide allows only a token whose owner is known.
  result.principal = Principal{std::move(token.user_id), *token.role, token.token_id,
                               token.expires_on, token.scopes};
  // Only an allowed check records usage.
  usage_.Record(result.principal.token_id, now, client_address);
  return result;
}

CheckResult Verifier::CheckHeader(std::optional<absl::string_view> authorization,
                                  absl::string_view client_address) {
  TokenHash hash;
  std::optional<CheckResult> verdict = VerifyHeaderNow(authorization, client_address, hash);
  return Counted(verdict.has_value() ? *std::move(verdict) : Resolve(hash, client_address));
}

CheckResult Verifier::CheckToken(absl::string_view token, absl::string_view client_address) {
  TokenHash hash;
  std::optional<CheckResult> verdict = VerifyTokenNow(token, client_address, hash);
  return Counted(verdict.has_value() ? *std::move(verdict) : Resolve(hash, client_address));
}

std::optional<CheckResult> Verifier::CheckHeaderNow(std::optional<absl::string_view> authorization,
                                                    absl::string_view client_address) {
  TokenHash hash;
  std::optional<CheckResult> verdict = VerifyHeaderNow(authorization, client_address, hash);
  if (!verdict.has_value()) return std::nullopt;
  return Counted(*std::move(verdict));
}

std::optional<CheckResult> Verifier::CheckTokenNow(absl::string_view token,
                                                   absl::string_view client_address) {
  TokenHash hash;
  std::optional<CheckResult> verdict = VerifyTokenNow(token, client_address, hash);
  if (!verdict.has_value()) return std::nullopt;
  return Counted(*std::move(verdict));
}

CheckResult Verifier::DenyUnresolved() { return Counted(Deny(DenyReason::kUnknown)); }

Verifier::Stats Verifier::stats() const {
  Stats stats;
  stats.allowed = allowed_.n.load(std::memory_order_relaxed);
  for (int i = 0; i < kDenyReasonCount; ++i) {
    stats.denied[i] = denied_[i].n.load(std::memory_order_relaxed);
  }
  return stats;
}

CheckResult Verifier::Counted(CheckResult result) {
  PaddedCount& count = result.allowed ? allowed_ : denied_[static_cast<int>(result.reason)];
  count.n.fetch_add(1, std::memory_order_relaxed);
  return result;
}

std::optional<CheckResult> Verifier::VerifyHeaderNow(std::optional<absl::string_view> authorization,
                                                     absl::string_view client_address,
                                                     TokenHash& hash) {
  // A header that is present but empty (or repeated: the transport passes
  // "" then) is not "Bearer <token>": malformed, not missing.
  return VerifyNow(ReadAuthorization(authorization, codec_), client_address, hash);
}

std::optional<CheckResult> Verifier::VerifyTokenNow(absl::string_view token,
                                                    absl::string_view client_address,
                                                    TokenHash& hash) {
  return VerifyNow(ReadToken(token, codec_), client_address, hash);
}

std::optional<CheckResult> Verifier::VerifyNow(const Presented& presented,
                                               absl::string_view client_address, TokenHash& hash) {
  if (presented.denied.has_value()) return Deny(*presented.denied);
  hash = TokenCodec::Hash(presented.token);
  if (std::optional<CachedToken> cached = cache_.Find(hash)) {
    return Admit(*std::move(cached), client_address);
  }
  return std::nullopt;
}

CheckResult Verifier::Resolve(const TokenHash& hash, absl::string_view client_address) {
  // On a miss, the resolver's callback has already put a found token into
  // the cache, so the next check of it is a hit.
  MissOutcome outcome = resolver_.Resolve(hash, client_address);
  switch (outcome.kind) {
    case MissOutcome::Kind::kFound: {
      if (!outcome.found.has_value()) break;
      if (outcome.cached) return Admit(FromLookup(*std::move(outcome.found)), client_address);
      // The feed got past this answer while it was in flight: what the
      // cache holds now decides. Absent from it, the token is no longer live
      // (revoked), unless the answer itself already shows why not.
      if (std::optional<CachedToken> cached = cache_.Find(hash)) {
        return Admit(*std::move(cached), client_address);
      }
      const Verdict stale = Decide(FromLookup(*std::move(outcome.found)), clock_.Now());
      if (stale.allowed) return Deny(DenyReason::kRevoked);
      return Deny(stale.reason);
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
