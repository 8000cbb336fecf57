#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace tokens {

// RLIMIT_NOFILE before and after RaiseFileLimit().
struct FileLimit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit. Every client connection
// costs a descriptor, and gRPC 1.51 stops accepting for good once accept()
// fails with EMFILE (see docs/operations.md), so a server should not stop
// at a distribution's soft default of 1024 when the hard limit allows more.
// INTERNAL if the limit cannot be read or set.
absl::StatusOr<FileLimit> RaiseFileLimit();

}  // namespace tokens
