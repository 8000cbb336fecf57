#include "services/token_service/domain/page_token.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/status/field_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNotOurs[] = "is not a page token from this list";

const std::vector<std::string> kKeys = {"1764351322123456", "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a"};

uint64_t Filters() { return PageToken::Fingerprint({"alice", "ACTIVE", "ci", ""}); }

void ExpectRejected(const absl::StatusOr<std::vector<std::string>>& got,
                    absl::string_view description = kNotOurs) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("page_token"));
  EXPECT_EQ(DescriptionOf(got.status()), description);
}

TEST(PageTokenTest, RoundTrips) {
  const std::string token = PageToken::Encode("tokens", Filters(), kKeys);
  absl::StatusOr<std::vector<std::string>> keys =
      PageToken::Decode("page_token", token, "tokens", Filters(), 2);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, kKeys);
}

TEST(PageTokenTest, RoundTripsOneKeyAndExtremeFingerprints) {
  for (uint64_t fingerprint : {uint64_t{0}, uint64_t{1}, std::numeric_limits<uint64_t>::max()}) {
    const std::string token = PageToken::Encode("users", fingerprint, {"bob.smith@example.com"});
    EXPECT_THAT(PageToken::Decode("page_token", token, "users", fingerprint, 1).value(),
                ElementsAre("bob.smith@example.com"))
        << fingerprint;
  }
}

TEST(PageTokenTest, NegativeNumbersSurvive) {
  const std::string token = PageToken::Encode("events", 7, {"-42"});
  EXPECT_THAT(PageToken::Decode("page_token", token, "events", 7, 1).value(), ElementsAre("-42"));
}

TEST(PageTokenTest, IsUrlSafeText) {
  const std::string token = PageToken::Encode("tokens", Filters(), kKeys);
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << token;
  }
}

TEST(PageTokenTest, UsesTheFieldNameItIsGiven) {
  absl::StatusOr<std::vector<std::string>> got =
      PageToken::Decode("cursor", "???", "tokens", Filters(), 2);
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("cursor"));
}

TEST(PageTokenTest, RejectsAnotherListsToken) {
  const std::string token = PageToken::Encode("events", Filters(), kKeys);
  ExpectRejected(PageToken::Decode("page_token", token, "tokens", Filters(), 2));
}

TEST(PageTokenTest, RejectsTokenIssuedForOtherFilters) {
  const std::string token = PageToken::Encode("tokens", Filters(), kKeys);
  const uint64_t other = PageToken::Fingerprint({"alice", "REVOKED", "ci", ""});
  absl::StatusOr<std::vector<std::string>> got =
      PageToken::Decode("page_token", token, "tokens", other, 2);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("page_token"));
  EXPECT_THAT(DescriptionOf(got.status()), HasSubstr("different filters"));
}

TEST(PageTokenTest, RejectsWrongNumberOfKeys) {
  const std::string token = PageToken::Encode("tokens", Filters(), kKeys);
  ExpectRejected(PageToken::Decode("page_token", token, "tokens", Filters(), 1));
  ExpectRejected(PageToken::Decode("page_token", token, "tokens", Filters(), 3));
}

TEST(PageTokenTest, RejectsGarbage) {
  const std::string wrapped_junk[] = {
      "tokens",                          // no fingerprint
      "tokens|",                         // empty fingerprint
      "tokens|zz|1|2",                   // fingerprint not hex
      "tokens|-1|1|2",                   // negative fingerprint
      "tokens|1ffffffffffffffff|1|2",    // fingerprint overflows 64 bits
      "|" + std::string("0") + "|1|2",   // no kind
      std::string("tokens\0|0|1|2", 13)  // NUL in the kind
  };
  for (const std::string& plain : wrapped_junk) {
    ExpectRejected(
        PageToken::Decode("page_token", absl::WebSafeBase64Escape(plain), "tokens", Filters(), 2));
  }
  for (const char* token : {"", "!!!!", "not a page token", "dG9rZW5z*", "\xff\xfe", "====", "a"}) {
    ExpectRejected(PageToken::Decode("page_token", token, "tokens", Filters(), 2));
  }
}

TEST(PageTokenTest, RejectsOverLongInput) {
  // Well-formed apart from its size, which alone must be enough to refuse it.
  const std::string token =
      PageToken::Encode("tokens", Filters(), {std::string(800, '1'), kKeys[1]});
  ASSERT_GT(token.size(), 1024u);
  ExpectRejected(PageToken::Decode("page_token", token, "tokens", Filters(), 2));
  ExpectRejected(
      PageToken::Decode("page_token", std::string(1 << 20, 'A'), "tokens", Filters(), 2));
}

TEST(FingerprintTest, IsStableAcrossProcesses) {
  // FNV-1a 64 with a 0xff byte after each part, pinned: page tokens handed
  // out by one replica must be accepted by another and after an upgrade.
  EXPECT_EQ(PageToken::Fingerprint({}), 14695981039346656037ull);
  EXPECT_EQ(PageToken::Fingerprint({"a"}), 620310408636712809ull);
  EXPECT_EQ(PageToken::Fingerprint({"alice", "ACTIVE", "ci", ""}), 14084997681871253549ull);
  EXPECT_EQ(Filters(), Filters());
}

TEST(FingerprintTest, IsSeparatorAndOrderSensitive) {
  EXPECT_NE(PageToken::Fingerprint({"ab", "c"}), PageToken::Fingerprint({"a", "bc"}));
  EXPECT_NE(PageToken::Fingerprint({"abc"}), PageToken::Fingerprint({"ab", "c"}));
  EXPECT_NE(PageToken::Fingerprint({"a", ""}), PageToken::Fingerprint({"a"}));
  EXPECT_NE(PageToken::Fingerprint({""}), PageToken::Fingerprint({}));
  EXPECT_NE(PageToken::Fingerprint({"", "a"}), PageToken::Fingerprint({"a", ""}));
  EXPECT_NE(PageToken::Fingerprint({"alice", "ACTIVE"}),
            PageToken::Fingerprint({"ACTIVE", "alice"}));
}

}  // namespace
}  // namespace tokens::service
