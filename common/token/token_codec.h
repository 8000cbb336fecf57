#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/token/random.h"

namespace tokens {

// SHA-256 of a token's full text: the only form in which a token is stored
// or cached.
using TokenHash = std::array<uint8_t, 32>;

// Why a presented token was rejected before any lookup.
enum class TokenFormatError {
  kOk,
  kBadPrefix,    // does not start with "<prefix>_"
  kBadLength,    // wrong number of characters after the prefix
  kBadAlphabet,  // a character outside [0-9A-Za-z] after the prefix
  kBadChecksum,  // the CRC32 suffix does not match the random part
};

// Short, stable, lower-case name of a format error ("bad_checksum"...), safe
// to log: it never contains any part of the token.
absl::string_view TokenFormatErrorName(TokenFormatError e);

// Token format: <prefix>_<random><checksum>
//   random:   kRandomChars base62 characters, drawn uniformly from the CSPRNG
//             (33 characters, log2(62^33) > 196 bits);
//   checksum: CRC32 (zlib / IEEE) of the random part's ASCII text, written as
//             a kChecksumChars (6) character base62 number, most significant
//             digit first, zero-padded;
//   base62 alphabet: 0-9, A-Z, a-z (digit value = index in that string).
// For prefix "utk" the whole token matches  utk_[0-9A-Za-z]{39}
class TokenCodec {
 public:
  static constexpr size_t kRandomChars = 33;
  static constexpr size_t kChecksumChars = 6;
  static constexpr size_t kBodyChars = kRandomChars + kChecksumChars;
  // Characters of the random part shown at the start of a hint.
  static constexpr size_t kHintHeadChars = 4;
  // Characters of the token's end shown at the end of a hint.
  static constexpr size_t kHintTailChars = 4;

  // `prefix` must match [a-z][a-z0-9]{0,15}; see IsValidPrefix().
  explicit TokenCodec(std::string prefix = "utk");

  static bool IsValidPrefix(absl::string_view prefix);

  const std::string& prefix() const { return prefix_; }

  // A new token's plaintext. The caller must hash it and drop it.
  std::string Generate(RandomSource& random) const;

  // Checks prefix, length, alphabet and checksum without any lookup.
  TokenFormatError Validate(absl::string_view token) const;

  // SHA-256 of the token's bytes.
  static TokenHash Hash(absl::string_view token);

  // The non-secret "token value" shown in lists:
  //   <prefix>_ + first 4 random chars + "…" (U+2026) + last 4 chars.
  // Only meaningful for a token that Validate()s.
  std::string Hint(absl::string_view token) const;

  // The regex secret scanners can use for this prefix, e.g.
  // "utk_[0-9A-Za-z]{39}".
  std::string ScannerRegex() const;

 private:
  std::string prefix_;
};

}  // namespace tokens
