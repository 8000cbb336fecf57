#include "services/token_service/domain/page_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kNotOurs[] = "is not a page token from this list";
constexpr char kKey[] = "0123456789abcdef0123456789abcdef";  // 32 bytes

const std::vector<std::string> kKeys = {"1764351322123456", "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a"};

uint64_t Filters() { return PageTokenCodec::Fingerprint({"alice", "ACTIVE", "ci", ""}); }

// `plain` sealed as the format in page_token.h says, written out here
// independently of the codec: base64url(plain || HMAC-SHA256(key,
// "tokens.page.v2" 0x00 plain)[0..16)).
std::string Sealed(absl::string_view plain, absl::string_view key = kKey) {
  const std::string message = absl::StrCat(absl::string_view("tokens.page.v2\0", 15), plain);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &size);
  return absl::WebSafeBase64Escape(
      absl::StrCat(plain, absl::string_view(reinterpret_cast<const char*>(mac), 16)));
}

class PageTokenTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::vector<std::string>> Decode(absl::string_view token,
                                                  absl::string_view kind = "tokens",
                                                  uint64_t fingerprint = Filters(),
                                                  size_t key_count = 2) const {
    return codec_.Decode("page_token", token, kind, fingerprint, key_count);
  }

  const PageTokenCodec codec_{kKey};
};

void ExpectRejected(const absl::StatusOr<std::vector<std::string>>& got,
                    absl::string_view description = kNotOurs) {
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("page_token"));
  EXPECT_EQ(DescriptionOf(got.status()), description);
}

TEST_F(PageTokenTest, RoundTrips) {
  const std::string token = codec_.Encode("tokens", Filters(), kKeys);
  absl::StatusOr<std::vector<std::string>> keys = Decode(token);
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, kKeys);
}

TEST_F(PageTokenTest, IsThePlainTextAndItsTagAsDocumented) {
  EXPECT_EQ(codec_.Encode("users", 0xabc, {"bob"}), Sealed("users|abc|bob"));
  EXPECT_THAT(Decode(Sealed("events|7|42"), "events", 7, 1).value(), ElementsAre("42"));
}

TEST_F(PageTokenTest, RoundTripsOneKeyAndExtremeFingerprints) {
  for (uint64_t fingerprint : {uint64_t{0}, uint64_t{1}, std::numeric_limits<uint64_t>::max()}) {
    const std::string token = codec_.Encode("users", fingerprint, {"bob.smith@example.com"});
    EXPECT_THAT(Decode(token, "users", fingerprint, 1).value(),
                ElementsAre("bob.smith@example.com"))
        << fingerprint;
  }
}

TEST_F(PageTokenTest, IsUrlSafeText) {
  const std::string token = codec_.Encode("tokens", Filters(), kKeys);
  for (char c : token) {
    EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << token;
  }
}

TEST_F(PageTokenTest, UsesTheFieldNameItIsGiven) {
  absl::StatusOr<std::vector<std::string>> got =
      codec_.Decode("cursor", "???", "tokens", Filters(), 2);
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("cursor"));
}

TEST_F(PageTokenTest, RejectsAnotherListsToken) {
  ExpectRejected(Decode(codec_.Encode("events", Filters(), kKeys)));
}

TEST_F(PageTokenTest, RejectsTokenIssuedForOtherFilters) {
  const std::string token = codec_.Encode("tokens", Filters(), kKeys);
  const uint64_t other = PageTokenCodec::Fingerprint({"alice", "REVOKED", "ci", ""});
  absl::StatusOr<std::vector<std::string>> got = Decode(token, "tokens", other);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(FieldOf(got.status()), std::optional<std::string>("page_token"));
  EXPECT_THAT(DescriptionOf(got.status()), HasSubstr("different filters"));
}

TEST_F(PageTokenTest, RejectsWrongNumberOfKeys) {
  const std::string token = codec_.Encode("tokens", Filters(), kKeys);
  ExpectRejected(Decode(token, "tokens", Filters(), 1));
  ExpectRejected(Decode(token, "tokens", Filters(), 3));
}

TEST_F(PageTokenTest, RejectsEveryChangedBitAndEveryOtherSpelling) {
  const std::string token = codec_.Encode("tokens", Filters(), kKeys);
  std::string bytes;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &bytes));
  for (size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string flipped = bytes;
    flipped[i / 8] = static_cast<char>(flipped[i / 8] ^ (1 << (i % 8)));
    ExpectRejected(Decode(absl::WebSafeBase64Escape(flipped)));
  }
  // Each character swapped for another, including ones base64 would read as
  // the same bytes (the unused low bits of the last one).
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (size_t i = 0; i < token.size(); ++i) {
    for (char c : alphabet) {
      if (c == token[i]) continue;
      std::string changed = token;
      changed[i] = c;
      ExpectRejected(Decode(changed));
    }
  }
  ExpectRejected(Decode(token + "="));
  ExpectRejected(Decode(token.substr(0, token.size() - 1)));
}

TEST_F(PageTokenTest, RejectsTokensSealedWithAnotherKeyOrNotAtAll) {
  const PageTokenCodec other(std::string(32, 'x'));
  ExpectRejected(Decode(other.Encode("tokens", Filters(), kKeys)));
  // The format before page tokens were sealed: the plain text alone.
  ExpectRejected(Decode(absl::WebSafeBase64Escape(
      absl::StrCat("tokens|", absl::Hex(Filters()), "|9223372036854775807|", kKeys[1]))));
}

