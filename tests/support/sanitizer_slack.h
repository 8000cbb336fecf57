#pragma once

#include <cstdint>

namespace tokens::testing {

// Extra resident memory, in KiB, that tests bounding a process's RSS allow
// when it runs under AddressSanitizer (scripts/sanitize.sh builds the
// binaries with it too): redzones around every allocation and a quarantine
// of freed memory (256 MB) before it is reused. 0 otherwise.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr int64_t kSanitizerSlackKib = 64 * 1024;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr int64_t kSanitizerSlackKib = 64 * 1024;
#else
inline constexpr int64_t kSanitizerSlackKib = 0;
#endif
#else
inline constexpr int64_t kSanitizerSlackKib = 0;
#endif

}  // namespace tokens::testing
