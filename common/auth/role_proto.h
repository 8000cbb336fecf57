#pragma once

#include <optional>

#include "common/auth/role.h"
#include "tokens/v1/tokens.pb.h"

// Role <-> tokens.v1.Role: the one mapping, for token-service's transport
// and the sidecar alike.
namespace tokens {

v1::Role RoleToProto(Role role);
// ROLE_UNSPECIFIED, and any number outside the enum (a newer peer's role),
// is nullopt: callers decide whether that is a bad request or an owner not
// known yet.
std::optional<Role> RoleFromProto(int role);

}  // namespace tokens
