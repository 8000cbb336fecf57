#include "common/auth/deny_reason.h"

namespace tokens {
namespace {

struct ReasonText {
  absl::string_view code;
  absl::string_view message;
};

// Indexed by DenyReason.
constexpr ReasonText kReasons[kDenyReasonCount] = {
    {"missing", "missing bearer token"}, {"malformed", "malformed token"},
    {"unknown", "unknown token"},        {"revoked", "token revoked"},
    {"expired", "token expired"},        {"user_disabled", "user disabled"},
};
static_assert(static_cast<int>(DenyReason::kUserDisabled) == kDenyReasonCount - 1,
              "kReasons needs a row per DenyReason");

const ReasonText& TextOf(DenyReason reason) {
  const int i = static_cast<int>(reason);
  // A value outside the enum is read as the safest answer there is.
  return kReasons[i >= 0 && i < kDenyReasonCount ? i : static_cast<int>(DenyReason::kUnknown)];
}

}  // namespace

absl::string_view DenyReasonCode(DenyReason reason) { return TextOf(reason).code; }

absl::string_view DenyReasonMessage(DenyReason reason) { return TextOf(reason).message; }

}  // namespace tokens
