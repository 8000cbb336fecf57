#include "common/auth/decide.h"

#include "common/auth/bearer.h"
#include "common/time/civil_date.h"

namespace tokens {
namespace {

Verdict Deny(DenyReason reason) { return Verdict{false, reason}; }

Presented Denied(DenyReason reason) { return Presented{reason, {}}; }

}  // namespace

Presented ReadAuthorization(std::optional<absl::string_view> authorization,
                            const TokenCodec& codec) {
  if (!authorization.has_value()) return Denied(DenyReason::kMissing);
  const std::optional<absl::string_view> token = ParseBearer(*authorization);
  if (!token.has_value()) return Denied(DenyReason::kMalformed);
  return ReadToken(*token, codec);
}

Presented ReadToken(absl::string_view token, const TokenCodec& codec) {
  if (token.empty()) return Denied(DenyReason::kMissing);
  // Format and checksum: a mistyped or random token costs no lookup.
  if (codec.Validate(token) != TokenFormatError::kOk) return Denied(DenyReason::kMalformed);
  return Presented{std::nullopt, token};
}

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
