#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "services/token_service/domain/change_hub.h"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service {

// A snapshot of the change feed as the streams send it: every message
// already encoded, ending with SNAPSHOT_END. Immutable once built, so any
// number of streams read it at once, each at its own pace.
struct SnapshotImage {
  int64_t version = 0;  // the view's change version (SNAPSHOT_END's)
  absl::CivilDay day;   // holds the tokens still valid on this UTC day
  std::vector<std::string> messages;
  size_t tokens = 0;
  size_t bytes = 0;  // of all messages
};

// Turns the database's snapshot into encoded messages; the transport
// supplies it, so the domain never sees the wire format.
struct SnapshotEncoding {
  // Appends the SNAPSHOT messages of one chunk (at least one, also for an
  // empty chunk: a snapshot always opens with a message).
  std::function<void(const SnapshotChunk& chunk, std::vector<std::string>* out)> chunk;
  // The closing SNAPSHOT_END message.
  std::function<std::string(int64_t version)> end;
};

// The one snapshot a token-service process keeps and shares. Acquire()
// hands out the kept image while the change hub can still carry a stream
// forward from its version (the hub replays what changed since from
// memory) and it was read today; otherwise it reads a new one. One read at
// a time: whoever asks meanwhile waits for that read and shares its result,
// so however many sidecars start together, the database serves one
// snapshot. A read holds one pooled connection for its own duration only;
// no stream holds a connection or a transaction while it waits on the
// network.
class SnapshotImages {
 public:
  SnapshotImages(SyncStore& store, const ChangeHub& hub, const Clock& clock,
                 SnapshotEncoding encoding);

  SnapshotImages(const SnapshotImages&) = delete;
  SnapshotImages& operator=(const SnapshotImages&) = delete;

  // An image a new stream can start from. Blocks while a read runs. A failed
  // read is the error of every caller that waited for it.
  absl::StatusOr<std::shared_ptr<const SnapshotImage>> Acquire();

  // Forgets the kept image once no stream holds it and nobody asked for it
  // for `idle`, so a quiet process does not keep a large one in memory.
  void ReleaseIdle(absl::Duration idle);

  struct Stats {
    uint64_t reads = 0;  // snapshots read from the database
    uint64_t read_failures = 0;
    uint64_t shared = 0;  // Acquire() answered without a read of its own
    bool reading = false;
    size_t kept_bytes = 0;  // the kept image's messages (0: none kept)
    int64_t kept_version = 0;
  };
  Stats stats() const;

 private:
  // Reads and encodes a new image, without mu_.
  absl::StatusOr<std::shared_ptr<const SnapshotImage>> Read(absl::CivilDay today);

  SyncStore& store_;
  const ChangeHub& hub_;
  const Clock& clock_;
  const SnapshotEncoding encoding_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const SnapshotImage> kept_ ABSL_GUARDED_BY(mu_);
  absl::Time last_acquired_ ABSL_GUARDED_BY(mu_);
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  // Counts finished reads; a waiter watches it change.
  uint64_t reads_finished_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_read_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tokens::service
