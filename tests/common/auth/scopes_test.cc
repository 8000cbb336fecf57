#include "common/auth/scopes.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ScopesTest, NamesAreShortAndSafeInAHeader) {
  for (absl::string_view name :
       {"things:read", "things:write", "a", "repo/status", "x.y_z-1", "ABC:def"}) {
    EXPECT_TRUE(IsScopeName(name)) << name;
  }
  for (absl::string_view name :
       {"", "things read", "things\"read", "a\\b", "a,b", "é", "a\tb", "a\nb", "a=b"}) {
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

TEST(ScopesTest, SplitKeepsTheFirstOfEachNameInALongList) {
  std::string list;
  for (int i = 0; i < 50000; ++i) absl::StrAppend(&list, "s", i, " s", i % 7, " ");
  const std::vector<std::string> scopes = SplitScopes(list);
  ASSERT_EQ(scopes.size(), 50000u);
  EXPECT_EQ(scopes[0], "s0");
  EXPECT_EQ(scopes[1], "s1");
  EXPECT_EQ(scopes[7], "s7");
  EXPECT_EQ(scopes.back(), "s49999");
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
