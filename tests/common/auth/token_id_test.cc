#include "common/auth/token_id.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

constexpr char kText[] = "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a";

// Fills with a fixed byte, so the minted id's bits are known.
class FixedRandom final : public RandomSource {
 public:
  explicit FixedRandom(uint8_t byte) : byte_(byte) {}
  void Fill(absl::Span<uint8_t> out) override { std::fill(out.begin(), out.end(), byte_); }

 private:
  uint8_t byte_;
};

TEST(TokenIdTest, RoundTripsCanonicalText) {
  std::optional<TokenId> id = TokenId::Parse(kText);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->bytes()[0], 0x0f);
  EXPECT_EQ(id->bytes()[15], 0x5a);
  EXPECT_EQ(id->ToString(), kText);
  char buffer[TokenId::kTextSize];
  id->Format(buffer);
  EXPECT_EQ(absl::string_view(buffer, sizeof(buffer)), kText);
}

TEST(TokenIdTest, ReadsUpperCaseAndWritesLowerCase) {
  std::optional<TokenId> id = TokenId::Parse("0F8C2E4A-1B3D-4C5E-8F9A-0B1C2D3E4F5A");
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->ToString(), kText);
  EXPECT_EQ(*id, *TokenId::Parse(kText));
}

TEST(TokenIdTest, RejectsAnythingElse) {
  for (absl::string_view bad : std::initializer_list<absl::string_view>{
           "",
           "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5",    // one short
           "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a0",  // one long
           "0f8c2e4a1b3d4c5e8f9a0b1c2d3e4f5a",       // no dashes
           "0f8c2e4a-1b3d-4c5e-8f9a0-b1c2d3e4f5a",   // a dash out of place
           "0f8c2e4a-1b3d-4c5e-8f9a_0b1c2d3e4f5a",   // not a dash
           "0f8c2e4-a1b3d-4c5e-8f9a-0b1c2d3e4f5a",   // a dash early
           "0g8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a",   // not hex
           "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5 ",   // a space
           "{0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5}",  // braces
           "urn:uuid:0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a",
           "0123abcd-4567-89ef-0a1b--c3d4e5f6a7b",  // a dash for a digit
           absl::string_view("0123abcd-4567-89ef-0a1b-2c3d4e5f6a7\0", 36),
           "0123abcd-4567-89ef-0a1b-2c3d4e5f6a\xc3\xa9",  // not ASCII
       }) {
    EXPECT_EQ(TokenId::Parse(bad), std::nullopt) << bad;
  }
}

TEST(TokenIdTest, RoundTripsEveryByteValue) {
  for (int start = 0; start < 256; start += 16) {
    std::array<uint8_t, 16> bytes;
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(start + i);
    const TokenId id(bytes);
    const std::string text = id.ToString();
    ASSERT_EQ(text.size(), TokenId::kTextSize);
    EXPECT_EQ(TokenId::Parse(text), id) << text;
  }
}

TEST(TokenIdTest, DefaultIsTheNilUuid) {
  EXPECT_EQ(TokenId().ToString(), "00000000-0000-0000-0000-000000000000");
}

TEST(TokenIdTest, RandomIsAVersion4Uuid) {
  FixedRandom ones(0xff);
  EXPECT_EQ(TokenId::Random(ones).ToString(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
  FixedRandom zeros(0x00);
  EXPECT_EQ(TokenId::Random(zeros).ToString(), "00000000-0000-4000-8000-000000000000");
}

TEST(TokenIdTest, ComparesAndHashesByValue) {
  const TokenId a = *TokenId::Parse(kText);
  const TokenId b = *TokenId::Parse("0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5b");
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_FALSE(b < a);
  EXPECT_EQ(absl::HashOf(a), absl::HashOf(*TokenId::Parse(kText)));
  EXPECT_NE(absl::HashOf(a), absl::HashOf(b));
  absl::flat_hash_set<TokenId> set{a, b, *TokenId::Parse(kText)};
  EXPECT_EQ(set.size(), 2u);
}

TEST(TokenIdTest, StaysSixteenTrivialBytes) {
  static_assert(sizeof(TokenId) == 16);
  static_assert(std::is_trivially_copyable_v<TokenId>);
  static_assert(std::is_trivially_destructible_v<TokenId>);
}

}  // namespace
}  // namespace tokens
