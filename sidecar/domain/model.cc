#include "sidecar/domain/model.h"

#include "absl/strings/ascii.h"

namespace tokens::sidecar {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kUser:
      return "USER";
    case Role::kAdmin:
      return "ADMIN";
    case Role::kService:
      return "SERVICE";
    case Role::kUnspecified:
      break;
  }
  return "ROLE_UNSPECIFIED";
}

std::optional<TokenId> ParseTokenId(absl::string_view text) {
  if (text.size() != 36) return std::nullopt;
  TokenId id{};
  size_t out = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id[out++] = static_cast<uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return id;
}

void FormatTokenId(const TokenId& id, char (&out)[kTokenIdTextSize]) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
    out[n++] = kHex[id[i] >> 4];
    out[n++] = kHex[id[i] & 0xf];
  }
}

std::string FormatTokenId(const TokenId& id) {
  char text[kTokenIdTextSize];
  FormatTokenId(id, text);
  return std::string(text, sizeof(text));
}

absl::string_view DenyReasonCode(DenyReason reason) {
  switch (reason) {
    case DenyReason::kMissing:
      return "missing";
    case DenyReason::kMalformed:
      return "malformed";
    case DenyReason::kUnknown:
      return "unknown";
    case DenyReason::kExpired:
      return "expired";
    case DenyReason::kRevoked:
      return "revoked";
    case DenyReason::kUserDisabled:
      return "user_disabled";
  }
  return "unknown";
}

absl::string_view DenyReasonMessage(DenyReason reason) {
  switch (reason) {
    case DenyReason::kMissing:
      return "no bearer token was presented";
    case DenyReason::kMalformed:
      return "the bearer token is malformed";
    case DenyReason::kUnknown:
      return "the token is not known";
    case DenyReason::kExpired:
      return "the token has expired";
    case DenyReason::kRevoked:
      return "the token has been revoked";
    case DenyReason::kUserDisabled:
      return "the token's user is disabled";
  }
  return "the token is not known";
}

}  // namespace tokens::sidecar
