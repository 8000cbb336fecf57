#include "common/auth/decide.h"

#include "common/time/civil_date.h"

namespace tokens {
namespace {

Verdict Deny(DenyReason reason) { return Verdict{false, reason}; }

}  // namespace

bool IsExpired(absl::CivilDay expires_on, absl::Time now) {
  // now >= StartOfUtcDay(expires_on), said by days: UtcDay is the cheap one
  // on the sidecar's path.
  return UtcDay(now) >= expires_on;
}

Verdict Decide(const TokenFacts& token, absl::Time now) {
  if (token.revoked) return Deny(DenyReason::kRevoked);
  if (IsExpired(token.expires_on, now)) return Deny(DenyReason::kExpired);
  if (!token.role.has_value()) return Deny(DenyReason::kUnknown);
  if (token.user_disabled) return Deny(DenyReason::kUserDisabled);
  return Verdict{true, DenyReason::kUnknown};
}

}  // namespace tokens
