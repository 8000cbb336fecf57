#include "services/token_service/domain/issue_rate_limiter.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace tokens::service {

IssueRateLimiter::IssueRateLimiter(const Clock& clock, double per_minute, double burst)
    : clock_(clock), per_second_(per_minute / 60.0), burst_(burst) {}

absl::Status IssueRateLimiter::Take(const std::string& user_id) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  ForgetIdle(now);
  auto [it, added] = buckets_.try_emplace(user_id, TokenBucket{burst_, now});
  TokenBucket& bucket = it->second;
  if (bucket.Take(now, per_second_, burst_)) return absl::OkStatus();
  // Whole seconds, rounded up: "try again in 0 seconds" would be wrong.
  const double wait = std::ceil(absl::ToDoubleSeconds(bucket.TimeToNextToken(per_second_)));
  return absl::ResourceExhaustedError(
      absl::StrFormat("you are issuing tokens too fast (at most %.0f a minute after a burst "
                      "of %.0f); try again in %.0f seconds",
                      per_second_ * 60.0, burst_, std::max(1.0, wait)));
}

void IssueRateLimiter::ForgetIdle(absl::Time now) {
  if (now - swept_at_ < absl::Minutes(1)) return;
  swept_at_ = now;
  absl::erase_if(buckets_, [&](auto& entry) {
    entry.second.Refill(now, per_second_, burst_);
    return entry.second.tokens >= burst_;
  });
}

}  // namespace tokens::service
