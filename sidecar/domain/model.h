#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "common/auth/decide.h"
#include "common/auth/deny_reason.h"
#include "common/auth/role.h"
#include "common/auth/token_id.h"
#include "common/token/token_codec.h"

// The sidecar's vocabulary: plain values, no gRPC. Tokens are known only by
// the SHA-256 of their text; the plaintext is never kept. Role, TokenId,
// DenyReason, and TokenFacts (a token as the sidecar knows it: the feed's
// token joined with its owner) are both binaries' (common/auth/).
namespace tokens::sidecar {

// A token's scopes (common/auth/scopes.h), interned by the TokenCache: every
// token with the same scopes points at one immutable set, which lives as
// long as the cache, so a reader may keep the pointer after its lookup.
struct ScopeSet {
  std::vector<std::string> names;  // sorted, no repeats; empty: the user's full access
  std::string joined;              // "a b": x-auth-token-scopes

  // The set of a token that names no scope.
  static const ScopeSet& None();
};

// A token as the feed describes it: tokens.v1.SyncedToken without the proto.
// token-service's side of the feed uses the same name.
struct SyncedToken {
  TokenHash hash{};
  TokenId id;
  std::string user_id;
  absl::CivilDay expires_on;  // stops working at 00:00 UTC of this day
  bool revoked = false;
  int64_t version = 0;
  std::vector<std::string> scopes;  // empty: the user's full access
};

// A token's owner as the feed describes it: tokens.v1.SyncedUser.
struct SyncedUser {
  std::string user_id;
  // nullopt: the feed sent no role this sidecar knows (ROLE_UNSPECIFIED, or
  // a newer one); the owner's tokens are then not trusted.
  std::optional<Role> role;
  bool disabled = false;
  int64_t version = 0;
};

// Who a valid token belongs to.
struct Principal {
  std::string user_id;
  Role role = Role::kUser;
  TokenId token_id;
  absl::CivilDay expires_on;
  const ScopeSet* scopes = &ScopeSet::None();  // never null
};

}  // namespace tokens::sidecar
