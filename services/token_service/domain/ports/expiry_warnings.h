#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

// The ports of the expiry warnings (domain/expiry_warnings.h): where the
// warnings are recorded, the lock that makes one replica their sender, and
// the webhook they are posted to. PgExpiryWarningStore and PgSenderLock
// implement the first two over PostgreSQL, HttpWebhookSender the third;
// unit tests use fakes.
namespace tokens::service {

// A token close enough to its expiry (or just past it) to be warned about,
// with the thresholds already recorded for it.
struct ExpiryCandidate {
  std::string token_id;
  int days_left = 0;          // expires_on - today (UTC); <= 0: expired
  std::vector<int> recorded;  // thresholds with a warning recorded (0: expired)
};

// A recorded warning still to be delivered, with what its webhook says.
struct PendingWarning {
  std::string id;  // stable: the webhook's id, the same on every attempt
  int threshold_days = 0;
  int attempts = 0;  // made so far
  std::string token_id;
  std::string token_name;
  std::string hint;
  std::string user_id;
  std::string email;
  absl::CivilDay expires_on;
  // Revoked since it was recorded, or its owner disabled: dropped, not sent.
  bool token_gone = false;
};

// How many warnings wait for delivery, and when the next is due.
struct PendingSummary {
  int64_t count = 0;
  std::optional<absl::Time> next_attempt_at;
};

class ExpiryWarningStore {
 public:
  virtual ~ExpiryWarningStore() = default;

  // Tokens that are not revoked, whose owner is not disabled, with
  // -lookback_days <= days_left <= max_days on UTC day `today`.
  virtual absl::StatusOr<std::vector<ExpiryCandidate>> ListCandidates(absl::CivilDay today,
                                                                      int max_days,
                                                                      int lookback_days) = 0;

  // Records the warning (token_id, threshold_days), due at `now`, unless it
  // exists already or the token was revoked (or its owner disabled) in the
  // meantime. True if it was recorded now.
  virtual absl::StatusOr<bool> RecordWarning(const std::string& token_id, int threshold_days,
                                             absl::Time now) = 0;

  // Up to `limit` pending warnings due at `now`, the earliest first.
  virtual absl::StatusOr<std::vector<PendingWarning>> DueWarnings(absl::Time now, int limit) = 0;

  // The attempt's outcome: delivered (acknowledged by the receiver), failed
  // (retried at `next_attempt_at`; `error` says why, never a response body)
  // or dropped (its token revoked or owner disabled before delivery).
  virtual absl::Status MarkDelivered(const std::string& id, absl::Time now) = 0;
  virtual absl::Status MarkFailed(const std::string& id, absl::Time next_attempt_at,
                                  const std::string& error) = 0;
  virtual absl::Status MarkDropped(const std::string& id) = 0;

  virtual absl::StatusOr<PendingSummary> Pending() = 0;
};

// A lock held by one process at a time, across replicas, released when the
// holder dies.
class SenderLock {
 public:
  virtual ~SenderLock() = default;
  // True if this process holds the lock (taking it if it is free); false if
  // another does or the database cannot be reached.
  virtual bool TryHold() = 0;
};

// One signed webhook request, ready to post.
struct WebhookRequest {
  std::string id;         // X-Webhook-Id
  std::string body;       // JSON
  std::string signature;  // X-Webhook-Signature-256's value: "sha256=<hex>"
};

struct WebhookResult {
  enum class Outcome {
    kDelivered,  // a 2xx answer
    kRejected,   // any other HTTP status
    kFailed,     // no answer: refused, reset, timed out, TLS failure
  };
  Outcome outcome = Outcome::kFailed;
  int http_status = 0;  // 0 without an answer
  std::string error;    // short, never the response body
};

class WebhookSender {
 public:
  virtual ~WebhookSender() = default;
  virtual WebhookResult Post(const WebhookRequest& request) = 0;
};

}  // namespace tokens::service
