#include "common/auth/bearer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace tokens {

std::optional<absl::string_view> ParseBearer(absl::string_view header) {
  constexpr absl::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(header.substr(0, kScheme.size()), kScheme) ||
      header[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  absl::string_view credential = header.substr(kScheme.size());
  while (!credential.empty() && credential.front() == ' ') credential.remove_prefix(1);
  while (!credential.empty() && credential.back() == ' ') credential.remove_suffix(1);
  if (credential.empty()) return std::nullopt;
  // Printable ASCII only (RFC 6750's b64token is a subset): this also keeps
  // out UTF-8 encoded whitespace and controls such as U+00A0 and U+0085.
  for (char c : credential) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return std::nullopt;
  }
  return credential;
}

}  // namespace tokens
