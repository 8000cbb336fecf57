#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "services/token_service/domain/model.h"
#include "tokens/v1/tokens.pb.h"

// Domain values <-> tokens.v1 messages. Nothing here decides anything.
namespace tokens::service {

void ToProto(const TokenRecord& token, v1::Token* out);
void ToProto(const User& user, v1::User* out);
void ToProto(const TokenEvent& event, v1::TokenEvent* out);
v1::Role ToProto(Role role);

// ROLE_UNSPECIFIED -> nullopt; a number outside the enum is a FieldError.
absl::StatusOr<std::optional<Role>> RoleFromProto(const char* field, int role);
// TOKEN_STATUS_UNSPECIFIED -> nullopt; a number outside the enum is a FieldError.
absl::StatusOr<std::optional<TokenStatus>> StatusFromProto(const char* field, int status);

}  // namespace tokens::service
