#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/model.h"
#include "sidecar/domain/token_cache.h"
#include "sidecar/domain/usage.h"

// Decides whether a presented token is good: the one piece of logic behind
// both Envoy's Check and Authenticate.
namespace tokens::sidecar {

// A check's answer: Decide's verdict and, when allowed, who is calling.
struct CheckResult : Verdict {
  Principal principal;  // when allowed
};

// The interface the transports use, so they can be tested with a fake.
class TokenVerifier {
 public:
  virtual ~TokenVerifier() = default;
  // `authorization`: the header's value, nullopt when the header is absent.
  virtual CheckResult CheckHeader(std::optional<absl::string_view> authorization,
                                  absl::string_view client_address) = 0;
  // A bare token (Authenticate's `token` field).
  virtual CheckResult CheckToken(absl::string_view token, absl::string_view client_address) = 0;

  // The same checks without ever waiting: nullopt when the answer needs a
  // lookup in token-service (a cache miss), which the two above make and
  // wait for. A nullopt is not a check yet: the caller follows it with
  // CheckHeader/CheckToken, or, when it cannot wait, with
  // DenyUnresolved().
  virtual std::optional<CheckResult> CheckHeaderNow(std::optional<absl::string_view> authorization,
                                                    absl::string_view client_address) = 0;
  virtual std::optional<CheckResult> CheckTokenNow(absl::string_view token,
                                                   absl::string_view client_address) = 0;
  // A check that needed a lookup nobody could make (every lookup worker
  // busy): denied as unknown, fail closed.
  virtual CheckResult DenyUnresolved() = 0;
};

// parse "Bearer <t>" -> format and checksum -> SHA-256 -> cache; on a miss the
// MissResolver. Then Decide (common/auth/decide.h) against the clock, at
// every check: revoked, expired, owner unknown, owner disabled, the order
// token-service answers in too. An allowed check records usage.
class Verifier final : public TokenVerifier {
 public:
  Verifier(const TokenCodec& codec, TokenCache& cache, MissResolver& resolver, UsageRecorder& usage,
           const Clock& clock);

  CheckResult CheckHeader(std::optional<absl::string_view> authorization,
                          absl::string_view client_address) override;
  CheckResult CheckToken(absl::string_view token, absl::string_view client_address) override;
  std::optional<CheckResult> CheckHeaderNow(std::optional<absl::string_view> authorization,
                                            absl::string_view client_address) override;
  std::optional<CheckResult> CheckTokenNow(absl::string_view token,
                                           absl::string_view client_address) override;
  CheckResult DenyUnresolved() override;

  // Verdicts so far, for metrics.
  struct Stats {
    uint64_t allowed = 0;
    std::array<uint64_t, kDenyReasonCount> denied{};  // by DenyReason
  };
  Stats stats() const;

 private:
  // Everything but the lookup: the verdict when format or cache decide,
  // else nullopt with `hash` set for Resolve().
  std::optional<CheckResult> VerifyHeaderNow(std::optional<absl::string_view> authorization,
                                             absl::string_view client_address, TokenHash& hash);
  std::optional<CheckResult> VerifyTokenNow(absl::string_view token,
                                            absl::string_view client_address, TokenHash& hash);
  // Both: the cache's answer for a token that passed ReadAuthorization or
  // ReadToken (common/auth/decide.h).
  std::optional<CheckResult> VerifyNow(const Presented& presented, absl::string_view client_address,
                                       TokenHash& hash);
  // A cache miss: asks token-service (through the MissResolver), waiting.
  CheckResult Resolve(const TokenHash& hash, absl::string_view client_address);
  // Counts `result` and returns it.
  CheckResult Counted(CheckResult result);

  // Decides on a token known to exist and, if allowed, records its use.
  CheckResult Admit(CachedToken token, absl::string_view client_address);
  // A looked-up token, as the cache would have answered (its scopes
  // interned there).
  CachedToken FromLookup(LookupResult&& found) const;

  const TokenCodec& codec_;
  TokenCache& cache_;
  MissResolver& resolver_;
  UsageRecorder& usage_;
  const Clock& clock_;
  // One cache line each: the counters are bumped on every check, from every
  // thread.
  struct alignas(64) PaddedCount {
    std::atomic<uint64_t> n{0};
  };
  PaddedCount allowed_;
  std::array<PaddedCount, kDenyReasonCount> denied_;
};

}  // namespace tokens::sidecar
