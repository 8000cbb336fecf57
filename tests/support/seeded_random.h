#pragma once

#include <cstdint>
#include <random>

#include "absl/types/span.h"
#include "common/token/random.h"

namespace tokens::test_support {

// A deterministic RandomSource for tests: the same seed yields the same
// bytes (std::mt19937_64's output is fixed by the standard), so the same
// secrets and ids on every run. Never for production.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  void Fill(absl::Span<uint8_t> out) override {
    for (uint8_t& b : out) b = static_cast<uint8_t>(engine_() & 0xff);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace tokens::test_support
