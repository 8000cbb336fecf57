#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "sidecar/domain/feed.h"
#include "sidecar/domain/token_cache.h"

// Keeps the TokenCache in step with token-service: one SyncTokens stream at a
// time from a FeedSource, its messages applied by a FeedApplier, resumed from
// the cache's version whenever it ends (when, see ReconnectBackoff). While
// token-service is unreachable the cache keeps serving what it has; a cache
// that never loaded a snapshot stays unloaded (and the sidecar fails closed).
namespace tokens::sidecar {

class SyncClient {
 public:
  struct Options {
    absl::Duration initial_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(5);
    // The part of the backoff to wait, in [0, 1]; uniformly random unless a
    // test pins it.
    std::function<double()> jitter;
  };

  // `on_loaded` runs once, after the first snapshot is published. `clock`
  // times the streams and stamps the stats.
  SyncClient(FeedSource& source, TokenCache& cache, const Clock& clock, Options options,
             std::function<void()> on_loaded);
  ~SyncClient();  // Stop()s

  void Start();
  // Cancels the stream (or the wait for the next one) and joins the thread.
  // Idempotent.
  void Stop();

  // The feed's health, for metrics.
  struct Stats {
    uint64_t streams_opened = 0;
    uint64_t snapshots_loaded = 0;
    uint64_t deltas_applied = 0;
    // A stream is open and has delivered a snapshot or a delta.
    bool stream_up = false;
    absl::Time last_message_at = absl::InfinitePast();  // last message applied
    absl::Duration last_snapshot_duration;              // first message to Publish()
    uint64_t last_snapshot_tokens = 0;
  };
  Stats stats() const;

 private:
  void Run();
  // One stream, until it ends or Stop(). Returns whether it applied a
  // snapshot or a delta.
  bool RunStream();

  FeedSource& source_;
  TokenCache& cache_;
  const Clock& clock_;
  const Options options_;
  std::function<void()> on_loaded_;
  bool loaded_reported_ = false;  // touched by the sync thread only

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  FeedStream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;  // the open stream, for Stop()
  std::thread thread_;
};

}  // namespace tokens::sidecar
