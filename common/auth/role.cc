#include "common/auth/role.h"

#include <array>
#include <utility>

namespace tokens {
namespace {

constexpr std::array<std::pair<Role, absl::string_view>, 3> kRoles{
    {{Role::kUser, "USER"}, {Role::kAdmin, "ADMIN"}, {Role::kService, "SERVICE"}}};

}  // namespace

absl::string_view RoleName(Role role) {
  for (const auto& [value, name] : kRoles) {
    if (value == role) return name;
  }
  return "UNKNOWN";
}

std::optional<Role> RoleFromName(absl::string_view name) {
  for (const auto& [value, n] : kRoles) {
    if (n == name) return value;
  }
  return std::nullopt;
}

}  // namespace tokens
