#include "services/token_service/domain/snapshot_images.h"

#include <utility>

#include "common/log/json_logger.h"
#include "common/time/civil_date.h"

namespace tokens::service {

SnapshotImages::SnapshotImages(SyncStore& store, const ChangeHub& hub, const Clock& clock,
                               SnapshotEncoding encoding)
    : store_(store), hub_(hub), clock_(clock), encoding_(std::move(encoding)) {}

absl::StatusOr<std::shared_ptr<const SnapshotImage>> SnapshotImages::Acquire() {
  const absl::Time now = clock_.Now();
  const absl::CivilDay today = UtcDay(now);
  {
    absl::MutexLock lock(&mu_);
    last_acquired_ = now;
    for (;;) {
      if (kept_ != nullptr && kept_->day == today && hub_.CanReplayFrom(kept_->version)) {
        ++stats_.shared;
        return kept_;
      }
      if (!reading_) break;
      // Another caller is reading: share its result rather than read again.
      const uint64_t seen = reads_finished_;
      const auto finished = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return reads_finished_ != seen;
      };
      mu_.Await(absl::Condition(&finished));
      if (!last_read_.ok()) return last_read_;
      if (kept_ != nullptr) {
        ++stats_.shared;
        return kept_;
      }
    }
    reading_ = true;
    stats_.reading = true;
  }

  absl::StatusOr<std::shared_ptr<const SnapshotImage>> image = Read(today);

  absl::MutexLock lock(&mu_);
  reading_ = false;
  stats_.reading = false;
  ++reads_finished_;
  last_read_ = image.status();
  if (image.ok()) {
    kept_ = *image;
    ++stats_.reads;
  } else {
    ++stats_.read_failures;
  }
  return image;
}

absl::StatusOr<std::shared_ptr<const SnapshotImage>> SnapshotImages::Read(absl::CivilDay today) {
  static const auto log = Logger("feed");
  const absl::Time started = absl::Now();
  auto image = std::make_shared<SnapshotImage>();
  image->day = today;
  absl::StatusOr<int64_t> version = store_.Snapshot(today, [&](SnapshotChunk chunk) {
    image->tokens += chunk.tokens.size();
    encoding_.chunk(chunk, &image->messages);
    return absl::OkStatus();
  });
  if (!version.ok()) {
    log->warn("cannot read a snapshot of the change feed: {}", version.status().ToString());
    return version.status();
  }
  if (image->messages.empty()) encoding_.chunk(SnapshotChunk{}, &image->messages);
  image->messages.push_back(encoding_.end(*version));
  image->version = *version;
  for (const std::string& message : image->messages) image->bytes += message.size();
  log->info("snapshot read: {} tokens at version {}, {} messages, {} bytes, {:.1f} ms",
            image->tokens, image->version, image->messages.size(), image->bytes,
            absl::ToDoubleMilliseconds(absl::Now() - started));
  return std::shared_ptr<const SnapshotImage>(std::move(image));
}

void SnapshotImages::ReleaseIdle(absl::Duration idle) {
  std::shared_ptr<const SnapshotImage> released;
  absl::MutexLock lock(&mu_);
  // A count of 1 is final here: once no stream holds a copy, only Acquire()
  // can make one, and it needs mu_.
  if (kept_ != nullptr && kept_.use_count() == 1 && clock_.Now() - last_acquired_ >= idle) {
    released = std::move(kept_);
  }
}

SnapshotImages::Stats SnapshotImages::stats() const {
  absl::MutexLock lock(&mu_);
  Stats stats = stats_;
  stats.kept_bytes = kept_ != nullptr ? kept_->bytes : 0;
  stats.kept_version = kept_ != nullptr ? kept_->version : 0;
  return stats;
}

}  // namespace tokens::service
