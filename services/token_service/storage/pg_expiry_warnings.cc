#include "services/token_service/storage/pg_expiry_warnings.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "services/token_service/storage/expiry_warning_queries.h"
#include "services/token_service/storage/pg_values.h"

namespace tokens::service {
namespace {

using pg::Exec;
using pg::Micros;

absl::StatusOr<std::vector<int>> ReadThresholds(const std::string& text) {
  std::vector<int> days;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int d = 0;
    if (!absl::SimpleAtoi(part, &d)) return absl::InternalError("unreadable threshold_days");
    days.push_back(d);
  }
  return days;
}

absl::StatusOr<PendingWarning> ReadPendingWarning(const pqxx::row& row) {
  PendingWarning w;
  w.id = row[0].as<std::string>();
  w.threshold_days = row[1].as<int>();
  w.attempts = row[2].as<int>();
  w.token_id = row[3].as<std::string>();
  w.token_name = row[4].as<std::string>();
  w.hint = row[5].as<std::string>();
  w.user_id = row[6].as<std::string>();
  w.email = row[7].as<std::string>();
  absl::StatusOr<absl::CivilDay> expires_on = ParseIsoDate(row[8].as<std::string>());
  if (!expires_on.ok()) return absl::InternalError("unreadable expires_on");
  w.expires_on = *expires_on;
  w.token_gone = row[9].as<bool>();
  return w;
}

}  // namespace

absl::StatusOr<std::vector<ExpiryCandidate>> PgExpiryWarningStore::ListCandidates(
    absl::CivilDay today, int max_days, int lookback_days) {
  return pool_.Run<std::vector<ExpiryCandidate>>(
      "expiry candidates", [&](pqxx::work& txn) -> absl::StatusOr<std::vector<ExpiryCandidate>> {
        std::vector<ExpiryCandidate> candidates;
        for (const pqxx::row& row :
             Exec(txn, sql::kListExpiryCandidates, FormatIsoDate(today), max_days, lookback_days)) {
          ExpiryCandidate c;
          c.token_id = row[0].as<std::string>();
          c.days_left = row[1].as<int>();
          absl::StatusOr<std::vector<int>> recorded = ReadThresholds(row[2].as<std::string>());
          if (!recorded.ok()) return recorded.status();
          c.recorded = *std::move(recorded);
          candidates.push_back(std::move(c));
        }
        return candidates;
      });
}

absl::StatusOr<bool> PgExpiryWarningStore::RecordWarning(const std::string& token_id,
                                                         int threshold_days, absl::Time now) {
  return pool_.Run<bool>("record expiry warning", [&](pqxx::work& txn) -> absl::StatusOr<bool> {
    return !Exec(txn, sql::kRecordExpiryWarning, token_id, threshold_days, Micros(now)).empty();
  });
}

absl::StatusOr<std::vector<PendingWarning>> PgExpiryWarningStore::DueWarnings(absl::Time now,
                                                                              int limit) {
  return pool_.Run<std::vector<PendingWarning>>(
      "due expiry warnings", [&](pqxx::work& txn) -> absl::StatusOr<std::vector<PendingWarning>> {
        std::vector<PendingWarning> due;
        for (const pqxx::row& row : Exec(txn, sql::kDueExpiryWarnings, Micros(now), limit)) {
          absl::StatusOr<PendingWarning> w = ReadPendingWarning(row);
          if (!w.ok()) return w.status();
          due.push_back(*std::move(w));
        }
        return due;
      });
}

absl::Status PgExpiryWarningStore::MarkDelivered(const std::string& id, absl::Time now) {
  return pool_.Transact("expiry warning delivered", [&](pqxx::work& txn) {
    Exec(txn, sql::kMarkExpiryWarningDelivered, id, Micros(now));
    return absl::OkStatus();
  });
}

absl::Status PgExpiryWarningStore::MarkFailed(const std::string& id, absl::Time next_attempt_at,
                                              const std::string& error) {
  return pool_.Transact("expiry warning failed", [&](pqxx::work& txn) {
    Exec(txn, sql::kMarkExpiryWarningFailed, id, Micros(next_attempt_at), error);
    return absl::OkStatus();
  });
}

absl::Status PgExpiryWarningStore::MarkDropped(const std::string& id) {
  return pool_.Transact("expiry warning dropped", [&](pqxx::work& txn) {
    Exec(txn, sql::kMarkExpiryWarningDropped, id);
    return absl::OkStatus();
  });
}

absl::StatusOr<PendingSummary> PgExpiryWarningStore::Pending() {
  return pool_.Run<PendingSummary>(
      "pending expiry warnings", [&](pqxx::work& txn) -> absl::StatusOr<PendingSummary> {
        const pqxx::row row = Exec(txn, sql::kPendingExpiryWarnings)[0];
        PendingSummary summary;
        summary.count = row[0].as<int64_t>();
        summary.next_attempt_at = pg::TimeOrNull(row[1]);
        return summary;
      });
}

PgSenderLock::~PgSenderLock() = default;

bool PgSenderLock::TryHold() {
  const auto log = Logger("expiry");
  try {
    if (conn_ != nullptr && held_) {
      // Still our session? If it ended, so did the lock.
      pqxx::nontransaction check(*conn_);
      check.exec("SELECT 1");
      return true;
    }
    if (conn_ == nullptr || !conn_->is_open()) {
      conn_ = std::make_unique<pqxx::connection>(url_);
      held_ = false;
    }
    pqxx::nontransaction txn(*conn_);
    held_ = txn.exec_params(sql::kTryExpirySenderLock.text, kExpirySenderLockKey)[0][0].as<bool>();
    if (unreachable_logged_) {
      log->info("expiry warning sender lock: database reachable again");
      unreachable_logged_ = false;
    }
    return held_;
  } catch (...) {
    // A lost session has lost the lock with it; start over next time.
    const absl::Status status = StatusFromCurrentException("expiry sender lock");
    conn_.reset();
    held_ = false;
    if (!unreachable_logged_) {
      log->warn("expiry warning sender lock: {}; retrying every interval", status.ToString());
      unreachable_logged_ = true;
    }
    return false;
  }
}

}  // namespace tokens::service
