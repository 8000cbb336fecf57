#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "common/auth/role_proto.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/user_manager.h"
#include "tokens/v1/tokens.pb.h"

// Domain values <-> tokens.v1 messages. Nothing here decides anything.
namespace tokens::service {

void ToProto(const TokenRecord& token, v1::Token* out);
void ToProto(const User& user, v1::User* out);
void ToProto(const TokenEvent& event, v1::TokenEvent* out);
// RoleToProto (common/auth/role_proto.h), among the other ToProto overloads.
inline v1::Role ToProto(Role role) { return RoleToProto(role); }

// A role in a request: ROLE_UNSPECIFIED -> nullopt (not given); a number
// outside the enum is a FieldError.
absl::StatusOr<std::optional<Role>> RoleFromProto(const char* field, int role);
// TOKEN_STATUS_UNSPECIFIED -> nullopt; a number outside the enum is a FieldError.
absl::StatusOr<std::optional<TokenStatus>> StatusFromProto(const char* field, int status);

// An UpdateUserRequest (AIP-134) as the use case's request: the mask's paths
// and the values of `user`; a role outside the enum is no role, which
// UserManager refuses only if the mask names it.
UserManager::UpdateRequest UpdateRequestFromProto(const v1::UpdateUserRequest& request);

}  // namespace tokens::service
