#include "common/auth/role_proto.h"

namespace tokens {

v1::Role RoleToProto(Role role) {
  switch (role) {
    case Role::kUser:
      return v1::USER;
    case Role::kAdmin:
      return v1::ADMIN;
    case Role::kService:
      return v1::SERVICE;
  }
  return v1::ROLE_UNSPECIFIED;
}

std::optional<Role> RoleFromProto(int role) {
  switch (role) {
    case v1::USER:
      return Role::kUser;
    case v1::ADMIN:
      return Role::kAdmin;
    case v1::SERVICE:
      return Role::kService;
    default:
      return std::nullopt;
  }
}

}  // namespace tokens
