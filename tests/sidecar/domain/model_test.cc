#include "sidecar/domain/model.h"

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace tokens::sidecar {
namespace {

TEST(TokenIdTest, ParsesAndFormatsTheCanonicalText) {
  const std::optional<TokenId> id = ParseTokenId("0123abcd-4567-89ef-0a1b-2c3d4e5f6a7b");
  ASSERT_TRUE(id.has_value());
  const TokenId expected = {0x01, 0x23, 0xab, 0xcd, 0x45, 0x67, 0x89, 0xef,
                            0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f, 0x6a, 0x7b};
  EXPECT_EQ(*id, expected);
  EXPECT_EQ(FormatTokenId(*id), "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7b");
}

TEST(TokenIdTest, AcceptsUpperCaseAndFormatsLowerCase) {
  const std::optional<TokenId> id = ParseTokenId("0123ABCD-4567-89EF-0A1B-2C3D4E5F6A7B");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(FormatTokenId(*id), "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7b");
}

TEST(TokenIdTest, RoundTripsEveryByteValue) {
  for (int start = 0; start < 256; start += 16) {
    TokenId id{};
    for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<uint8_t>(start + i);
    const std::string text = FormatTokenId(id);
    ASSERT_EQ(text.size(), 36u);
    EXPECT_EQ(ParseTokenId(text), id) << text;
  }
}

TEST(TokenIdTest, AllZeroAndAllOnes) {
  EXPECT_EQ(ParseTokenId("00000000-0000-0000-0000-000000000000"), TokenId{});
  TokenId ones;
  ones.fill(0xff);
  EXPECT_EQ(FormatTokenId(ones), "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

TEST(TokenIdTest, RejectsAnythingElse) {
  const std::string kBad[] = {
      "",
      "0123abcd",
      // One character short and one too many.
      "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7",
      "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7b0",
      // No dashes (32 hex digits) and dashes in the wrong places.
      "0123abcd456789ef0a1b2c3d4e5f6a7b",
      "0123abc-d4567-89ef-0a1b-2c3d4e5f6a7b",
      "0123abcd-4567-89ef-0a1b2-c3d4e5f6a7b",
      // A dash where a digit belongs, and the other way round.
      "0123abcd-4567-89ef-0a1b--c3d4e5f6a7b",
      "0123abcd_4567_89ef_0a1b_2c3d4e5f6a7b",
      // Not hex.
      "0123abcg-4567-89ef-0a1b-2c3d4e5f6a7b",
      "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7z",
      "{123abcd-4567-89ef-0a1b-2c3d4e5f6a7}",
      " 123abcd-4567-89ef-0a1b-2c3d4e5f6a7b",
      "0123abcd-4567-89ef-0a1b-2c3d4e5f6a7 ",
      std::string("0123abcd-4567-89ef-0a1b-2c3d4e5f6a7\0", 36),
      "0123abcd-4567-89ef-0a1b-2c3d4e5f6a\xc3\xa9",
  };
  for (const std::string& text : kBad) {
    EXPECT_EQ(ParseTokenId(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(DenyReasonTest, CodesAreStable) {
  const std::pair<DenyReason, absl::string_view> kCodes[] = {
      {DenyReason::kMissing, "missing"}, {DenyReason::kMalformed, "malformed"},
      {DenyReason::kUnknown, "unknown"}, {DenyReason::kExpired, "expired"},
      {DenyReason::kRevoked, "revoked"}, {DenyReason::kUserDisabled, "user_disabled"},
  };
  std::set<std::string> messages;
  for (const auto& [reason, code] : kCodes) {
    EXPECT_EQ(DenyReasonCode(reason), code);
    const absl::string_view message = DenyReasonMessage(reason);
    EXPECT_FALSE(message.empty()) << code;
    messages.insert(std::string(message));
  }
  // Each reason reads differently to people too.
  EXPECT_EQ(messages.size(), std::size(kCodes));
}

TEST(RoleTest, Names) {
  EXPECT_EQ(RoleName(Role::kUser), "USER");
  EXPECT_EQ(RoleName(Role::kAdmin), "ADMIN");
  EXPECT_EQ(RoleName(Role::kService), "SERVICE");
  EXPECT_EQ(RoleName(Role::kUnspecified), "ROLE_UNSPECIFIED");
}

}  // namespace
}  // namespace tokens::sidecar
