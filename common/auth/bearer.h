#pragma once

#include <optional>

#include "absl/strings/string_view.h"

namespace tokens {

// Extracts the credential from an `authorization` header value of the form
// "Bearer <credential>": the scheme is case-insensitive (RFC 7235), followed
// by one or more spaces; the credential is the rest with trailing spaces
// removed and must be non-empty printable ASCII (no whitespace, control
// characters or bytes >= 0x80). Anything else yields nullopt. The result
// points into `header`.
std::optional<absl::string_view> ParseBearer(absl::string_view header);

}  // namespace tokens
