#include "services/token_service/storage/pg_pool.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log/json_logger.h"
#include "services/token_service/storage/queries.h"

namespace tokens::service {
namespace {

constexpr int kMaxAttempts = 3;

constexpr char kOutcomeUnknown[] =
    "database connection lost before the outcome was known; the change may or may not have "
    "been applied: read it back before retrying";

std::string FirstLine(absl::string_view text) {
  const size_t end = text.find('\n');
  return std::string(text.substr(0, end));
}

}  // namespace

struct PgPool::Slot {
  std::unique_ptr<pqxx::connection> conn;
};

namespace {

// What the exception in flight means: the status callers get and, when it
// deserves a log line, what that line says.
struct Trouble {
  absl::Status status;
  spdlog::level::level_enum level = spdlog::level::off;  // off: not logged
  std::string summary;                                   // e.g. "database connection lost"
  std::string reason;                                    // libpqxx's first line
};

Trouble ClassifyCurrentException() {
  using spdlog::level::err;
  using spdlog::level::off;
  using spdlog::level::warn;
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return {absl::UnavailableError("database unavailable"), warn, "database connection lost",
            FirstLine(e.what())};
  } catch (const pqxx::in_doubt_error& e) {
    // Not UNAVAILABLE: clients and gRPC retry policies retry that blindly,
    // and a retried CreateToken whose first commit did land would issue a
    // second token.
    return {absl::UnknownError(kOutcomeUnknown), err, "commit outcome unknown",
            FirstLine(e.what())};
  } catch (const pqxx::statement_completion_unknown& e) {
    return {absl::UnknownError(kOutcomeUnknown), err, "statement outcome unknown",
            FirstLine(e.what())};
  } catch (const pqxx::unique_violation& e) {
    return {absl::AlreadyExistsError(FirstLine(e.what())), off, "", ""};
  } catch (const pqxx::serialization_failure& e) {
    return {absl::AbortedError("concurrent update; retry"), off, "", ""};
  } catch (const pqxx::deadlock_detected& e) {
    return {absl::AbortedError("concurrent update; retry"), off, "", ""};
  } catch (const pqxx::sql_error& e) {
    absl::Status status = absl::InternalError("database error");
    if (e.sqlstate() == "57014") {
      status = absl::DeadlineExceededError("database statement timed out");
    } else if (e.sqlstate().rfind("08", 0) == 0 || e.sqlstate().rfind("57P", 0) == 0) {
      status = absl::UnavailableError("database unavailable");
    }
    return {status, err, absl::StrCat("sql error ", e.sqlstate()), FirstLine(e.what())};
  } catch (const std::exception& e) {
    return {absl::InternalError("database error"), err, "error", FirstLine(e.what())};
  }
}

}  // namespace

absl::Status StatusFromCurrentException(absl::string_view what) {
  static const auto log = Logger("db");
  Trouble trouble = ClassifyCurrentException();
  if (trouble.level != spdlog::level::off) {
    log->log(trouble.level, "{}: {}: {}", what, trouble.summary, trouble.reason);
  }
  return trouble.status;
}

PgPool::PgPool(std::string url, Options options) : url_(std::move(url)), options_(options) {
  absl::MutexLock lock(&mu_);
  for (int i = 0; i < options_.size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
}

PgPool::~PgPool() = default;

absl::StatusOr<PgPool::Slot*> PgPool::Acquire() {
  Slot* slot = nullptr;
  {
    absl::MutexLock lock(&mu_);
    const auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !free_.empty(); };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available), options_.acquire_timeout)) {
      pool_timeouts_.fetch_add(1, std::memory_order_relaxed);
      return absl::UnavailableError("all database connections are busy");
    }
    slot = free_.back();
    free_.pop_back();
  }
  if (slot->conn == nullptr || !slot->conn->is_open()) {
    DropConnection(*slot);
    try {
      slot->conn = std::make_unique<pqxx::connection>(url_);
      open_connections_.fetch_add(1, std::memory_order_relaxed);
      pqxx::nontransaction setup(*slot->conn);
      setup.exec0(absl::StrCat("SET statement_timeout = ",
                               absl::ToInt64Milliseconds(options_.statement_timeout)));
      setup.exec0("SET TIME ZONE 'UTC'");
      // libpqxx sends each PREPARE on the statement's first use, so a
      // connection opened before the migrations ran is no trouble.
      for (const sql::Statement* statement : sql::kPrepared) {
        slot->conn->prepare(statement->name, statement->text);
      }
    } catch (...) {
      Trouble trouble = ClassifyCurrentException();
      connect_failures_.fetch_add(1, std::memory_order_relaxed);
      Release(slot, /*broken=*/true);
      ConnectFailed(trouble.reason);
      return trouble.status;
    }
    Connected();
  }
  return slot;
}

