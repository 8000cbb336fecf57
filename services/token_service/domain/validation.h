#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

// Input rules of the management API. Each failure is a FieldError naming the
// request field, worded for the person who filled in the form.
namespace tokens::service {

inline constexpr size_t kMaxNameChars = 100;
inline constexpr size_t kMaxUserIdChars = 64;
inline constexpr size_t kMaxEmailChars = 254;
inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;

// A token or display name, as it is stored and compared: valid UTF-8, put
// in Unicode Normalization Form C (so that "é" typed composed or decomposed
// is one name), trimmed of Unicode whitespace at both ends, with every other
// whitespace character inside turned into U+0020; then 1-100 characters
// (code points) with at least one visible character, no control characters
// and nothing invisible that could make two names look alike: no format
// characters (Unicode category Cf: bidi controls such as U+202E, zero-width
// characters, U+FEFF) and no other default-ignorable code point (Hangul
// fillers, U+034F, ...), except a variation selector right after an emoji or
// an ideograph. Returns the normalized name.
absl::StatusOr<std::string> NormalizeName(absl::string_view field, absl::string_view name);

// A name filter (ListTokens' name_contains): valid UTF-8 without control or
// invisible characters (as NormalizeName), put in NFC; not trimmed, since
// " prod" is a fragment of its own. Empty stays empty (no filter).
absl::StatusOr<std::string> NormalizeNameFilter(absl::string_view field, absl::string_view text);

// The form in which names are compared by ListTokens' name_contains: full
// Unicode case folding of the NFC text ("Straße" and "STRASSE" both give
// "strasse", "École" gives "école"), in NFC again. `text` must be valid
// UTF-8.
std::string FoldForSearch(absl::string_view text);

// An expiry date: YYYY-MM-DD, after `today` and at most `max_days` after it,
// and not after `issuer_expires_on` when given (the expiry of the token that
// asks: a token never issues one that outlives it). The message names the
// latest date allowed.
absl::StatusOr<absl::CivilDay> ValidateExpiry(
    absl::string_view field, absl::string_view text, absl::CivilDay today, int max_days,
    std::optional<absl::CivilDay> issuer_expires_on = std::nullopt);

// A date filter: YYYY-MM-DD, no range rule.
absl::StatusOr<absl::CivilDay> ValidateDate(absl::string_view field, absl::string_view text);

// user_id: 1-64 characters of [a-z0-9._@-], starting with a letter or digit.
absl::Status ValidateUserId(absl::string_view field, absl::string_view user_id);

// email: empty, or local@domain without spaces, at most 254 characters.
absl::Status ValidateEmail(absl::string_view field, absl::string_view email);

// page_size: negative is an error; 0 means the default; above the maximum is
// clamped (AIP-158).
absl::StatusOr<int> ValidatePageSize(absl::string_view field, int page_size);

// Token ids are UUIDs in canonical lower-case text form (TokenId,
// common/auth/token_id.h, writes them so).
absl::Status ValidateTokenId(absl::string_view field, absl::string_view id);

// A token's requested scopes: each a name of `catalogue` (the operator's
// --token_scopes), each at most once. Returns them sorted. An error names
// the offending scope only when it is a well-formed scope name (which cannot
// carry anything a caller smuggled in), else its position.
absl::StatusOr<std::vector<std::string>> ValidateScopes(absl::string_view field,
                                                        const std::vector<std::string>& requested,
                                                        const std::vector<std::string>& catalogue);

// A client address as a sidecar reports it: empty (unknown), or at most
// `max_chars` characters of an IPv4 address in dotted-quad form or an IPv6
// address in text form (as inet_pton reads them; no zone index).
absl::Status ValidateClientAddress(absl::string_view field, absl::string_view address,
                                   size_t max_chars);

}  // namespace tokens::service
