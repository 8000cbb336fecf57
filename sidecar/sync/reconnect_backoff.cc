#include "sidecar/sync/reconnect_backoff.h"

#include <algorithm>

namespace tokens::sidecar {

ReconnectBackoff::ReconnectBackoff(absl::Duration initial, absl::Duration max)
    : initial_(initial), max_(std::max(initial, max)), backoff_(initial) {}

absl::Duration ReconnectBackoff::Next(bool applied_a_message, absl::Duration open_for,
                                      double jitter) {
  if (applied_a_message || open_for >= max_) {
    backoff_ = initial_;
    return absl::ZeroDuration();
  }
  const absl::Duration wait = backoff_ * std::clamp(jitter, 0.0, 1.0) - open_for;
  backoff_ = std::min(backoff_ * 2, max_);
  return std::max(wait, absl::ZeroDuration());
}

}  // namespace tokens::sidecar
