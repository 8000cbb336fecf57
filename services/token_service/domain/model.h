#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/auth/decide.h"
#include "common/auth/role.h"

// The token-service's domain vocabulary: plain values, no gRPC, no SQL.
namespace tokens::service {

// Role, RoleName and RoleFromName are both binaries' (common/auth/role.h).
using tokens::Role;

enum class TokenStatus { kActive, kExpired, kRevoked };

absl::string_view TokenStatusName(TokenStatus status);  // "ACTIVE", "EXPIRED", "REVOKED"

struct User {
  std::string user_id;
  std::string display_name;
  std::string email;
  Role role = Role::kUser;
  bool disabled = false;
  absl::Time created_at;
};

// A token as stored: everything but the secret, which is never kept.
struct TokenRecord {
  std::string id;
  std::string name;
  std::string hint;
  std::string user_id;
  std::string user_display_name;
  absl::Time created_at;
  std::optional<absl::Time> last_used_at;
  // The client's address at that use, as the sidecar reported it; empty
  // until first use.
  std::string last_used_from;
  absl::CivilDay expires_on;
  std::optional<absl::Time> revoked_at;
  // What the token may do (common/auth/scopes.h), sorted; empty: its user's
  // full access. Fixed at creation; a rotation copies them.
  std::vector<std::string> scopes = {};
  // Not stored: filled in by the domain from the clock when the record is
  // served (see StatusAt).
  TokenStatus status = TokenStatus::kActive;
};

// Status at `now`: REVOKED wins, then EXPIRED from 00:00 UTC of expires_on
// (IsExpired, common/auth/decide.h).
TokenStatus StatusAt(const TokenRecord& token, absl::Time now);

// Who is calling, established from their bearer token.
struct Principal {
  std::string user_id;
  std::string display_name;
  std::string email;
  Role role = Role::kUser;
  std::string token_id;
  // The presented token's expiry, for a call that outlives a moment (a
  // SyncTokens stream must end when its token does); nullopt when the
  // Principal was not made from a token.
  std::optional<absl::CivilDay> token_expires_on = std::nullopt;
  // The presented token's scopes; empty: the user's full access (and for a
  // Principal not made from a token).
  std::vector<std::string> token_scopes = {};
};

// What authentication needs to know about a presented token's row.
struct TokenAuthRecord {
  std::string token_id;
  absl::CivilDay expires_on;
  bool revoked = false;
  User user;
  std::vector<std::string> scopes = {};
};

// The record as Decide (common/auth/decide.h) reads it.
TokenFacts FactsOf(const TokenAuthRecord& record);

enum class EventKind { kTokenCreated, kTokenRevoked, kTokenRotated, kUserCreated, kUserUpdated };

absl::string_view EventKindName(EventKind kind);  // "TOKEN_CREATED", ...
std::optional<EventKind> EventKindFromName(absl::string_view name);

// An audit trail entry. `id` is assigned by the store.
struct TokenEvent {
  int64_t id = 0;
  EventKind kind = EventKind::kTokenCreated;
  absl::Time occurred_at;
  std::string actor_user_id;
  std::string subject_user_id;
  std::string token_id;
  std::string token_name;
  std::string previous_token_id;
  std::string detail;
};

}  // namespace tokens::service
