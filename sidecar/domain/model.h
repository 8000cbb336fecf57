#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "common/token/token_codec.h"

// The sidecar's vocabulary: plain values, no gRPC. Tokens are known only by
// the SHA-256 of their text; the plaintext is never kept.
namespace tokens::sidecar {

enum class Role { kUnspecified, kUser, kAdmin, kService };

absl::string_view RoleName(Role role);  // "USER", "ADMIN", "SERVICE", "ROLE_UNSPECIFIED"

// A token id (a UUID) in its 16 raw bytes: compact in the cache, formatted
// back to text only when an answer needs it.
using TokenId = std::array<uint8_t, 16>;

// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case).
std::optional<TokenId> ParseTokenId(absl::string_view text);
// Lower-case canonical UUID text.
std::string FormatTokenId(const TokenId& id);
// The same text into a buffer, without allocating.
inline constexpr size_t kTokenIdTextSize = 36;
void FormatTokenId(const TokenId& id, char (&out)[kTokenIdTextSize]);

// A token as the feed describes it: tokens.v1.SyncedToken without the proto.
// token-service's side of the feed uses the same name.
struct SyncedToken {
  TokenHash hash{};
  TokenId id{};
  std::string user_id;
  absl::CivilDay expires_on;  // stops working at 00:00 UTC of this day
  bool revoked = false;
  int64_t version = 0;
};

// A token's owner as the feed describes it: tokens.v1.SyncedUser.
struct SyncedUser {
  std::string user_id;
  Role role = Role::kUnspecified;
  bool disabled = false;
  int64_t version = 0;
};

// Why a check denied a request. Each has a stable lower-case code for
// machines (Envoy's JSON body, logs, metrics) and a sentence for people.
enum class DenyReason { kMissing, kMalformed, kUnknown, kExpired, kRevoked, kUserDisabled };
inline constexpr int kDenyReasonCount = 6;

absl::string_view DenyReasonCode(DenyReason reason);     // "missing", ..., "user_disabled"
absl::string_view DenyReasonMessage(DenyReason reason);  // "no bearer token was presented", ...

// Who a valid token belongs to.
struct Principal {
  std::string user_id;
  Role role = Role::kUnspecified;
  TokenId token_id{};
  absl::CivilDay expires_on;
};

}  // namespace tokens::sidecar
