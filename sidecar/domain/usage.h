#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sidecar/domain/model.h"

// Last-used times: recorded in memory on every successful check, sent to
// token-service in batches.
namespace tokens::sidecar {

struct UsageRecord {
  TokenId token_id{};
  absl::Time last_used_at;
  std::string client_address;  // may be empty
};

// Aggregates per token, keeping the latest use. Record() is called on the
// hot path by many threads: state is striped per thread, so no single lock
// is shared by all checks.
class UsageRecorder {
 public:
  UsageRecorder();
  ~UsageRecorder();
  void Record(const TokenId& token_id, absl::Time when, absl::string_view client_address);
  // Everything recorded since the last Drain(), one record per token.
  std::vector<UsageRecord> Drain();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// token-service's ReportUsage, behind an interface.
class UsageSink {
 public:
  virtual ~UsageSink() = default;
  // OK once token-service has stored the batch.
  virtual absl::Status Report(const std::vector<UsageRecord>& batch) = 0;
};

struct UsageFlusherOptions {
  size_t max_batch = 10000;  // ReportUsage's limit
};

// Moves recorded usage into a pending set and sends it. What token-service
// has not acknowledged stays pending (merged with newer uses) and is sent
// again by the next Flush().
class UsageFlusher {
 public:
  UsageFlusher(UsageRecorder& recorder, UsageSink& sink, UsageFlusherOptions options = {});
  ~UsageFlusher();

  // Drains the recorder and sends all pending records in batches of at most
  // max_batch. Returns the first failure; the batches not yet acknowledged
  // stay pending, except one refused as INVALID_ARGUMENT, which would be
  // refused forever and is dropped (the error is still returned).
  // Thread-safe; calls are serialized.
  absl::Status Flush();
  size_t pending() const;

  // Batches so far, for metrics.
  struct Stats {
    uint64_t batches_sent = 0;     // acknowledged by token-service
    uint64_t batches_failed = 0;   // not acknowledged; kept and sent again
    uint64_t batches_dropped = 0;  // refused as INVALID_ARGUMENT
    uint64_t records_sent = 0;     // token uses in acknowledged batches
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokens::sidecar
