#include "common/auth/bearer.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

// Header values that carry a credential, and the credential.
const std::pair<std::string, std::string> kGood[] = {
    {"Bearer abc", "abc"},
    // The scheme is case-insensitive (RFC 7235).
    {"bearer abc", "abc"},
    {"BEARER abc", "abc"},
    {"bEaReR abc", "abc"},
    // One or more spaces after the scheme; trailing spaces are dropped.
    {"Bearer    abc", "abc"},
    {"Bearer abc   ", "abc"},
    {"Bearer   abc  ", "abc"},
    // token68 characters other than letters and digits.
    {"Bearer utk_AbC-._~+/=", "utk_AbC-._~+/="},
    {"Bearer x", "x"},
};

// Header values that must be refused.
const std::string kBad[] = {
    "",
    " ",
    "Bearer",
    "bearer",
    "Bearer ",
    "Bearer    ",
    "Bearerx",
    "Bearerabc",
    "Basic x",
    "Basic dXNlcjpwYXNz",
    "Token abc",
    "abc",
    // Leading space before the scheme.
    " Bearer abc",
    // Only spaces separate the scheme from the credential.
    "Bearer\tabc",
    "Bearer\nabc",
    // Tabs and other whitespace are not trimmed from the credential.
    "Bearer abc\t",
    "Bearer \tabc",
    "Bearer abc\r\n",
    // Two credentials.
    "Bearer abc def",
    // Control characters inside the credential.
    "Bearer ab\x01z",
    "Bearer ab\x7fz",
    std::string("Bearer ab\0c", 11),
    "Bearer abc\x1b",
};

TEST(ParseBearerTest, ExtractsTheCredential) {
  for (const auto& [header, credential] : kGood) {
    SCOPED_TRACE(absl::CEscape(header));
    std::optional<absl::string_view> got = ParseBearer(header);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(std::string(*got), credential);
  }
}

TEST(ParseBearerTest, RefusesEverythingElse) {
  for (const std::string& header : kBad) {
    EXPECT_FALSE(ParseBearer(header).has_value()) << absl::CEscape(header);
  }
}

// A credential is printable ASCII: UTF-8 text is refused, including encoded
// whitespace (U+00A0) and C1 controls (U+0085) that a byte-wise check for
// ASCII controls would miss.
TEST(ParseBearerTest, RefusesNonAsciiBytes) {
  for (const char* header : {
           "Bearer caf\xC3\xA9",
           "Bearer abc\xC2\xA0",
           "Bearer ab\xC2\x85z",
           "Bearer \xE2\x80\x8Bxyz",
           "Bearer abc\xFF",
           "Bearer \x80",
           "Be\xC3\xA1rer abc",
           "Bearer\xC2\xA0xyz",
       }) {
    EXPECT_FALSE(ParseBearer(header).has_value()) << absl::CEscape(header);
  }
}

TEST(ParseBearerTest, ResultPointsIntoTheHeader) {
  const std::string header = "Bearer  secret-value  ";
  std::optional<absl::string_view> got = ParseBearer(header);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->data(), header.data() + 8);
  EXPECT_EQ(got->size(), 12u);
}

}  // namespace
}  // namespace tokens
