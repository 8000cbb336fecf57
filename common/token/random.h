#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/types/span.h"

namespace tokens {

// A source of cryptographically secure random bytes. Injected so tests can
// make token generation deterministic.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // Fills `out` completely. Aborts the process if the kernel CSPRNG fails:
  // there is no safe way to continue issuing secrets without it.
  virtual void Fill(absl::Span<uint8_t> out) = 0;
};

// The kernel CSPRNG (getrandom(2)).
class SystemRandom final : public RandomSource {
 public:
  void Fill(absl::Span<uint8_t> out) override;
};

}  // namespace tokens
