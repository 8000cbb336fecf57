#include "common/token/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tokens {

void SystemRandom::Fill(absl::Span<uint8_t> out) {
  uint8_t* p = out.data();
  size_t remaining = out.size();
  while (remaining > 0) {
    // Flags 0: read the urandom pool, but block until it has been seeded once
    // at boot, so we never hand out secrets from an uninitialised pool.
    // getrandom may return fewer bytes than asked (large requests, signals),
    // hence the loop.
    const ssize_t n = getrandom(p, remaining, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      // No fallback on purpose: issuing tokens from a weaker source would be
      // worse than not issuing them at all. The message names only the errno.
      const int err = errno;
      std::fprintf(stderr, "FATAL: getrandom(2) failed: %s (errno %d)\n", std::strerror(err), err);
      std::abort();
    }
    p += n;
    remaining -= static_cast<size_t>(n);
  }
}

}  // namespace tokens
