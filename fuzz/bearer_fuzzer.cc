// ParseBearer on arbitrary `authorization` header values: whatever it
// returns must be exactly what bearer.h promises.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/auth/bearer.h"

namespace tokens {
namespace {

bool AllSpaces(absl::string_view text) {
  for (char c : text) {
    if (c != ' ') return false;
  }
  return true;
}

void Check(absl::string_view header) {
  const std::optional<absl::string_view> credential = ParseBearer(header);
  if (!credential.has_value()) return;

  // "bearer" in any case, then at least one space.
  constexpr size_t kScheme = 6;
  if (header.size() <= kScheme || !absl::EqualsIgnoreCase(header.substr(0, kScheme), "bearer") ||
      header[kScheme] != ' ') {
    __builtin_trap();
  }
  // A non-empty slice of `header` past the scheme and its space...
  if (credential->empty() || credential->data() < header.data() + kScheme + 1 ||
      credential->data() + credential->size() > header.data() + header.size()) {
    __builtin_trap();
  }
  // ...with only spaces around it...
  const size_t begin = static_cast<size_t>(credential->data() - header.data());
  const size_t end = begin + credential->size();
  if (!AllSpaces(header.substr(kScheme, begin - kScheme)) || !AllSpaces(header.substr(end))) {
    __builtin_trap();
  }
  // ...and only printable ASCII other than space inside.
  for (char c : *credential) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) __builtin_trap();
  }
}

}  // namespace
}  // namespace tokens

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokens::Check(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
