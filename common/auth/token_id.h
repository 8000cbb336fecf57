#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "common/token/random.h"

namespace tokens {

// A token's id: a UUID in its 16 raw bytes. Compact in the sidecar's cache
// (trivially copyable, no allocation), formatted back to text only where
// text goes on the wire or into a log. This is the only codec of the id's
// text: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", hex digits of either case
// in, lower case out.
class TokenId {
 public:
  // Characters of the text form.
  static constexpr size_t kTextSize = 36;

  // The nil UUID (all zero bytes).
  constexpr TokenId() = default;
  explicit constexpr TokenId(const std::array<uint8_t, 16>& bytes) : bytes_(bytes) {}

  // Parses the text form; nullopt for anything else (wrong length, a
  // non-hex digit, a dash missing or out of place, braces, a "urn:uuid:").
  static std::optional<TokenId> Parse(absl::string_view text);

  // A new random id: a version 4 UUID (RFC 4122 variant) from `random`.
  static TokenId Random(RandomSource& random);

  // Lower-case canonical text.
  std::string ToString() const;
  // The same text into a buffer, without allocating (the sidecar's answers).
  void Format(char (&out)[kTextSize]) const;

  const std::array<uint8_t, 16>& bytes() const { return bytes_; }

  friend bool operator==(const TokenId& a, const TokenId& b) { return a.bytes_ == b.bytes_; }
  friend bool operator!=(const TokenId& a, const TokenId& b) { return a.bytes_ != b.bytes_; }
  friend bool operator<(const TokenId& a, const TokenId& b) { return a.bytes_ < b.bytes_; }

  template <typename H>
  friend H AbslHashValue(H h, const TokenId& id) {
    return H::combine_contiguous(std::move(h), id.bytes_.data(), id.bytes_.size());
  }

 private:
  std::array<uint8_t, 16> bytes_{};
};

}  // namespace tokens
