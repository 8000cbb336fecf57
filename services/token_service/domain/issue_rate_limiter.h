#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/time/token_bucket.h"

namespace tokens::service {

// How fast one user may have tokens issued (CreateToken and RotateToken):
// a token bucket per user, `per_minute` a minute sustained after a burst of
// `burst`. Every token issued is a change that every sidecar receives, so a
// single caller must not be able to flood the feed.
//
// Per process: with N token-service replicas behind a load balancer a user
// can get up to N times the rate. The buckets of users who have not issued
// anything for a while (whose buckets are full again) are forgotten, so the
// table holds only the users issuing right now.
class IssueRateLimiter {
 public:
  IssueRateLimiter(const Clock& clock, double per_minute, double burst);

  // OK and one token used, or RESOURCE_EXHAUSTED saying when to try again.
  absl::Status Take(const std::string& user_id);

 private:
  // Drops full buckets; at most once a minute, as it reads the whole table.
  void ForgetIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const double per_second_;
  const double burst_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, TokenBucket> buckets_ ABSL_GUARDED_BY(mu_);
  absl::Time swept_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

}  // namespace tokens::service
