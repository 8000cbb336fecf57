#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "services/token_service/domain/ports/expiry_warnings.h"

// Expiry warnings: before a token expires, one webhook per configured
// threshold it crosses (--expiry_warning_days), and one when it has expired.
// Each (token, threshold) is recorded once in the database, so restarts and
// replicas never repeat it; one replica at a time (the holder of a
// SenderLock) scans and delivers. Delivery is at least once: a crash between
// the receiver's 2xx and the database update sends the warning again, under
// the same id. docs/operations.md describes the webhook.
namespace tokens::service {

// The threshold of the warning sent once a token has expired.
inline constexpr int kExpiredThreshold = 0;
// Expired tokens are warned about for this many days after their expiry
// date, no longer: a first start (or the webhook turned on) over a database
// of long-expired tokens sends nothing about them.
inline constexpr int kExpiredLookbackDays = 3;
// The longest --expiry_warning_days threshold: a year.
inline constexpr int kMaxWarningDays = 365;

// "7,1" -> {7, 1}: comma-separated whole days in 1..365, spaces around
// each allowed, no repeats; returned largest first. INVALID_ARGUMENT saying
// what is wrong (without the flag's name) otherwise.
absl::StatusOr<std::vector<int>> ParseWarningDays(absl::string_view text);

// The thresholds a token with `days_left` has crossed: every d of
// `warning_days` with 0 < days_left <= d, or kExpiredThreshold alone once
// it has expired (days_left <= 0), unless that was more than
// kExpiredLookbackDays ago. Largest first.
std::vector<int> ThresholdsCrossed(const std::vector<int>& warning_days, int days_left);

// "token.expiring", or "token.expired" for kExpiredThreshold.
absl::string_view WarningEvent(int threshold_days);

// The webhook's JSON body for `warning` on UTC day `today` (days_left is
// counted then): id, event, token_id, name, hint, user_id, email,
// expires_on, days_left, threshold_days; one line, keys in that order.
std::string WebhookBody(const PendingWarning& warning, absl::CivilDay today);

// "sha256=" + lowercase hex HMAC-SHA256(secret, body).
std::string WebhookSignature(absl::string_view secret, absl::string_view body);

// The wait before the attempt after `attempts` failed ones (>= 1):
// initial * 2^(attempts-1), at most `cap`, then a random part of it taken
// off ("equal jitter": uniform in [d/2, d]) so that a receiver that comes
// back is not hit by every warning at once.
absl::Duration RetryDelay(int attempts, absl::Duration initial, absl::Duration cap,
                          RandomSource& random);

struct ExpiryWarnerOptions {
  std::vector<int> warning_days = {7, 1};  // largest first
  absl::Duration scan_interval = absl::Minutes(1);
  absl::Duration initial_backoff = absl::Seconds(10);
  absl::Duration max_backoff = absl::Hours(1);
  int batch = 100;  // warnings read per query while delivering
};

// The sender: each round, if it holds the lock, records the warnings due
// (a scan, at most once per scan_interval) and posts those due for
// delivery, one at a time, holding no transaction while it waits for the
// receiver. Replicas that do not hold the lock try again every
// scan_interval.
class ExpiryWarner {
 public:
  ExpiryWarner(ExpiryWarningStore& store, SenderLock& lock, WebhookSender& sender,
               const Clock& clock, RandomSource& random, std::string secret,
               ExpiryWarnerOptions options);
  ~ExpiryWarner();

  ExpiryWarner(const ExpiryWarner&) = delete;
  ExpiryWarner& operator=(const ExpiryWarner&) = delete;

  // One round; returns when the next is due.
  absl::Time RunRound();

  // Runs rounds on a thread of its own until Stop() (an attempt in flight
  // finishes first).
  void Start();
  void Stop();

  struct Stats {
    uint64_t scans = 0;              // scans completed by this process
    uint64_t recorded_expiring = 0;  // warnings recorded: token.expiring
    uint64_t recorded_expired = 0;   // token.expired
    uint64_t delivered = 0;          // attempts answered 2xx
    uint64_t rejected = 0;           // attempts answered another status
    uint64_t failed = 0;             // attempts without an answer
    uint64_t dropped = 0;            // warnings dropped: token revoked, owner disabled
    int64_t pending = 0;             // as last counted by this process as the sender
    bool sender = false;             // this process holds the lock
  };
  Stats stats() const;

 private:
  absl::Status Scan(absl::Time now);
  absl::Status Deliver();
  // Posts one warning and records the outcome; the recording's status.
  absl::Status Attempt(const PendingWarning& warning);

  ExpiryWarningStore& store_;
  SenderLock& lock_;
  WebhookSender& sender_;
  const Clock& clock_;
  RandomSource& random_;
  const std::string secret_;
  const ExpiryWarnerOptions options_;
  absl::Time next_scan_ = absl::InfinitePast();

  std::atomic<uint64_t> scans_{0};
  std::atomic<uint64_t> recorded_expiring_{0};
  std::atomic<uint64_t> recorded_expired_{0};
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> rejected_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<int64_t> pending_{0};
  std::atomic<bool> holds_lock_{false};

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace tokens::service
