#include "services/token_service/transport/proto_conversion.h"

#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "google/protobuf/timestamp.pb.h"

namespace tokens::service {
namespace {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

v1::TokenStatus ToProto(TokenStatus status) {
  switch (status) {
    case TokenStatus::kActive:
      return v1::ACTIVE;
    case TokenStatus::kExpired:
      return v1::EXPIRED;
    case TokenStatus::kRevoked:
      return v1::REVOKED;
  }
  return v1::TOKEN_STATUS_UNSPECIFIED;
}

v1::TokenEvent::Kind ToProto(EventKind kind) {
  switch (kind) {
    case EventKind::kTokenCreated:
      return v1::TokenEvent::TOKEN_CREATED;
    case EventKind::kTokenRevoked:
      return v1::TokenEvent::TOKEN_REVOKED;
    case EventKind::kTokenRotated:
      return v1::TokenEvent::TOKEN_ROTATED;
    case EventKind::kUserCreated:
      return v1::TokenEvent::USER_CREATED;
    case EventKind::kUserUpdated:
      return v1::TokenEvent::USER_UPDATED;
  }
  return v1::TokenEvent::KIND_UNSPECIFIED;
}

}  // namespace

void ToProto(const TokenRecord& token, v1::Token* out) {
  out->set_id(token.id);
  out->set_name(token.name);
  out->set_hint(token.hint);
  out->set_user_id(token.user_id);
  out->set_user_display_name(token.user_display_name);
  SetTimestamp(token.created_at, out->mutable_created_at());
  if (token.last_used_at.has_value())
    SetTimestamp(*token.last_used_at, out->mutable_last_used_at());
  out->set_last_used_from(token.last_used_from);
  out->set_expires_on(FormatIsoDate(token.expires_on));
  out->set_status(ToProto(token.status));
  if (token.revoked_at.has_value()) SetTimestamp(*token.revoked_at, out->mutable_revoked_at());
  for (const std::string& scope : token.scopes) out->add_scopes(scope);
}

void ToProto(const User& user, v1::User* out) {
  out->set_user_id(user.user_id);
  out->set_display_name(user.display_name);
  out->set_email(user.email);
  out->set_role(ToProto(user.role));
  out->set_disabled(user.disabled);
  SetTimestamp(user.created_at, out->mutable_created_at());
}

void ToProto(const TokenEvent& event, v1::TokenEvent* out) {
  out->set_id(std::to_string(event.id));
  out->set_kind(ToProto(event.kind));
  SetTimestamp(event.occurred_at, out->mutable_occurred_at());
  out->set_actor_user_id(event.actor_user_id);
  out->set_subject_user_id(event.subject_user_id);
  out->set_token_id(event.token_id);
  out->set_token_name(event.token_name);
  out->set_previous_token_id(event.previous_token_id);
  out->set_detail(event.detail);
}

absl::StatusOr<std::optional<Role>> RoleFromProto(const char* field, int role) {
  if (role == v1::ROLE_UNSPECIFIED) return std::optional<Role>();
  std::optional<Role> known = tokens::RoleFromProto(role);
  if (!known.has_value()) return FieldError(field, "must be USER, ADMIN or SERVICE");
  return known;
}

absl::StatusOr<std::optional<TokenStatus>> StatusFromProto(const char* field, int status) {
  switch (status) {
    case v1::TOKEN_STATUS_UNSPECIFIED:
      return std::optional<TokenStatus>();
    case v1::ACTIVE:
      return std::optional<TokenStatus>(TokenStatus::kActive);
    case v1::EXPIRED:
      return std::optional<TokenStatus>(TokenStatus::kExpired);
    case v1::REVOKED:
      return std::optional<TokenStatus>(TokenStatus::kRevoked);
    default:
      return FieldError(field, "must be ACTIVE, EXPIRED or REVOKED");
  }
}

UserManager::UpdateRequest UpdateRequestFromProto(const v1::UpdateUserRequest& request) {
  const v1::User& user = request.user();
  UserManager::UpdateRequest out;
  out.user_id = user.user_id();
  out.mask.assign(request.update_mask().paths().begin(), request.update_mask().paths().end());
  out.display_name = user.display_name();
  out.email = user.email();
  out.role = tokens::RoleFromProto(user.role());
  out.disabled = user.disabled();
  return out;
}

}  // namespace tokens::service
