#include "common/auth/role.h"

#include "common/auth/role_proto.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

constexpr Role kAllRoles[] = {Role::kUser, Role::kAdmin, Role::kService};

TEST(RoleTest, NamesAreTheProtoNames) {
  EXPECT_EQ(RoleName(Role::kUser), "USER");
  EXPECT_EQ(RoleName(Role::kAdmin), "ADMIN");
  EXPECT_EQ(RoleName(Role::kService), "SERVICE");
  for (Role role : kAllRoles) {
    EXPECT_EQ(RoleName(role), v1::Role_Name(RoleToProto(role)));
  }
}

TEST(RoleTest, FromNameIsTheInverseOfRoleName) {
  for (Role role : kAllRoles) EXPECT_EQ(RoleFromName(RoleName(role)), role);
}

TEST(RoleTest, FromNameRejectsEverythingElse) {
  // Case-sensitive, like the database's CHECK.
  for (absl::string_view name :
       {"", "user", "admin", "Admin", "ROLE_UNSPECIFIED", "ADMIN ", "SERVICE ", "ROOT"}) {
    EXPECT_EQ(RoleFromName(name), std::nullopt) << name;
  }
  EXPECT_EQ(RoleName(static_cast<Role>(42)), "UNKNOWN");
}

TEST(RoleProtoTest, RoundTrips) {
  for (Role role : kAllRoles) EXPECT_EQ(RoleFromProto(RoleToProto(role)), role);
  EXPECT_EQ(RoleToProto(Role::kUser), v1::USER);
  EXPECT_EQ(RoleToProto(Role::kAdmin), v1::ADMIN);
  EXPECT_EQ(RoleToProto(Role::kService), v1::SERVICE);
}

TEST(RoleProtoTest, UnspecifiedAndUnknownNumbersAreNoRole) {
  EXPECT_EQ(RoleFromProto(v1::ROLE_UNSPECIFIED), std::nullopt);
  EXPECT_EQ(RoleFromProto(42), std::nullopt);
  EXPECT_EQ(RoleFromProto(-1), std::nullopt);
}

}  // namespace
}  // namespace tokens
