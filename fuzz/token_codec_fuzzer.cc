// TokenCodec::Validate on arbitrary bytes, and Hash and Hint on what it
// accepts. Validate is the first thing every presented token meets.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/token/token_codec.h"

namespace tokens {
namespace {

constexpr absl::string_view kPrefix = "utk";
constexpr absl::string_view kEllipsis = "\xE2\x80\xA6";

bool IsBase62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// The documented shape, checked independently of the codec:
// utk_[0-9A-Za-z]{39}.
bool HasTokenShape(absl::string_view input) {
  if (!absl::StartsWith(input, absl::StrCat(kPrefix, "_"))) return false;
  const absl::string_view body = input.substr(kPrefix.size() + 1);
  if (body.size() != TokenCodec::kBodyChars) return false;
  for (char c : body) {
    if (!IsBase62(c)) return false;
  }
  return true;
}

void Check(absl::string_view input) {
  static const TokenCodec* const codec = new TokenCodec(std::string(kPrefix));
  const TokenFormatError error = codec->Validate(input);

  const absl::string_view name = TokenFormatErrorName(error);
  if (name.empty() || name == "unknown") __builtin_trap();

  // Only the checksum tells a well-shaped string from a token.
  const bool shaped = HasTokenShape(input);
  const bool shape_errors_only =
      error == TokenFormatError::kOk || error == TokenFormatError::kBadChecksum;
  if (shaped != shape_errors_only) __builtin_trap();

  const std::string hint = codec->Hint(input);
  if (error != TokenFormatError::kOk) {
    // A hint of a rejected string reveals none of it.
    if (hint != absl::StrCat(kPrefix, "_", kEllipsis)) __builtin_trap();
    return;
  }
  const absl::string_view body = input.substr(kPrefix.size() + 1);
  if (hint != absl::StrCat(kPrefix, "_", body.substr(0, TokenCodec::kHintHeadChars), kEllipsis,
                           input.substr(input.size() - TokenCodec::kHintTailChars))) {
    __builtin_trap();
  }
  // The hash is a function of the bytes alone: a copy hashes the same.
  const std::string copy(input);
  if (TokenCodec::Hash(input) != TokenCodec::Hash(copy)) __builtin_trap();
}

}  // namespace
}  // namespace tokens

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokens::Check(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
