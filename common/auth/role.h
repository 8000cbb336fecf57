#pragma once

#include <optional>

#include "absl/strings/string_view.h"

namespace tokens {

// What a user may do: the one Role of both binaries. A token whose owner is
// not known yet (the sidecar's feed has not described them) has no Role:
// that is std::optional<Role>, never a fourth value.
enum class Role { kUser, kAdmin, kService };

// "USER", "ADMIN", "SERVICE": the names in the proto, the database and the
// x-auth-user-role header.
absl::string_view RoleName(Role role);
// The inverse of RoleName; nullopt for anything else (case matters).
std::optional<Role> RoleFromName(absl::string_view name);

}  // namespace tokens
