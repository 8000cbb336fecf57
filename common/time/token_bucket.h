#pragma once

#include <algorithm>

#include "absl/time/time.h"

namespace tokens {

// A token bucket refilled from an injected clock's time: `rate` tokens a
// second up to `burst`. The rate and burst are passed to each call, so one
// set of options can serve a table of buckets. A clock that steps back earns
// nothing until it passes the last refill again.
struct TokenBucket {
  double tokens;
  absl::Time refilled_at;

  void Refill(absl::Time now, double rate, double burst) {
    if (now <= refilled_at) return;
    tokens = std::min(std::max(0.0, burst),
                      tokens + absl::ToDoubleSeconds(now - refilled_at) * std::max(0.0, rate));
    refilled_at = now;
  }
  bool Take(absl::Time now, double rate, double burst) {
    Refill(now, rate, burst);
    if (tokens < 1.0) return false;
    tokens -= 1.0;
    return true;
  }
  // After a refill: how long until a whole token is there (zero if it is).
  absl::Duration TimeToNextToken(double rate) const {
    if (tokens >= 1.0) return absl::ZeroDuration();
    if (rate <= 0) return absl::InfiniteDuration();
    return absl::Seconds((1.0 - tokens) / rate);
  }
};

}  // namespace tokens
