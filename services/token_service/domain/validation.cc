#include "services/token_service/domain/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/auth/scopes.h"
#include "common/auth/token_id.h"
#include "common/net/ip_address.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "unicode/normalizer2.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"

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

constexpr absl::string_view kBadUtf8 = "must be valid UTF-8";
constexpr absl::string_view kControl = "must not contain control characters";

// Raw input beyond this many bytes cannot be a name of 100 characters, not
// even padded; refusing it first bounds the work of normalizing it.
constexpr size_t kMaxRawNameBytes = 4096;

// A character that renders as nothing, or changes how its neighbours render
// without showing itself, so that two different names could look the same.
// Variation selectors are allowed where they pick an emoji's or an
// ideograph's glyph, after the character they modify.
bool IsInvisible(UChar32 cp, UChar32 previous) {
  if (u_charType(cp) == U_FORMAT_CHAR) return true;
  if (!u_hasBinaryProperty(cp, UCHAR_DEFAULT_IGNORABLE_CODE_POINT)) return false;
  return !(u_hasBinaryProperty(cp, UCHAR_VARIATION_SELECTOR) &&
           (u_hasBinaryProperty(previous, UCHAR_EMOJI) ||
            u_hasBinaryProperty(previous, UCHAR_IDEOGRAPHIC)));
}

// Shows something on its own: not a space, not a mark that only decorates
// another character, not the blank Braille pattern (U+2800, a symbol that
// renders empty).
bool IsVisible(UChar32 cp) {
  const int8_t type = u_charType(cp);
  return !u_isUWhiteSpace(cp) && type != U_NON_SPACING_MARK && type != U_ENCLOSING_MARK &&
         cp != 0x2800;
}

absl::Status CheckUtf8(absl::string_view field, absl::string_view text) {
  size_t pos = 0;
  char32_t cp;
  while (pos < text.size()) {
    if (!NextCodePoint(text, &pos, &cp)) return FieldError(field, kBadUtf8);
  }
  return absl::OkStatus();
}

icu::UnicodeString Nfc(const icu::UnicodeString& source) {
  UErrorCode error = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(error);
  // Fails only without ICU's data, and then for every call alike; the text
  // is still checked by the same rules, only not composed.
  if (U_FAILURE(error)) return source;
  icu::UnicodeString normalized = nfc->normalize(source, error);
  return U_SUCCESS(error) ? normalized : source;
}

// `text` (valid UTF-8) in NFC.
icu::UnicodeString Nfc(absl::string_view text) {
  return Nfc(icu::UnicodeString::fromUTF8(
      icu::StringPiece(text.data(), static_cast<int32_t>(text.size()))));
}

// The first control or invisible character of `text`, as a FieldError.
absl::Status CheckCharacters(absl::string_view field, const icu::UnicodeString& text) {
  UChar32 previous = 0;
  for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
    const UChar32 cp = text.char32At(i);
    if (IsControl(static_cast<char32_t>(cp))) return FieldError(field, kControl);
    if (IsInvisible(cp, previous)) {
      return FieldError(field, absl::StrFormat("must not contain invisible or text-direction "
                                               "characters (found U+%04X)",
                                               static_cast<uint32_t>(cp)));
    }
    previous = cp;
  }
  return absl::OkStatus();
}

std::string Utf8(const icu::UnicodeString& text) {
  std::string out;
  text.toUTF8String(out);
  return out;
}

}  // namespace

absl::StatusOr<std::string> NormalizeName(absl::string_view field, absl::string_view name) {
  if (name.size() > kMaxRawNameBytes) {
    return FieldError(field, absl::StrFormat("must be at most %d characters", kMaxNameChars));
  }
  if (absl::Status s = CheckUtf8(field, name); !s.ok()) return s;
  const icu::UnicodeString nfc = Nfc(name);

  // Trim Unicode whitespace (White_Space: ASCII's, U+00A0, U+3000, ...).
  int32_t begin = 0;
  int32_t end = nfc.length();
  while (begin < end && u_isUWhiteSpace(nfc.char32At(begin))) begin = nfc.moveIndex32(begin, 1);
  while (end > begin && u_isUWhiteSpace(nfc.char32At(nfc.moveIndex32(end, -1)))) {
    end = nfc.moveIndex32(end, -1);
  }
  if (begin == end) return FieldError(field, "must not be empty");
  const icu::UnicodeString trimmed(nfc, begin, end - begin);
  if (absl::Status s = CheckCharacters(field, trimmed); !s.ok()) return s;

  // Any other space inside reads as a space: "a b" and "a" U+00A0 "b" are
  // one name. U+0020 composes with nothing, so the result stays in NFC.
  icu::UnicodeString out;
  size_t chars = 0;
  bool visible = false;
  for (int32_t i = 0; i < trimmed.length(); i = trimmed.moveIndex32(i, 1)) {
    const UChar32 cp = trimmed.char32At(i);
    out.append(u_isUWhiteSpace(cp) ? UChar32{' '} : cp);
    visible = visible || IsVisible(cp);
    ++chars;
  }
  if (!visible) return FieldError(field, "must contain a visible character");
  if (chars > kMaxNameChars) {
    return FieldError(
        field, absl::StrFormat("must be at most %d characters (got %d)", kMaxNameChars, chars));
  }
  return Utf8(out);
}

