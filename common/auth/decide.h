#pragma once

#include <optional>
#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/deny_reason.h"
#include "common/auth/role.h"
#include "common/auth/token_id.h"
#include "common/token/token_codec.h"

// The one rule that says whether a token that exists authenticates its
// owner at a given instant: token-service's Authenticator, the sidecar's
// Verifier and the benchmarks' naive server all call Decide, so the two
// processes give the same reason for the same token.
namespace tokens {

// What was presented, checked before any lookup: the token, or why there is
// none to look up. `denied` is set, or `token` is a token of `codec`'s format
// and checksum (pointing into the input).
struct Presented {
  std::optional<DenyReason> denied;
  absl::string_view token;
};

// An `authorization` header value. No header is kMissing; a header that is
// not "Bearer <token>" (ParseBearer), an empty one included, or whose token
// fails the format or checksum, is kMalformed.
Presented ReadAuthorization(std::optional<absl::string_view> authorization,
                            const TokenCodec& codec);
// A bare token (the sidecar's Authenticate takes one): empty is kMissing (a
// proto3 field left unset), one that fails the format or checksum kMalformed.
Presented ReadToken(absl::string_view token, const TokenCodec& codec);

// The expiry rule: a token that "expires on" D works until D-1 23:59:59.999…
// UTC and is expired from D 00:00 UTC on.
bool IsExpired(absl::CivilDay expires_on, absl::Time now);

// What is known about a token that exists, joined with its owner: the
// sidecar's cache answers with it, token-service reads it from its store.
struct TokenFacts {
  TokenId token_id;
  std::string user_id;
  // nullopt: the owner is not known (the sidecar's feed has not described
  // them yet). Such a token is not trusted.
  std::optional<Role> role;
  bool user_disabled = false;
  bool revoked = false;
  absl::CivilDay expires_on;  // stops working at 00:00 UTC of this day
};

// Decide's answer.
struct Verdict {
  bool allowed = false;
  DenyReason reason = DenyReason::kUnknown;  // when !allowed
};

// Revoked, then expired, then an unknown owner (kUnknown), then a disabled
// owner. Facts of the token itself come first: they are permanent (a
// revocation or an expiry is never undone), so token-service may remember
// them, and they do not depend on how far the sidecar's feed has come; the
// owner's state can change either way. Pure: no clock, no I/O.
Verdict Decide(const TokenFacts& token, absl::Time now);

}  // namespace tokens
