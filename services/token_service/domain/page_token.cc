#include "services/token_service/domain/page_token.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status/field_error.h"

namespace tokens::service {

uint64_t PageToken::Fingerprint(std::initializer_list<absl::string_view> parts) {
  uint64_t hash = 14695981039346656037ull;
  const auto mix = [&hash](unsigned char c) {
    hash ^= c;
    hash *= 1099511628211ull;
  };
  for (absl::string_view part : parts) {
    for (char c : part) mix(static_cast<unsigned char>(c));
    mix(0xff);  // separator: ("ab","c") and ("a","bc") differ
  }
  return hash;
}

std::string PageToken::Encode(absl::string_view kind, uint64_t fingerprint,
                              const std::vector<std::string>& keys) {
  std::string plain =
      absl::StrCat(kind, "|", absl::Hex(fingerprint), "|", absl::StrJoin(keys, "|"));
  return absl::WebSafeBase64Escape(plain);
}

absl::StatusOr<std::vector<std::string>> PageToken::Decode(absl::string_view field,
                                                           absl::string_view token,
                                                           absl::string_view kind,
                                                           uint64_t fingerprint, size_t key_count) {
  std::string plain;
  if (token.size() > 1024 || !absl::WebSafeBase64Unescape(token, &plain)) {
    return FieldError(field, "is not a page token from this list");
  }
  std::vector<std::string> parts = absl::StrSplit(plain, '|');
  uint64_t got_fingerprint = 0;
  if (parts.size() != key_count + 2 || parts[0] != kind ||
      !absl::SimpleHexAtoi(parts[1], &got_fingerprint)) {
    return FieldError(field, "is not a page token from this list");
  }
  if (got_fingerprint != fingerprint) {
    return FieldError(
        field, "was issued for different filters; repeat the request's filters or start over");
  }
  return std::vector<std::string>(parts.begin() + 2, parts.end());
}

}  // namespace tokens::service
