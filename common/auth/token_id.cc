#include "common/auth/token_id.h"

#include "absl/types/span.h"

namespace tokens {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Where the text form has its dashes: before bytes 4, 6, 8 and 10.
bool DashBefore(size_t byte) { return byte == 4 || byte == 6 || byte == 8 || byte == 10; }

}  // namespace

std::optional<TokenId> TokenId::Parse(absl::string_view text) {
  if (text.size() != kTextSize) return std::nullopt;
  std::array<uint8_t, 16> bytes{};
  size_t at = 0;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (DashBefore(i) && text[at++] != '-') return std::nullopt;
    const int hi = HexValue(text[at]);
    const int lo = HexValue(text[at + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
    at += 2;
  }
  return TokenId(bytes);
}

TokenId TokenId::Random(RandomSource& random) {
  std::array<uint8_t, 16> bytes;
  random.Fill(absl::MakeSpan(bytes));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return TokenId(bytes);
}

void TokenId::Format(char (&out)[kTextSize]) const {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = 0;
  for (size_t i = 0; i < bytes_.size(); ++i) {
    if (DashBefore(i)) out[at++] = '-';
    out[at++] = kHex[bytes_[i] >> 4];
    out[at++] = kHex[bytes_[i] & 0xf];
  }
}

std::string TokenId::ToString() const {
  char text[kTextSize];
  Format(text);
  return std::string(text, sizeof(text));
}

}  // namespace tokens
