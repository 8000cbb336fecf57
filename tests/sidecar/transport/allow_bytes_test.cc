#include "sidecar/transport/allow_bytes.h"

#include <string>
#include <vector>

#include "envoy/service/auth/v3/external_auth.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sidecar/transport/ext_authz_service.h"
#include "tests/sidecar/transport/fake_verifier.h"

namespace tokens::sidecar {
namespace {

using envoy::service::auth::v3::CheckResponse;
using testing::Allow;

std::string Written(const Principal& principal, const ExtAuthzOptions& options) {
  const AllowBytes bytes(principal, options.remove_authorization ? "authorization" : "");
  std::string out(bytes.size(), '\xee');
  bytes.WriteTo(reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

// What the generated message serializes to for the same verdict.
std::string Expected(const CheckResult& verdict, const ExtAuthzOptions& options) {
  std::string bytes;
  EXPECT_TRUE(ToCheckResponse(verdict, options).SerializeToString(&bytes));
  return bytes;
}

TEST(AllowBytesTest, SameBytesAsTheMessageForEveryRoleWithAndWithoutRemoval) {
  for (Role role : {Role::kUser, Role::kAdmin, Role::kService}) {
    for (bool remove : {true, false}) {
      const CheckResult verdict = Allow("5b0c6a1e-7f7d-4a8e-9c39-6c1f0e2d9a11", role);
      const ExtAuthzOptions options{remove};
      EXPECT_EQ(Written(verdict.principal, options), Expected(verdict, options))
          << RoleName(role) << " remove=" << remove;
    }
  }
}

TEST(AllowBytesTest, SameBytesForUserIdsWhoseLengthsNeedLongerVarints) {
  // 127/128 cross a one-byte length of the value; about 110 cross it for the
  // header option and the answer around it.
  for (size_t length : {1u, 14u, 100u, 110u, 115u, 120u, 127u, 128u, 300u, 20000u}) {
    const CheckResult verdict = Allow(std::string(length, 'u'), Role::kUser);
    EXPECT_EQ(Written(verdict.principal, {}), Expected(verdict, {})) << length;
  }
}

TEST(AllowBytesTest, SameBytesWithScopesWithAndWithoutRemoval) {
  for (const std::vector<std::string>& scopes :
       std::vector<std::vector<std::string>>{{"things:read"},
                                             {"a", "things:read", "things:write"},
                                             {std::string(64, 's'), std::string(64, 't')}}) {
    for (bool remove : {true, false}) {
      const CheckResult verdict = testing::AllowScoped(scopes);
      const ExtAuthzOptions options{remove};
      EXPECT_EQ(Written(verdict.principal, options), Expected(verdict, options))
          << scopes.size() << " scopes, remove=" << remove;
    }
  }
}

TEST(AllowBytesTest, SameBytesForEveryShapeOfDate) {
  for (const absl::CivilDay day : {absl::CivilDay(2027, 1, 1), absl::CivilDay(2026, 12, 31),
                                   absl::CivilDay(999, 9, 9), absl::CivilDay(9999, 12, 31)}) {
    CheckResult verdict = Allow("alice", Role::kUser);
    verdict.principal.expires_on = day;
    EXPECT_EQ(Written(verdict.principal, {}), Expected(verdict, {})) << day;
  }
}

TEST(AllowBytesTest, AnEmptyUserIdIsLeftOutAsTheMessageLeavesItOut) {
  const CheckResult verdict = Allow("", Role::kUser);
  EXPECT_EQ(Written(verdict.principal, {}), Expected(verdict, {}));
}

TEST(AllowBytesTest, ParsesBackToTheAllowingAnswer) {
  const CheckResult verdict = Allow("alice", Role::kAdmin);
  CheckResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Written(verdict.principal, {})));
  EXPECT_EQ(parsed.status().code(), 0);
  ASSERT_TRUE(parsed.has_ok_response());
  ASSERT_EQ(parsed.ok_response().headers_size(), 4);
  EXPECT_EQ(parsed.ok_response().headers(0).header().key(), "x-auth-user-id");
  EXPECT_EQ(parsed.ok_response().headers(0).header().value(), "alice");
  EXPECT_EQ(parsed.ok_response().headers(1).header().value(), "ADMIN");
  EXPECT_EQ(parsed.ok_response().headers(2).header().value(), testing::kSampleTokenId);
  EXPECT_EQ(parsed.ok_response().headers(3).header().key(), "x-auth-token-expires-on");
  EXPECT_EQ(parsed.ok_response().headers(3).header().value(), "2027-04-11");
  for (const auto& option : parsed.ok_response().headers()) {
    EXPECT_TRUE(option.has_append());
    EXPECT_FALSE(option.append().value());
  }
  EXPECT_THAT(parsed.ok_response().headers_to_remove(),
              ::testing::ElementsAre("authorization", "x-auth-token-scopes"));
  ASSERT_EQ(parsed.ok_response().response_headers_to_add_size(), 1);
  EXPECT_EQ(parsed.ok_response().response_headers_to_add(0).header().key(), "x-token-expires-on");
  EXPECT_EQ(parsed.ok_response().response_headers_to_add(0).header().value(), "2027-04-11");
}

TEST(AllowBytesTest, ParsesBackWithTheScopesHeader) {
  const CheckResult verdict = testing::AllowScoped({"things:read", "things:write"});
  CheckResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(Written(verdict.principal, {})));
  ASSERT_EQ(parsed.ok_response().headers_size(), 5);
  EXPECT_EQ(parsed.ok_response().headers(4).header().key(), "x-auth-token-scopes");
  EXPECT_EQ(parsed.ok_response().headers(4).header().value(), "things:read things:write");
  EXPECT_THAT(parsed.ok_response().headers_to_remove(), ::testing::ElementsAre("authorization"));
}

}  // namespace
}  // namespace tokens::sidecar