absl::StatusOr<std::string> NormalizeNameFilter(absl::string_view field, absl::string_view text) {
  if (text.empty()) return std::string();
  if (absl::Status s = CheckUtf8(field, text); !s.ok()) return s;
  const icu::UnicodeString nfc = Nfc(text);
  if (absl::Status s = CheckCharacters(field, nfc); !s.ok()) return s;
  return Utf8(nfc);
}

std::string FoldForSearch(absl::string_view text) {
  icu::UnicodeString folded = Nfc(text);
  folded.foldCase(U_FOLD_CASE_DEFAULT);
  return Utf8(Nfc(folded));
}

absl::StatusOr<absl::CivilDay> ValidateDate(absl::string_view field, absl::string_view text) {
  if (text.empty()) return FieldError(field, "is required (YYYY-MM-DD)");
  absl::StatusOr<absl::CivilDay> day = ParseIsoDate(text);
  if (!day.ok()) return FieldError(field, day.status().message());
  return *day;
}

absl::StatusOr<absl::CivilDay> ValidateExpiry(absl::string_view field, absl::string_view text,
                                              absl::CivilDay today, int max_days,
                                              std::optional<absl::CivilDay> issuer_expires_on) {
  absl::StatusOr<absl::CivilDay> day = ValidateDate(field, text);
  if (!day.ok()) return day.status();
  if (*day <= today) {
    return FieldError(field, absl::StrCat("expiry date must be after ", FormatIsoDate(today)));
  }
  const absl::CivilDay last = today + max_days;
  // Whichever bound is nearer is the one to name.
  if (issuer_expires_on.has_value() && *issuer_expires_on<last&& * day> * issuer_expires_on) {
    return FieldError(field, absl::StrCat("expiry date must be ", FormatIsoDate(*issuer_expires_on),
                                          " or earlier: a token cannot issue a token that "
                                          "outlives it"));
  }
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
  // TokenId reads either case; ids here are compared as text (the stores,
  // page tokens, the audit trail), so only the canonical spelling is one.
  std::optional<TokenId> parsed = TokenId::Parse(id);
  if (!parsed.has_value() || parsed->ToString() != id) {
    return FieldError(field, "is not a token id");
  }
  return absl::OkStatus();
}

absl::Status ValidateClientAddress(absl::string_view field, absl::string_view address,
                                   size_t max_chars) {
  if (address.size() > max_chars) {
    return FieldError(field, absl::StrCat("must be at most ", max_chars, " characters"));
  }
  if (!address.empty() && !IsIpAddress(address)) {
    return FieldError(field, "must be an IPv4 or IPv6 address");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ValidateScopes(absl::string_view field,
                                                        const std::vector<std::string>& requested,
                                                        const std::vector<std::string>& catalogue) {
  if (requested.empty()) return requested;
  if (catalogue.empty()) {
    return FieldError(field, "this server defines no scopes; leave scopes empty");
  }
  if (requested.size() > catalogue.size()) {
    return FieldError(field, absl::StrCat("lists ", requested.size(), " scopes; the catalogue has ",
                                          catalogue.size()));
  }
  std::vector<std::string> sorted;
  sorted.reserve(requested.size());
  for (size_t i = 0; i < requested.size(); ++i) {
    const std::string& name = requested[i];
    if (!IsScopeName(name)) {
      return FieldError(field, absl::StrCat("scope ", i + 1, " is not a scope name"));
    }
    if (std::find(catalogue.begin(), catalogue.end(), name) == catalogue.end()) {
      return FieldError(field, absl::StrCat(name, " is not a scope of this server (",
                                            absl::StrJoin(catalogue, ", "), ")"));
    }
    if (std::find(sorted.begin(), sorted.end(), name) != sorted.end()) {
      return FieldError(field, absl::StrCat(name, " is listed twice"));
    }
    sorted.push_back(name);
  }
  std::sort(sorted.begin(), sorted.end());
  return sorted;
}

}  // namespace tokens::service
