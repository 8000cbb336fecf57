#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace tokens {

// A fixed set of threads running jobs from a bounded queue, for work that
// may block (a call to another service) and so must not run on gRPC's
// callback threads, which serve every other call meanwhile.
class WorkerPool {
 public:
  // `threads` >= 1 run the jobs; at most `max_queued` wait for one.
  WorkerPool(int threads, size_t max_queued);
  // Runs every job already queued, then joins the threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `job`. False when `max_queued` jobs are already waiting (or the
  // pool is shutting down): `job` is then destroyed without running, and the
  // caller answers without it.
  bool TrySchedule(absl::AnyInvocable<void() &&> job);

  struct Stats {
    uint64_t rejected = 0;  // TrySchedule calls that returned false
    size_t queued = 0;      // jobs waiting now
  };
  Stats stats() const;

 private:
  void Work();

  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;
};

}  // namespace tokens
