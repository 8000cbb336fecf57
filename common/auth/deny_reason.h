#pragma once

#include "absl/strings/string_view.h"

namespace tokens {

// Why a presented token authenticates no one, the same in token-service and
// the sidecar. Declared in the order the checks run (see Decide in
// common/auth/decide.h): a token that fails several gets the first.
enum class DenyReason { kMissing, kMalformed, kUnknown, kRevoked, kExpired, kUserDisabled };
inline constexpr int kDenyReasonCount = 6;

// A stable lower-case code for machines: "missing", "malformed", "unknown",
// "revoked", "expired", "user_disabled". Metric labels and Envoy's JSON body
// carry it; never change one.
absl::string_view DenyReasonCode(DenyReason reason);
// A short message for people, the UNAUTHENTICATED message of both
// processes: "missing bearer token", "malformed token", "unknown token",
// "token revoked", "token expired", "user disabled". It never echoes the
// presented token.
absl::string_view DenyReasonMessage(DenyReason reason);

}  // namespace tokens
