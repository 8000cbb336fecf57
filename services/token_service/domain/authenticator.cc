#include "services/token_service/domain/authenticator.h"

#include "common/auth/bearer.h"
#include "common/time/civil_date.h"

namespace tokens::service {

absl::StatusOr<Principal> Authenticator::Authenticate(
    std::optional<absl::string_view> authorization) const {
  if (!authorization.has_value() || authorization->empty()) {
    return absl::UnauthenticatedError("missing bearer token");
  }
  std::optional<absl::string_view> token = ParseBearer(*authorization);
  if (!token.has_value() || codec_.Validate(*token) != TokenFormatError::kOk) {
    return absl::UnauthenticatedError("malformed token");
  }
  absl::StatusOr<TokenAuthRecord> record = store_.FindTokenForAuth(TokenCodec::Hash(*token));
  if (absl::IsNotFound(record.status())) return absl::UnauthenticatedError("unknown token");
  if (!record.ok()) return record.status();
  if (record->revoked) return absl::UnauthenticatedError("token revoked");
  if (clock_.Now() >= StartOfUtcDay(record->expires_on)) {
    return absl::UnauthenticatedError("token expired");
  }
  if (record->user.disabled) return absl::UnauthenticatedError("user disabled");
  Principal caller{record->user.user_id, record->user.display_name, record->user.email,
                   record->user.role, record->token_id};
  caller.token_expires_on = record->expires_on;
  return caller;
}

}  // namespace tokens::service