TEST_F(PageTokenTest, CodecsWithOneKeyReadEachOthersTokens) {
  // Two replicas given the same --page_token_key.
  const PageTokenCodec replica(kKey);
  EXPECT_EQ(Decode(replica.Encode("tokens", Filters(), kKeys)).value(), kKeys);
}

TEST(PageTokenProcessKeyTest, CodecsWithoutAKeyShareTheProcessKey) {
  const PageTokenCodec a;
  const PageTokenCodec b;
  const std::string token = a.Encode("users", 1, {"bob"});
  EXPECT_THAT(b.Decode("page_token", token, "users", 1, 1).value(), ElementsAre("bob"));
  // ... which is not a fixed one.
  EXPECT_FALSE(PageTokenCodec(kKey).Decode("page_token", token, "users", 1, 1).ok());
}

TEST_F(PageTokenTest, RejectsSealedGarbage) {
  // Sealed with the right key, as only a leaked key would allow: the
  // structure is still checked.
  const std::string wrapped_junk[] = {
      "tokens",                          // no fingerprint
      "tokens|",                         // empty fingerprint
      "tokens|zz|1|2",                   // fingerprint not hex
      "tokens|-1|1|2",                   // negative fingerprint
      "tokens|1ffffffffffffffff|1|2",    // fingerprint overflows 64 bits
      "|" + std::string("0") + "|1|2",   // no kind
      std::string("tokens\0|0|1|2", 13)  // NUL in the kind
  };
  for (const std::string& plain : wrapped_junk) ExpectRejected(Decode(Sealed(plain)));
  for (const char* token : {"", "!!!!", "not a page token", "dG9rZW5z*", "\xff\xfe", "====", "a"}) {
    ExpectRejected(Decode(token));
  }
}

TEST_F(PageTokenTest, RejectsOverLongInput) {
  // Well-formed apart from its size, which alone must be enough to refuse it.
  const std::string token = codec_.Encode("tokens", Filters(), {std::string(800, '1'), kKeys[1]});
  ASSERT_GT(token.size(), 1024u);
  ExpectRejected(Decode(token));
  ExpectRejected(Decode(std::string(1 << 20, 'A')));
}

TEST(ReadPageKeyTest, TimesAreMicrosecondsFrom1970ToTheYear9999) {
  EXPECT_EQ(ReadPageKeyTime("page_token", "1764351322123456").value(),
            absl::FromUnixMicros(1764351322123456));
  EXPECT_EQ(ReadPageKeyTime("page_token", "0").value(), absl::UnixEpoch());
  EXPECT_TRUE(ReadPageKeyTime("page_token", "253402300799000000").ok());  // 9999-12-31 23:59:59
  for (const std::string& key :
       {std::string("-1"), std::string("253402300800000000"),
        absl::StrCat(std::numeric_limits<int64_t>::max()),
        absl::StrCat(std::numeric_limits<int64_t>::min()), std::string("99999999999999999999"),
        std::string(""), std::string("1e9"), std::string("0x10")}) {
    ExpectRejected(ReadPageKeyTime("page_token", key).status(), kNotOurs);
  }
}

TEST(ReadPageKeyTest, RowIdsArePositive) {
  EXPECT_EQ(ReadPageKeyRowId("page_token", "1").value(), 1);
  EXPECT_EQ(ReadPageKeyRowId("page_token", "9223372036854775807").value(),
            std::numeric_limits<int64_t>::max());
  for (const char* key : {"0", "-1", "9223372036854775808", "", "one"}) {
    ExpectRejected(ReadPageKeyRowId("page_token", key).status(), kNotOurs);
  }
}

TEST(FingerprintTest, IsStableAcrossProcesses) {
  // FNV-1a 64 with a 0xff byte after each part, pinned: page tokens handed
  // out by one replica must be accepted by another with the same key, and
  // after an upgrade.
  EXPECT_EQ(PageTokenCodec::Fingerprint({}), 14695981039346656037ull);
  EXPECT_EQ(PageTokenCodec::Fingerprint({"a"}), 620310408636712809ull);
  EXPECT_EQ(PageTokenCodec::Fingerprint({"alice", "ACTIVE", "ci", ""}), 14084997681871253549ull);
  EXPECT_EQ(Filters(), Filters());
}

TEST(FingerprintTest, IsSeparatorAndOrderSensitive) {
  EXPECT_NE(PageTokenCodec::Fingerprint({"ab", "c"}), PageTokenCodec::Fingerprint({"a", "bc"}));
  EXPECT_NE(PageTokenCodec::Fingerprint({"abc"}), PageTokenCodec::Fingerprint({"ab", "c"}));
  EXPECT_NE(PageTokenCodec::Fingerprint({"a", ""}), PageTokenCodec::Fingerprint({"a"}));
  EXPECT_NE(PageTokenCodec::Fingerprint({""}), PageTokenCodec::Fingerprint({}));
  EXPECT_NE(PageTokenCodec::Fingerprint({"", "a"}), PageTokenCodec::Fingerprint({"a", ""}));
  EXPECT_NE(PageTokenCodec::Fingerprint({"alice", "ACTIVE"}),
            PageTokenCodec::Fingerprint({"ACTIVE", "alice"}));
}

}  // namespace
}  // namespace tokens::service
