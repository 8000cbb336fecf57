#include "common/auth/scopes.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ScopesTest, NamesAreShortAndSafeInAHeader) {
  for (absl::string_view name : {"things:read", "things:write", "a", "repo/status", "x.y_z-1",
                                 "ABC:def"}) {
    EXPECT_TRUE(IsScopeName(name)) << name;
  }
  for (absl::string_view name : {"", "things read", "things\"read", "a\\b", "a,b", "é", "a\tb",
                                 "a\nb", "a=b"}) {
    EXPECT_FALSE(IsScopeName(name)) << name;
  }
  EXPECT_TRUE(IsScopeName(std::string(kMaxScopeNameChars, 'a')));
  EXPECT_FALSE(IsScopeName(std::string(kMaxScopeNameChars + 1, 'a')));
}

TEST(ScopesTest, SplitTakesSpaceSeparatedNamesOnce) {
  EXPECT_THAT(SplitScopes("things:read things:write"), ElementsAre("things:read", "things:write"));
  EXPECT_THAT(SplitScopes("  a \t b  a "), ElementsAre("a", "b"));
  EXPECT_THAT(SplitScopes(""), IsEmpty());
  EXPECT_THAT(SplitScopes("   "), IsEmpty());
}

TEST(ScopesTest, JoinIsSplitsInverse) {
  const std::vector<std::string> scopes = {"things:read", "things:write"};
  EXPECT_EQ(JoinScopes(scopes), "things:read things:write");
  EXPECT_EQ(SplitScopes(JoinScopes(scopes)), scopes);
  EXPECT_EQ(JoinScopes({}), "");
}

TEST(ScopesTest, MissingAreTheRequiredOnesNotGranted) {
  EXPECT_THAT(MissingScopes({"things:read"}, {"things:read"}), IsEmpty());
  EXPECT_THAT(MissingScopes({"things:read"}, {"things:write", "things:read", "admin"}),
              ElementsAre("things:write", "admin"));
  EXPECT_THAT(MissingScopes({"things:read"}, {}), IsEmpty());
}

TEST(ScopesTest, ATokenWithoutScopesHasFullAccess) {
  EXPECT_THAT(MissingScopes({}, {"things:write", "anything"}), IsEmpty());
}

}  // namespace
}  // namespace tokens
