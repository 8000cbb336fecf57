#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"

namespace tokens::service {

// A fixed-size pool of libpqxx connections, opened lazily and reopened after
// they break, so a database restart needs no service restart. Transact() is
// the only way in: it runs a function inside a transaction and turns every
// libpqxx exception into an absl::Status, so nothing above storage ever sees
// one (Run<T> is the typed form the stores use):
//   broken_connection                   -> UNAVAILABLE (connection dropped;
//                                          nothing was committed: safe to retry)
//   in_doubt_error, statement_completion_unknown
//                                       -> UNKNOWN (connection dropped during
//                                          COMMIT: the change may or may not
//                                          have been applied; never retried)
//   unique_violation                    -> ALREADY_EXISTS (message: constraint;
//                                          the stores meet expected conflicts
//                                          with ON CONFLICT, so this is a
//                                          conflict nobody planned for)
//   serialization_failure, deadlock     -> retried, then ABORTED
//   any other error                     -> INTERNAL
// Log lines carry the first line of PostgreSQL's message only: details can
// quote row values. A database that cannot be reached is logged once per
// outage, with the number of failed attempts when it is back.
class PgPool {
 public:
  struct Options {
    int size = 8;
    // How long a caller waits for a free connection before UNAVAILABLE.
    absl::Duration acquire_timeout = absl::Seconds(5);
    // Server-side limit on each statement.
    absl::Duration statement_timeout = absl::Seconds(10);
  };

  PgPool(std::string url, Options options);
  ~PgPool();

  using Work = std::function<absl::Status(pqxx::work&)>;
  // Runs `fn` in a READ COMMITTED transaction and commits if it returns OK
  // (aborts otherwise). `what` names the operation in logs.
  absl::Status Transact(absl::string_view what, const Work& fn);

  // Transact for a function that returns a value: its StatusOr, committed if
  // OK. The function may run more than once (see the retries above); only
  // the last run's value is returned. Every store method is one Run.
  template <typename T>
  absl::StatusOr<T> Run(absl::string_view what,
                        absl::FunctionRef<absl::StatusOr<T>(pqxx::work&)> fn) {
    std::optional<T> value;
    absl::Status status = Transact(what, [&](pqxx::work& txn) {
      absl::StatusOr<T> result = fn(txn);
      if (!result.ok()) return result.status();
      value = *std::move(result);
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    return *std::move(value);
  }

  // Opens one connection now; for start-up checks.
  absl::Status Ping();

  // Database trouble so far, for metrics. Errors a transaction's own code
  // returns (NOT_FOUND, ...) are not counted: only what the database did.
  struct Stats {
    uint64_t connect_failures = 0;  // could not open a connection
    uint64_t pool_timeouts = 0;     // no free connection within acquire_timeout
    uint64_t connections_lost = 0;  // a connection broke during a transaction (or its commit)
    uint64_t query_errors = 0;      // other database errors (INTERNAL)
    uint64_t conflicts = 0;         // serialization failures and deadlocks (retried)
    int64_t open_connections = 0;
  };
  Stats stats() const;

 private:
  struct Slot;
  absl::StatusOr<Slot*> Acquire();
  void Release(Slot* slot, bool broken);
  // Closes the slot's connection, if any (the slot is held by the caller).
  void DropConnection(Slot& slot);

  // Counts the exception-derived `status` of a transaction.
  void CountError(const absl::Status& status);

  // An outage is logged once, not once per attempt: a restart under load
  // would otherwise write a line per call. The first failed attempt logs
  // its reason; the first success after it logs how many attempts failed.
  void ConnectFailed(absl::string_view reason) ABSL_LOCKS_EXCLUDED(outage_mu_);
  void Connected() ABSL_LOCKS_EXCLUDED(outage_mu_);

  const std::string url_;
  const Options options_;
  std::atomic<uint64_t> connect_failures_{0};
  std::atomic<uint64_t> pool_timeouts_{0};
  std::atomic<uint64_t> connections_lost_{0};
  std::atomic<uint64_t> query_errors_{0};
  std::atomic<uint64_t> conflicts_{0};
  std::atomic<int64_t> open_connections_{0};
  absl::Mutex outage_mu_;
  uint64_t failed_attempts_ ABSL_GUARDED_BY(outage_mu_) = 0;  // in this outage; 0: none
  absl::Time unreachable_since_ ABSL_GUARDED_BY(outage_mu_);
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot*> free_ ABSL_GUARDED_BY(mu_);
};

// Converts the exception in flight (call only inside a catch block) to a
// status, per the table above. Exposed for storage code that manages its own
// connection (migrations).
absl::Status StatusFromCurrentException(absl::string_view what);

}  // namespace tokens::service
