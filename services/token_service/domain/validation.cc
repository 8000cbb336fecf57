#include "services/token_service/domain/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"

namespace tokens::service {
namespace {

// Decodes one UTF-8 code point at `text[*pos]`; false on malformed input
// (overlong forms, surrogates and values above U+10FFFF included).
bool NextCodePoint(absl::string_view text, size_t* pos, char32_t* out) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b0 = byte(*pos);
  size_t len;
  char32_t cp;
  if (b0 < 0x80) {
    len = 1;
    cp = b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return false;
  }
  if (*pos + len > text.size()) return false;
  for (size_t i = 1; i < len; ++i) {
    const unsigned char b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  *pos += len;
  *out = cp;
  return true;
}

bool IsControl(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

absl::StatusOr<std::string> NormalizeName(absl::string_view field, absl::string_view name) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(name);
  if (trimmed.empty()) return FieldError(field, "must not be empty");
  size_t pos = 0;
  size_t chars = 0;
  while (pos < trimmed.size()) {
    char32_t cp;
    if (!NextCodePoint(trimmed, &pos, &cp)) return FieldError(field, "must be valid UTF-8");
    if (IsControl(cp)) return FieldError(field, "must not contain control characters");
    ++chars;
  }
  if (chars > kMaxNameChars) {
    return FieldError(
        field, absl::StrFormat("must be at most %d characters (got %d)", kMaxNameChars, chars));
  }
  return std::string(trimmed);
}

absl::StatusOr<absl::CivilDay> ValidateDate(absl::string_view field, absl::string_view text) {
  if (text.empty()) return FieldError(field, "is required (YYYY-MM-DD)");
  absl::StatusOr<absl::CivilDay> day = ParseIsoDate(text);
  if (!day.ok()) return FieldError(field, day.status().message());
  return *day;
}

absl::StatusOr<absl::CivilDay> ValidateExpiry(absl::string_view field, absl::string_view text,
                                              absl::CivilDay today, int max_days) {
  absl::StatusOr<absl::CivilDay> day = ValidateDate(field, text);
  if (!day.ok()) return day.status();
  if (*day <= today) {
    return FieldError(field, absl::StrCat("expiry date must be after ", FormatIsoDate(today)));
  }
  const absl::CivilDay last = today + max_days;
  if (*day > last) {
    return FieldError(field, absl::StrCat("expiry date must be at most ", max_days, " days ahead (",
                                          FormatIsoDate(last), " or earlier)"));
  }
  return *day;
}

absl::Status ValidateUserId(absl::string_view field, absl::string_view user_id) {
  if (user_id.empty()) return FieldError(field, "is required");
  if (user_id.size() > kMaxUserIdChars) {
    return FieldError(field, absl::StrCat("must be at most ", kMaxUserIdChars, " characters"));
  }
  const auto allowed = [](char c) {
    return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' || c == '@' ||
           c == '-';
  };
  if (!absl::ascii_isalnum(user_id.front()) ||
      !std::all_of(user_id.begin(), user_id.end(), allowed)) {
    return FieldError(
        field, "must be lower-case letters, digits and . _ @ -, starting with a letter or digit");
  }
  return absl::OkStatus();
}

absl::Status ValidateEmail(absl::string_view field, absl::string_view email) {
  if (email.empty()) return absl::OkStatus();
  if (email.size() > kMaxEmailChars) {
    return FieldError(field, absl::StrCat("must be at most ", kMaxEmailChars, " characters"));
  }
  const size_t at = email.find('@');
  const bool shaped = at != absl::string_view::npos && at > 0 && at + 1 < email.size() &&
                      email.find('@', at + 1) == absl::string_view::npos;
  const bool clean = std::none_of(email.begin(), email.end(), [](char c) {
    return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  });
  if (!shaped || !clean) return FieldError(field, "must look like name@example.com");
  return absl::OkStatus();
}

absl::StatusOr<int> ValidatePageSize(absl::string_view field, int page_size) {
  if (page_size < 0) return FieldError(field, "must not be negative");
  if (page_size == 0) return kDefaultPageSize;
  return std::min(page_size, kMaxPageSize);
}

absl::Status ValidateTokenId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return FieldError(field, "is required");
  static constexpr absl::string_view kShape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
  bool ok = id.size() == kShape.size();
  for (size_t i = 0; ok && i < id.size(); ++i) {
    ok = kShape[i] == '-' ? id[i] == '-'
                          : (absl::ascii_isdigit(id[i]) || (id[i] >= 'a' && id[i] <= 'f'));
  }
  if (!ok) return FieldError(field, "is not a token id");
  return absl::OkStatus();
}

absl::Status ValidateClientAddress(absl::string_view field, absl::string_view address,
                                   size_t max_chars) {
  if (address.size() > max_chars) {
    return FieldError(field, absl::StrCat("must be at most ", max_chars, " characters"));
  }
  const auto allowed = [](char c) { return absl::ascii_isxdigit(c) || c == '.' || c == ':'; };
  if (!std::all_of(address.begin(), address.end(), allowed)) {
    return FieldError(field, "must be an IPv4 or IPv6 address");
  }
  return absl::OkStatus();
}

}  // namespace tokens::service
