#include "sidecar/sync/sync_client.h"

#include <string>
#include <utility>

#include "absl/random/random.h"
#include "absl/status/statusor.h"
#include "common/log/json_logger.h"
#include "sidecar/domain/feed_applier.h"
#include "sidecar/sync/reconnect_backoff.h"

namespace tokens::sidecar {

SyncClient::SyncClient(FeedSource& source, TokenCache& cache, const Clock& clock, Options options,
                       std::function<void()> on_loaded)
    : source_(source),
      cache_(cache),
      clock_(clock),
      options_(std::move(options)),
      on_loaded_(std::move(on_loaded)) {}

SyncClient::~SyncClient() { Stop(); }

void SyncClient::Start() {
  thread_ = std::thread([this] { Run(); });
}

void SyncClient::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (stream_ != nullptr) stream_->Cancel();
  }
  if (thread_.joinable()) thread_.join();
}

SyncClient::Stats SyncClient::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void SyncClient::Run() {
  ReconnectBackoff backoff(options_.initial_backoff, options_.max_backoff);
  absl::BitGen random;
  while (true) {
    const absl::Time opened_at = clock_.Now();
    const bool applied = RunStream();
    const double jitter = options_.jitter ? options_.jitter() : absl::Uniform(random, 0.0, 1.0);
    const absl::Duration wait = backoff.Next(applied, clock_.Now() - opened_at, jitter);
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), wait)) return;
  }
}

bool SyncClient::RunStream() {
  const auto log = Logger("sync");
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    ++stats_.streams_opened;
  }
  // A warm cache resumes; token-service answers with a fresh snapshot if it
  // cannot serve the history since that version.
  const int64_t from_version = cache_.loaded() ? cache_.version() : 0;
  log->info("opening SyncTokens stream from version {}", from_version);
  std::unique_ptr<FeedStream> stream = source_.Open(from_version);
  {
    absl::MutexLock lock(&mu_);
    stream_ = stream.get();
    // Stop() came while the stream was being opened, with nothing to cancel.
    if (stopping_) stream->Cancel();
  }

  FeedApplier applier(cache_);
  bool applied = false;
  absl::Status refused;
  absl::Time snapshot_started;
  FeedMessage message;
  while (stream->Read(&message)) {
    absl::StatusOr<FeedApplier::Outcome> outcome = applier.Apply(message);
    if (!outcome.ok()) {
      refused = outcome.status();
      stream->Cancel();
      break;
    }
    const absl::Time now = clock_.Now();
    if (outcome->started_snapshot) snapshot_started = now;
    if (outcome->kind == FeedApplier::Outcome::Kind::kSnapshotPart) continue;
    applied = true;
    const bool published = outcome->kind == FeedApplier::Outcome::Kind::kSnapshotPublished;
    if (published) {
      log->info("snapshot loaded: {} tokens at version {}", outcome->snapshot_tokens,
                message.version);
    } else {
      log->debug("delta applied: {} users, {} tokens, version {}", message.users.size(),
                 message.tokens.size(), message.version);
    }
    {
      absl::MutexLock lock(&mu_);
      stats_.stream_up = true;
      stats_.last_message_at = now;
      if (published) {
        ++stats_.snapshots_loaded;
        stats_.last_snapshot_duration = now - snapshot_started;
        stats_.last_snapshot_tokens = outcome->snapshot_tokens;
      } else {
        ++stats_.deltas_applied;
      }
    }
    if (published && !loaded_reported_) {
      loaded_reported_ = true;
      if (on_loaded_) on_loaded_();
    }
  }
  const bool dropped_snapshot = applier.StreamEnded();
  const absl::Status status = stream->Finish();
  {
    absl::MutexLock lock(&mu_);
    stream_ = nullptr;
    stats_.stream_up = false;
    if (stopping_) return applied;
  }
  if (!refused.ok()) {
    log->error("SyncTokens sent a message the sidecar cannot apply ({}); reconnecting",
               refused.ToString());
  } else {
    log->warn("SyncTokens stream ended ({}); cache kept at version {}, reconnecting",
              status.ToString(), cache_.version());
  }
  if (dropped_snapshot) {
    log->warn("the stream ended inside a snapshot, which was dropped; the cache is unchanged");
  }
  return applied;
}

}  // namespace tokens::sidecar
