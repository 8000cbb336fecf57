#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pqxx/pqxx"
#include "services/token_service/domain/ports/expiry_warnings.h"
#include "services/token_service/storage/pg_pool.h"

namespace tokens::service {

// ExpiryWarningStore over PostgreSQL (migrations/0005_expiry_warnings.sql):
// each method one short transaction on the pool, none held while a webhook
// is posted.
class PgExpiryWarningStore final : public ExpiryWarningStore {
 public:
  explicit PgExpiryWarningStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<std::vector<ExpiryCandidate>> ListCandidates(absl::CivilDay today, int max_days,
                                                              int lookback_days) override;
  absl::StatusOr<bool> RecordWarning(const std::string& token_id, int threshold_days,
                                     absl::Time now) override;
  absl::StatusOr<std::vector<PendingWarning>> DueWarnings(absl::Time now, int limit) override;
  absl::Status MarkDelivered(const std::string& id, absl::Time now) override;
  absl::Status MarkFailed(const std::string& id, absl::Time next_attempt_at,
                          const std::string& error) override;
  absl::Status MarkDropped(const std::string& id) override;
  absl::StatusOr<PendingSummary> Pending() override;

 private:
  PgPool& pool_;
};

// The key of the sender's advisory lock: "tokexpwh" in ASCII.
inline constexpr int64_t kExpirySenderLockKey = 0x746f6b6578707768;

// SenderLock as a session-level pg_try_advisory_lock, on a connection of
// its own (outside the pool, which would hand the session to other work).
// PostgreSQL releases the lock when the session ends, so a replica that
// dies (or loses its connection) frees it for another within one interval.
// Each TryHold() checks that the session is still there; a lost one is
// reopened and the lock asked for again. One thread at a time.
class PgSenderLock final : public SenderLock {
 public:
  explicit PgSenderLock(std::string url) : url_(std::move(url)) {}
  ~PgSenderLock() override;

  bool TryHold() override;

 private:
  const std::string url_;
  std::unique_ptr<pqxx::connection> conn_;
  bool held_ = false;
  bool unreachable_logged_ = false;
};

}  // namespace tokens::service