void PgPool::ConnectFailed(absl::string_view reason) {
  static const auto log = Logger("db");
  absl::MutexLock lock(&outage_mu_);
  if (failed_attempts_++ > 0) return;
  unreachable_since_ = absl::Now();
  log->warn(
      "cannot connect to the database: {}; calls that need it answer UNAVAILABLE until it is "
      "back, and further failed attempts are counted "
      "(token_service_db_errors_total{{kind=\"connect\"}}), not logged",
      reason);
}

void PgPool::Connected() {
  static const auto log = Logger("db");
  absl::MutexLock lock(&outage_mu_);
  if (failed_attempts_ == 0) return;
  log->info("database reachable again after {} failed connection attempts over {}",
            failed_attempts_, absl::FormatDuration(absl::Now() - unreachable_since_));
  failed_attempts_ = 0;
}

void PgPool::DropConnection(Slot& slot) {
  if (slot.conn == nullptr) return;
  slot.conn.reset();
  open_connections_.fetch_sub(1, std::memory_order_relaxed);
}

void PgPool::Release(Slot* slot, bool broken) {
  if (broken) DropConnection(*slot);
  absl::MutexLock lock(&mu_);
  free_.push_back(slot);
}

absl::Status PgPool::Transact(absl::string_view what, const Work& fn) {
  absl::Status status;
  for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
    absl::StatusOr<Slot*> slot = Acquire();
    if (!slot.ok()) return slot.status();
    bool broken = false;
    // A connection that broke before COMMIT was sent rolled the transaction
    // back, so running it again on a fresh connection is safe; this is what
    // makes the first call after a database restart succeed. A break during
    // COMMIT (in_doubt_error) is not retried: the outcome is unknown.
    bool retry = false;
    try {
      pqxx::work txn(*(*slot)->conn, std::string(what));
      status = fn(txn);
      if (status.ok()) txn.commit();
    } catch (const pqxx::broken_connection&) {
      status = StatusFromCurrentException(what);
      CountError(status);
      broken = retry = true;
    } catch (...) {
      status = StatusFromCurrentException(what);
      CountError(status);
      broken = absl::IsUnavailable(status) || absl::IsUnknown(status);
      retry = absl::IsAborted(status);
    }
    Release(*slot, broken);
    if (!retry) return status;
  }
  return status;
}

void PgPool::CountError(const absl::Status& status) {
  if (absl::IsUnavailable(status) || absl::IsUnknown(status)) {
    connections_lost_.fetch_add(1, std::memory_order_relaxed);
  } else if (absl::IsAborted(status)) {
    conflicts_.fetch_add(1, std::memory_order_relaxed);
  } else if (absl::IsInternal(status)) {
    query_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

PgPool::Stats PgPool::stats() const {
  Stats stats;
  stats.connect_failures = connect_failures_.load(std::memory_order_relaxed);
  stats.pool_timeouts = pool_timeouts_.load(std::memory_order_relaxed);
  stats.connections_lost = connections_lost_.load(std::memory_order_relaxed);
  stats.query_errors = query_errors_.load(std::memory_order_relaxed);
  stats.conflicts = conflicts_.load(std::memory_order_relaxed);
  stats.open_connections = open_connections_.load(std::memory_order_relaxed);
  return stats;
}

absl::Status PgPool::Ping() {
  return Transact("ping", [](pqxx::work& txn) {
    txn.exec1("SELECT 1");
    return absl::OkStatus();
  });
}

}  // namespace tokens::service
