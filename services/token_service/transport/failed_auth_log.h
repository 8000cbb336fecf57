#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/log/json_logger.h"
#include "common/time/clock.h"

namespace tokens::service {

// A finished call, as its request-log line tells it; never metadata or
// request fields, which may hold secrets. Views: the line is written before
// what they point into goes.
struct CallRecord {
  absl::string_view method;    // the short name, e.g. "CreateToken"
  absl::string_view user_id;   // the caller; empty when it did not authenticate
  absl::string_view token_id;  // the token it authenticated with; empty when unknown
  absl::string_view peer;      // the client's IP address; empty when unknown
  absl::Status status;
  absl::Duration elapsed;
};

// The request-log line's fields: method, code (gRPC's name), user_id and
// token_id (when known), duration_ms (a number), peer (when known) and, for
// a call that failed, error (the status message). Views into `call`.
LogFields CallFields(const CallRecord& call);

// Writes `call`'s request-log line: logger "rpc", info, the method as msg,
// CallFields as keys.
void LogCall(const CallRecord& call);
struct FailedAuthLogOptions {
  absl::Duration interval = absl::Seconds(10);
  // Failed calls of an interval written one by one; the rest are summed up.
  int detailed_per_interval = 10;
  // Bounds on what one interval's summary counts apart: client addresses
  // and reasons beyond them are counted together.
  size_t max_clients = 1000;
  size_t max_reasons = 16;
  // The busiest clients the summary names.
  size_t clients_named = 3;
};

// The log of calls refused before their handler ran because the caller did
// not authenticate (or was over its budget of failed authentications). A
// client sending made-up tokens as fast as it can would otherwise write an
// request-log line per call: of each interval the first calls are written as
// request-log lines (with the client's address), and one line sums up the
// rest: how many, why, and from where. Thread-safe.
class FailedAuthLog {
 public:
  using Writer = std::function<void(absl::string_view msg, const LogFields& fields)>;
  // `writer` gets each line; by default the "rpc" logger at info level.
  FailedAuthLog(const Clock& clock, FailedAuthLogOptions options = {}, Writer writer = nullptr);
  // Stops the flushing thread, if started, and sums up what is left.
  ~FailedAuthLog();

  // Starts a thread that writes each interval's summary soon after it ends,
  // when no later failure comes to write it.
  void StartFlushing();

  void Record(absl::string_view method, absl::string_view client, const absl::Status& status,
              absl::Duration elapsed) ABSL_LOCKS_EXCLUDED(mu_);

  // Writes the summary of the current interval if it is over.
  void Flush() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Ends the interval that started at interval_start_ if `now` is past it,
  // writing its summary if anything was not written one by one.
  void EndIntervalIfOver(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The line that sums up what was not written one by one since
  // interval_start_, if anything.
  void WriteSummary(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const FailedAuthLogOptions options_;
  const Writer writer_;
  absl::Mutex mu_;
  absl::Time interval_start_ ABSL_GUARDED_BY(mu_);
  int written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t summed_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, uint64_t> by_reason_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> by_client_ ABSL_GUARDED_BY(mu_);
  uint64_t other_clients_ ABSL_GUARDED_BY(mu_) = 0;  // calls from clients past max_clients
  absl::Notification stop_;
  std::thread flusher_;
};

}  // namespace tokens::service
