#pragma once

#include "absl/time/time.h"

// When SyncClient opens its next SyncTokens stream.
//
// After a stream that applied a message, at once: the stream was healthy
// and broke (token-service restarted, a connection was lost), and the new
// attempt waits for the connection by itself, so a sidecar resumes as soon as
// token-service is reachable again. After one that did not, jittered
// exponential backoff (full jitter, so sidecars that lost the same
// token-service do not come back in lockstep): a token-service that refuses
// at once (a revoked token, a role that is not SERVICE, a failing database)
// is not asked in a tight loop. The time the failed stream was open counts
// towards the wait, and one open for at least the longest backoff counts as
// healthy: a resumed stream may carry no message for hours and still be the
// one that a token-service restart ends.
namespace tokens::sidecar {

class ReconnectBackoff {
 public:
  ReconnectBackoff(absl::Duration initial, absl::Duration max);

  // How long to wait after a stream that was open for `open_for`. `jitter`
  // in [0, 1] is the part of the current backoff to wait.
  absl::Duration Next(bool applied_a_message, absl::Duration open_for, double jitter);

 private:
  const absl::Duration initial_;
  const absl::Duration max_;
  absl::Duration backoff_;
};

}  // namespace tokens::sidecar
