#pragma once

#include <cstdint>

namespace tokens::testing {

// Whether this test, and the binaries it runs, are built with
// AddressSanitizer (scripts/sanitize.sh builds everything with it, and
// UndefinedBehaviorSanitizer beside it).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

// Extra resident memory, in KiB, that tests bounding a process's RSS allow
// under AddressSanitizer: redzones around every allocation and a quarantine
// of freed memory (256 MB) before it is reused. 0 otherwise.
inline constexpr int64_t kSanitizerSlackKib = kUnderAddressSanitizer ? 64 * 1024 : 0;

}  // namespace tokens::testing
