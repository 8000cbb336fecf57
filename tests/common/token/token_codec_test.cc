#include "common/token/token_codec.h"

#include <zlib.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/token/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/seeded_random.h"

namespace tokens {
namespace {

using test_support::SeededRandom;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::string_view kAlphabet =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Pinned known answers. They were computed outside the C++ code (Python's
// zlib.crc32 + base62) and must never change: they define the wire format.
// SequenceRandom(0): bytes 0..32 -> random part "0123...UVW".
constexpr absl::string_view kCountingToken = "utk_0123456789ABCDEFGHIJKLMNOPQRSTUVW3ffP4c";
// SequenceRandom(230): bytes 230..247 are used, 248..255 rejected, then
// 0..14 are used.
constexpr absl::string_view kRejectingToken = "utk_ijklmnopqrstuvwxyz0123456789ABCDE2NiR4T";

// Yields start, start+1, ... (mod 256) as one continuous stream across
// calls, and records how much was asked for.
class SequenceRandom final : public RandomSource {
 public:
  explicit SequenceRandom(uint8_t start) : next_(start) {}
  void Fill(absl::Span<uint8_t> out) override {
    ++calls_;
    for (uint8_t& b : out) b = next_++;
    bytes_ += out.size();
  }
  size_t bytes() const { return bytes_; }
  size_t calls() const { return calls_; }

 private:
  uint8_t next_;
  size_t bytes_ = 0;
  size_t calls_ = 0;
};

// Yields exactly the given bytes; running out is a test failure.
class FixedBytesRandom final : public RandomSource {
 public:
  explicit FixedBytesRandom(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  void Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& b : out) {
      if (pos_ >= bytes_.size()) {
        ADD_FAILURE() << "FixedBytesRandom exhausted";
        b = 0;
        continue;
      }
      b = bytes_[pos_++];
    }
  }
  bool exhausted() const { return pos_ == bytes_.size(); }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

// The checksum suffix, computed independently of the codec: zlib crc32 of
// the random part, as six base62 digits, most significant first.
std::string IndependentChecksum(absl::string_view random_part) {
  uint64_t v = crc32(0L, reinterpret_cast<const Bytef*>(random_part.data()),
                     static_cast<uInt>(random_part.size()));
  std::string digits(6, '0');
  for (int i = 5; i >= 0; --i) {
    digits[static_cast<size_t>(i)] = kAlphabet[v % 62];
    v /= 62;
  }
  EXPECT_EQ(v, 0u);
  return digits;
}

std::string Base62Fixed6(uint64_t v) {
  std::string digits(6, '0');
  for (int i = 5; i >= 0; --i) {
    digits[static_cast<size_t>(i)] = kAlphabet[v % 62];
    v /= 62;
  }
  return digits;
}

bool InAlphabet(char c) { return kAlphabet.find(c) != absl::string_view::npos; }

// A handful of valid tokens from different sources, for the exhaustive
// mutation tests.
std::vector<std::string> SampleTokens(const TokenCodec& codec) {
  std::vector<std::string> out;
  SequenceRandom counting(0);
  out.push_back(codec.Generate(counting));
  SequenceRandom rejecting(230);
  out.push_back(codec.Generate(rejecting));
  SeededRandom seeded(12345);
  for (int i = 0; i < 3; ++i) out.push_back(codec.Generate(seeded));
  SystemRandom system;
  out.push_back(codec.Generate(system));
  return out;
}

const std::regex& UtkRegex() {
  static const std::regex* re = new std::regex("^utk_[0-9A-Za-z]{39}$");
  return *re;
}

// ---------------------------------------------------------------------------
// Names, prefixes, construction.

TEST(TokenFormatErrorNameTest, AllValues) {
  EXPECT_EQ(TokenFormatErrorName(TokenFormatError::kOk), "ok");
  EXPECT_EQ(TokenFormatErrorName(TokenFormatError::kBadPrefix), "bad_prefix");
  EXPECT_EQ(TokenFormatErrorName(TokenFormatError::kBadLength), "bad_length");
  EXPECT_EQ(TokenFormatErrorName(TokenFormatError::kBadAlphabet), "bad_alphabet");
  EXPECT_EQ(TokenFormatErrorName(TokenFormatError::kBadChecksum), "bad_checksum");
}

TEST(TokenCodecTest, IsValidPrefixTable) {
  struct Case {
    std::string prefix;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"utk", true},
      {"a", true},
      {"acme", true},
      {"a1", true},
      {"z9z9", true},
      {"abcdefghijklmnop", true},    // 16 characters: the maximum
      {"abcdefghijklmnopq", false},  // 17
      {"", false},
      {"1abc", false},
      {"9", false},
      {"Utk", false},
      {"uTk", false},
      {"UTK", false},
      {"_utk", false},
      {"utk_", false},
      {"ut_k", false},
      {"ut-k", false},
      {"ut.k", false},
      {" utk", false},
      {"utk ", false},
      {"utk\n", false},
      {std::string("ut\0k", 4), false},
      {std::string("utk\0", 4), false},
      {"\xC3\xA9", false},  // "é"
      {"ut\xFFk", false},
      {"{", false},  // just past 'z'
      {"`", false},  // just before 'a'
      {"a/", false},
      {"a:", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(TokenCodec::IsValidPrefix(c.prefix), c.valid)
        << "prefix \"" << absl::CEscape(c.prefix) << "\"";
  }
}

TEST(TokenCodecTest, DefaultPrefixIsUtk) {
  EXPECT_EQ(TokenCodec().prefix(), "utk");
  EXPECT_EQ(TokenCodec("acme").prefix(), "acme");
}

TEST(TokenCodecDeathTest, InvalidPrefixAborts) {
  EXPECT_DEATH(TokenCodec("Utk"), "invalid token prefix");
  EXPECT_DEATH(TokenCodec(""), "invalid token prefix");
  EXPECT_DEATH(TokenCodec("utk_"), "invalid token prefix");
}

// ---------------------------------------------------------------------------
// Generation.

TEST(TokenCodecTest, KnownAnswerCountingBytes) {
  TokenCodec codec;
  SequenceRandom random(0);
  const std::string token = codec.Generate(random);
  EXPECT_EQ(token, kCountingToken);
  // No byte is rejected, so exactly 33 bytes are consumed in one request.
  EXPECT_EQ(random.bytes(), TokenCodec::kRandomChars);
  EXPECT_EQ(random.calls(), 1u);

  const absl::string_view random_part = absl::string_view(token).substr(4, 33);
  EXPECT_EQ(random_part, "0123456789ABCDEFGHIJKLMNOPQRSTUVW");
  EXPECT_EQ(absl::string_view(token).substr(37), IndependentChecksum(random_part));
  EXPECT_EQ(codec.Validate(token), TokenFormatError::kOk);
}

TEST(TokenCodecTest, KnownAnswerWithRejectedBytes) {
  TokenCodec codec;
  SequenceRandom random(230);
  const std::string token = codec.Generate(random);
  EXPECT_EQ(token, kRejectingToken);
  // 230..255 (26 bytes, 8 of them rejected) in the first request of 33 bytes
  // (230..255, 0..6), then 8 more bytes (7..14) to replace the rejected ones.
  EXPECT_EQ(random.bytes(), TokenCodec::kRandomChars + 8);
  EXPECT_EQ(random.calls(), 2u);

  std::string expected_random;
  for (int b = 230; b < 248; ++b) expected_random.push_back(kAlphabet[b % 62]);
  for (int b = 0; b <= 14; ++b) expected_random.push_back(kAlphabet[b % 62]);
  const absl::string_view random_part = absl::string_view(token).substr(4, 33);
  EXPECT_EQ(random_part, expected_random);
  EXPECT_EQ(absl::string_view(token).substr(37), IndependentChecksum(random_part));
  EXPECT_EQ(codec.Validate(token), TokenFormatError::kOk);
}

TEST(TokenCodecTest, EveryByteAtOrAbove248IsRejected) {
  // Every rejectable value, each followed by one accepted byte 61 ('z') or
  // 247 (247 % 62 == 61, also 'z'): only the accepted bytes may show up.
  std::vector<uint8_t> bytes;
  for (int i = 0; i < 33; ++i) {
    bytes.push_back(static_cast<uint8_t>(248 + i % 8));
    bytes.push_back(i % 2 == 0 ? 61 : 247);
  }
  FixedBytesRandom random(bytes);
  TokenCodec codec;
  const std::string token = codec.Generate(random);
  EXPECT_TRUE(random.exhausted());
  EXPECT_EQ(absl::string_view(token).substr(4, 33), std::string(33, 'z'));
  EXPECT_EQ(codec.Validate(token), TokenFormatError::kOk);
}

TEST(TokenCodecTest, ByteToCharacterMapping) {
  // Each accepted byte b becomes alphabet[b % 62]; 0, 61, 62, 123, 124, 185,
  // 186, 247 are the wrap-around edges.
  TokenCodec codec;
  std::vector<uint8_t> bytes = {0, 61, 62, 123, 124, 185, 186, 247};
  bytes.resize(33, 10);  // 'A'
  FixedBytesRandom random(bytes);
  const std::string token = codec.Generate(random);
  EXPECT_EQ(absl::string_view(token).substr(4, 33), "0z0z0z0z" + std::string(25, 'A'));
}

TEST(TokenCodecTest, ConsecutiveTokensFromOneStreamAreReproducible) {
  // Generate asks only for the bytes it still needs, so the second token from
  // a stream starts exactly where the first one stopped.
  TokenCodec codec;
  SequenceRandom stream(0);
  EXPECT_EQ(codec.Generate(stream), kCountingToken);
  const std::string second = codec.Generate(stream);
  SequenceRandom fresh(33);
  EXPECT_EQ(second, codec.Generate(fresh));
  EXPECT_EQ(stream.bytes(), 66u);
}

TEST(TokenCodecTest, GeneratedTokensMatchFormat) {
  TokenCodec codec;
  SeededRandom random(42);
  for (int i = 0; i < 2000; ++i) {
    const std::string token = codec.Generate(random);
    ASSERT_EQ(token.size(), 43u) << token;
    ASSERT_TRUE(std::regex_match(token, UtkRegex())) << token;
    ASSERT_EQ(codec.Validate(token), TokenFormatError::kOk) << token;
    ASSERT_EQ(absl::string_view(token).substr(37),
              IndependentChecksum(absl::string_view(token).substr(4, 33)));
  }
}

TEST(TokenCodecTest, CharactersAreRoughlyUniform) {
  // Deterministic (seeded) sanity check of the rejection sampling: a biased
  // mapping such as plain `b % 62` over all 256 values would put ~33% more
  // weight on the first 8 characters.
  TokenCodec codec;
  SeededRandom random(7);
  std::map<char, int> counts;
  constexpr int kTokens = 6000;
  for (int i = 0; i < kTokens; ++i) {
    const std::string token = codec.Generate(random);
    for (char c : absl::string_view(token).substr(4, 33)) ++counts[c];
  }
  ASSERT_EQ(counts.size(), 62u);
  const double expected = kTokens * 33.0 / 62.0;  // ~3194, sigma ~56
  for (const auto& [c, n] : counts) {
    EXPECT_GT(n, expected * 0.9) << c;
    EXPECT_LT(n, expected * 1.1) << c;
  }
}

TEST(TokenCodecTest, SystemRandomTokensAreValidAndUnique) {
  TokenCodec codec;
  SystemRandom random;
  std::set<std::string> seen;
  constexpr int kTokens = 5000;
  for (int i = 0; i < kTokens; ++i) {
    std::string token = codec.Generate(random);
    ASSERT_EQ(token.size(), 43u);
    ASSERT_TRUE(std::regex_match(token, UtkRegex())) << token;
    ASSERT_EQ(codec.Validate(token), TokenFormatError::kOk) << token;
    seen.insert(std::move(token));
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kTokens));
}

TEST(SystemRandomTest, FillsLargeAndEmptyBuffers) {
  SystemRandom random;
  random.Fill(absl::Span<uint8_t>());  // must not block or crash

  // Large enough that getrandom may return short reads.
  std::vector<uint8_t> a(1 << 20, 0), b(1 << 20, 0);
  random.Fill(absl::MakeSpan(a));
  random.Fill(absl::MakeSpan(b));
  EXPECT_NE(a, b);
  // The tail was written too (a short read not looped over would leave
  // zeros): 4 KiB of zeros from a CSPRNG is not going to happen.
  EXPECT_NE(std::vector<uint8_t>(a.end() - 4096, a.end()), std::vector<uint8_t>(4096, 0));
  std::array<int, 256> histogram{};
  for (uint8_t x : a) ++histogram[x];
  for (int n : histogram) EXPECT_GT(n, 3000);  // expected 4096 each
}

// ---------------------------------------------------------------------------
// Validation.

TEST(TokenCodecTest, ValidatesIndependentlyBuiltTokens) {
  TokenCodec codec;
  for (std::string random_part : {std::string(33, '0'), std::string(33, 'z'), std::string(33, 'A'),
                                  std::string("0123456789ABCDEFGHIJKLMNOPQRSTUVW"),
                                  std::string("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ")}) {
    const std::string token = "utk_" + random_part + IndependentChecksum(random_part);
    EXPECT_EQ(codec.Validate(token), TokenFormatError::kOk) << token;
  }
}

TEST(TokenCodecTest, EverySingleCharacterSubstitutionIsABadChecksum) {
  // CRC32 detects every error confined to 32 bits, and a change to the
  // checksum digits changes the stated value, so no single base62
  // substitution anywhere in the body can yield another valid token.
  TokenCodec codec;
  int checked = 0;
  for (const std::string& token : SampleTokens(codec)) {
    ASSERT_EQ(codec.Validate(token), TokenFormatError::kOk) << token;
    for (size_t pos = 4; pos < token.size(); ++pos) {
      for (char c : kAlphabet) {
        if (c == token[pos]) continue;
        std::string mutated = token;
        mutated[pos] = c;
        EXPECT_EQ(codec.Validate(mutated), TokenFormatError::kBadChecksum)
            << "token " << token << " pos " << pos << " char " << c;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 6 * 39 * 61);
}

TEST(TokenCodecTest, EveryNonAlphabetByteInTheBodyIsABadAlphabet) {
  TokenCodec codec;
  for (const std::string& token : SampleTokens(codec)) {
    for (size_t pos = 4; pos < token.size(); ++pos) {
      for (int v = 0; v < 256; ++v) {
        const char c = static_cast<char>(v);
        if (InAlphabet(c)) continue;
        std::string mutated = token;
        mutated[pos] = c;
        EXPECT_EQ(codec.Validate(mutated), TokenFormatError::kBadAlphabet)
            << "token " << token << " pos " << pos << " byte " << v;
      }
    }
  }
}

TEST(TokenCodecTest, EveryPrefixChangeIsABadPrefix) {
  TokenCodec codec;
  for (const std::string& token : SampleTokens(codec)) {
    for (size_t pos = 0; pos < 4; ++pos) {  // "utk_", separator included
      for (int v = 0; v < 256; ++v) {
        const char c = static_cast<char>(v);
        if (c == token[pos]) continue;
        std::string mutated = token;
        mutated[pos] = c;
        EXPECT_EQ(codec.Validate(mutated), TokenFormatError::kBadPrefix)
            << "token " << token << " pos " << pos << " byte " << v;
      }
    }
  }
}

TEST(TokenCodecTest, DeletingOrAddingACharacterIsABadLength) {
  TokenCodec codec;
  for (const std::string& token : SampleTokens(codec)) {
    for (size_t pos = 4; pos < token.size(); ++pos) {
      std::string deleted = token;
      deleted.erase(pos, 1);
      EXPECT_EQ(codec.Validate(deleted), TokenFormatError::kBadLength)
          << "token " << token << " delete at " << pos;
    }
    for (size_t pos = 4; pos <= token.size(); ++pos) {
      for (char c : {'0', 'a', 'Z', '_', '\0'}) {
        std::string added = token;
        added.insert(pos, 1, c);
        EXPECT_EQ(codec.Validate(added), TokenFormatError::kBadLength)
            << "token " << token << " insert at " << pos;
      }
    }
  }
}

TEST(TokenCodecTest, ChecksumAboveUint32IsRejectedNotWrapped) {
  TokenCodec codec;
  const std::string random_part(kCountingToken.substr(4, 33));
  const uint64_t crc = crc32(0L, reinterpret_cast<const Bytef*>(random_part.data()),
                             static_cast<uInt>(random_part.size()));
  ASSERT_EQ("utk_" + random_part + Base62Fixed6(crc), kCountingToken);

  // Same low 32 bits as the real CRC: a decoder that wraps would accept it.
  EXPECT_EQ(codec.Validate("utk_" + random_part + Base62Fixed6(crc + (uint64_t{1} << 32))),
            TokenFormatError::kBadChecksum);
  EXPECT_EQ(codec.Validate("utk_" + random_part + Base62Fixed6(crc + (uint64_t{5} << 32))),
            TokenFormatError::kBadChecksum);
  EXPECT_EQ(codec.Validate("utk_" + random_part + "zzzzzz"), TokenFormatError::kBadChecksum);
  EXPECT_EQ(codec.Validate("utk_" + random_part + Base62Fixed6(uint64_t{0xFFFFFFFF} + 1)),
            TokenFormatError::kBadChecksum);
}

TEST(TokenCodecTest, MalformedInputs) {
  TokenCodec codec;
  const std::string tok(kCountingToken);
  const std::string body = tok.substr(4);
  struct Case {
    std::string input;
    TokenFormatError want;
  };
  const std::vector<Case> cases = {
      {"", TokenFormatError::kBadPrefix},
      {"u", TokenFormatError::kBadPrefix},
      {"utk", TokenFormatError::kBadPrefix},
      {"utk_", TokenFormatError::kBadLength},
      {"_", TokenFormatError::kBadPrefix},
      {body, TokenFormatError::kBadPrefix},
      {"utk" + body, TokenFormatError::kBadPrefix},
      {"utk-" + body, TokenFormatError::kBadPrefix},
      {"UTK_" + body, TokenFormatError::kBadPrefix},
      {"utkx_" + body, TokenFormatError::kBadPrefix},
      {"ut_" + body, TokenFormatError::kBadPrefix},
      {"Bearer " + tok, TokenFormatError::kBadPrefix},
      {"Bearer utk_", TokenFormatError::kBadPrefix},
      {" " + tok, TokenFormatError::kBadPrefix},
      {tok + " ", TokenFormatError::kBadLength},
      {tok + "\n", TokenFormatError::kBadLength},
      {tok + tok, TokenFormatError::kBadLength},
      {"utk__" + body, TokenFormatError::kBadLength},
      {"utk__" + body.substr(1), TokenFormatError::kBadAlphabet},
      {"utk_" + body.substr(0, 38), TokenFormatError::kBadLength},
      {"utk_" + body + "0", TokenFormatError::kBadLength},
      {"utk_" + std::string(39, '-'), TokenFormatError::kBadAlphabet},
      {"utk_" + std::string(39, ' '), TokenFormatError::kBadAlphabet},
      {"utk_" + std::string(39, '0'), TokenFormatError::kBadChecksum},
      {"utk_" + std::string(39, 'z'), TokenFormatError::kBadChecksum},
      // A multi-byte UTF-8 character in place of two body characters.
      {"utk_" + body.substr(0, 10) + "\xC3\xA9" + body.substr(12), TokenFormatError::kBadAlphabet},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(codec.Validate(c.input), c.want) << "input \"" << absl::CEscape(c.input) << "\" got "
                                               << TokenFormatErrorName(codec.Validate(c.input));
  }
}

TEST(TokenCodecTest, EmbeddedNulBytes) {
  TokenCodec codec;
  const std::string tok(kCountingToken);
  std::string nul_in_body = tok;
  nul_in_body[20] = '\0';
  EXPECT_EQ(codec.Validate(nul_in_body), TokenFormatError::kBadAlphabet);

  std::string trailing_nul = tok;
  trailing_nul.push_back('\0');
  EXPECT_EQ(codec.Validate(trailing_nul), TokenFormatError::kBadLength);

  std::string nul_separator = tok;
  nul_separator[3] = '\0';
  EXPECT_EQ(codec.Validate(nul_separator), TokenFormatError::kBadPrefix);

  EXPECT_EQ(codec.Validate(std::string(1, '\0')), TokenFormatError::kBadPrefix);
  EXPECT_EQ(codec.Validate(std::string(43, '\0')), TokenFormatError::kBadPrefix);
  EXPECT_EQ(codec.Validate(std::string("utk_\0", 5)), TokenFormatError::kBadLength);
  EXPECT_EQ(codec.Validate("utk_" + std::string(39, '\0')), TokenFormatError::kBadAlphabet);

  // A view that stops right before the separator must not read past its
  // end (the byte after it is '_').
  EXPECT_EQ(codec.Validate(absl::string_view(tok).substr(0, 3)), TokenFormatError::kBadPrefix);
}

TEST(TokenCodecTest, HugeInputs) {
  TokenCodec codec;
  const std::string mb(1 << 20, 'a');
  EXPECT_EQ(codec.Validate(mb), TokenFormatError::kBadPrefix);
  EXPECT_EQ(codec.Validate("utk_" + mb), TokenFormatError::kBadLength);
  EXPECT_EQ(codec.Validate(std::string(1 << 20, '\0')), TokenFormatError::kBadPrefix);
  EXPECT_EQ(codec.Validate("utk_" + std::string(1 << 20, '\xFF')), TokenFormatError::kBadLength);
  EXPECT_EQ(codec.Validate(std::string(kCountingToken) + mb), TokenFormatError::kBadLength);
}

TEST(TokenCodecTest, ArbitraryBinaryInputNeverValidates) {
  // Random binary strings of every length around the valid one, with and
  // without a correct prefix: the point is that nothing crashes (run under
  // ASan/UBSan in CI) and nothing is accepted.
  TokenCodec codec;
  std::mt19937 engine(99);
  for (int i = 0; i < 20000; ++i) {
    const size_t len = engine() % 60;
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(engine() & 0xFF);
    if (i % 2 == 0 && len >= 4) s.replace(0, 4, "utk_");
    EXPECT_NE(codec.Validate(s), TokenFormatError::kOk) << absl::CEscape(s);
  }
}

TEST(TokenCodecTest, CustomPrefix) {
  TokenCodec acme("acme");
  TokenCodec utk;
  SeededRandom random(3);
  const std::regex acme_re("^acme_[0-9A-Za-z]{39}$");
  for (int i = 0; i < 200; ++i) {
    const std::string a = acme.Generate(random);
    ASSERT_EQ(a.size(), 44u);
    ASSERT_TRUE(std::regex_match(a, acme_re)) << a;
    ASSERT_EQ(acme.Validate(a), TokenFormatError::kOk) << a;
    ASSERT_EQ(utk.Validate(a), TokenFormatError::kBadPrefix) << a;
    const std::string u = utk.Generate(random);
    ASSERT_EQ(acme.Validate(u), TokenFormatError::kBadPrefix) << u;
  }
  // Same body, only the prefix differs: the checksum does not cover the
  // prefix, so the body alone is valid under either codec.
  const std::string body(kCountingToken.substr(4));
  EXPECT_EQ(acme.Validate("acme_" + body), TokenFormatError::kOk);

  // A codec prefix that is itself a prefix of another must not match it.
  TokenCodec ut("ut");
  EXPECT_EQ(ut.Validate(kCountingToken), TokenFormatError::kBadPrefix);
  EXPECT_EQ(ut.Validate("ut_" + body), TokenFormatError::kOk);
  EXPECT_EQ(utk.Validate("ut_" + body), TokenFormatError::kBadPrefix);
  EXPECT_EQ(utk.Validate("utkk_" + body), TokenFormatError::kBadPrefix);

  // Longest allowed prefix.
  TokenCodec longest("abcdefghijklmnop");
  const std::string l = longest.Generate(random);
  EXPECT_EQ(l.size(), 16u + 1 + 39);
  EXPECT_EQ(longest.Validate(l), TokenFormatError::kOk);
}

// ---------------------------------------------------------------------------
// Hash, hint, scanner regex.

std::string Hex(const TokenHash& h) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

TEST(TokenCodecTest, HashKnownAnswers) {
  EXPECT_EQ(Hex(TokenCodec::Hash("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(TokenCodec::Hash("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(TokenCodec::Hash(absl::string_view())),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(TokenCodecTest, HashCoversEveryByte) {
  const std::string tok(kCountingToken);
  std::string other = tok;
  other[20] = 'x';
  EXPECT_NE(TokenCodec::Hash(tok), TokenCodec::Hash(other));
  // Embedded NULs are hashed, not treated as terminators.
  const std::string with_nul("abc\0def", 7);
  EXPECT_NE(TokenCodec::Hash(with_nul), TokenCodec::Hash("abc"));
  EXPECT_EQ(TokenCodec::Hash(tok), TokenCodec::Hash(std::string(tok)));
}

TEST(TokenCodecTest, HashGivesTheSameAnswerOnEveryThread) {
  // Each thread hashes with its own reused context.
  const std::string abc = Hex(TokenCodec::Hash("abc"));
  const std::string counting = Hex(TokenCodec::Hash(kCountingToken));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        const bool right = i % 2 == 0 ? Hex(TokenCodec::Hash("abc")) == abc
                                      : Hex(TokenCodec::Hash(kCountingToken)) == counting;
        if (!right) ++wrong;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(TokenCodecTest, HintKnownAnswer) {
  TokenCodec codec;
  const std::string hint = codec.Hint(kCountingToken);
  // (Literals split after the escapes: "\xA6f" would be one hex escape.)
  EXPECT_EQ(hint,
            "utk_0123\xE2\x80\xA6"
            "fP4c");
  EXPECT_EQ(hint,
            "utk_0123\u2026"
            "fP4c");
  EXPECT_THAT(hint, HasSubstr("\xE2\x80\xA6"));
  EXPECT_EQ(hint.size(), 4u + 4 + 3 + 4);
  // Nothing between the head and the tail leaks.
  const absl::string_view middle = kCountingToken.substr(8, 31);
  EXPECT_THAT(hint, Not(HasSubstr(std::string(middle))));
  for (size_t i = 8; i + 4 <= 39; ++i) {
    EXPECT_THAT(hint, Not(HasSubstr(std::string(kCountingToken.substr(i, 4))))) << i;
  }

  EXPECT_EQ(codec.Hint(kRejectingToken),
            "utk_ijkl\xE2\x80\xA6"
            "iR4T");
}

TEST(TokenCodecTest, HintOfGeneratedTokens) {
  TokenCodec acme("acme");
  SeededRandom random(5);
  for (int i = 0; i < 100; ++i) {
    const std::string t = acme.Generate(random);
    EXPECT_EQ(acme.Hint(t), "acme_" + t.substr(5, 4) + "\xE2\x80\xA6" + t.substr(t.size() - 4));
  }
}

TEST(TokenCodecTest, HintOfInvalidTokenRevealsNothing) {
  TokenCodec codec;
  std::string bad(kCountingToken);
  bad[20] = bad[20] == 'a' ? 'b' : 'a';  // checksum no longer matches
  for (const std::string& input :
       {bad, std::string(), std::string("utk_"), std::string("utk_secret"),
        std::string("Bearer ") + std::string(kCountingToken)}) {
    EXPECT_EQ(codec.Hint(input), "utk_\xE2\x80\xA6") << absl::CEscape(input);
  }
}

TEST(TokenCodecTest, ScannerRegex) {
  EXPECT_EQ(TokenCodec().ScannerRegex(), "utk_[0-9A-Za-z]{39}");
  EXPECT_EQ(TokenCodec("acme").ScannerRegex(), "acme_[0-9A-Za-z]{39}");

  const std::regex re(TokenCodec().ScannerRegex());
  const std::string text = "Authorization: Bearer " + std::string(kCountingToken) + "\r\n";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text, m, re));
  EXPECT_EQ(m.str(), kCountingToken);

  TokenCodec codec;
  SeededRandom random(11);
  for (int i = 0; i < 200; ++i) {
    EXPECT_TRUE(std::regex_match(codec.Generate(random), re));
  }
  EXPECT_FALSE(std::regex_match("utk_" + std::string(38, 'a'), re));
  EXPECT_FALSE(std::regex_match("utk_" + std::string(40, 'a'), re));
}

}  // namespace
}  // namespace tokens
