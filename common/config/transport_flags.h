#pragma once

#include <cstdint>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/grpc/transport_limits.h"

// The transport limit flags both binaries take (--max_concurrent_streams,
// --max_connection_idle, --max_connection_age, --max_connection_age_grace,
// --grpc_memory_quota, --max_metadata_size), defined once here. Each binary
// lists their environment variables in its own EnvBinding table.
namespace tokens {

// Reads and validates the flags (after parsing). INVALID_ARGUMENT names the
// flag at fault.
absl::StatusOr<TransportLimits> TransportLimitsFromFlags();

// "<digits>[B|KiB|MiB|GiB]", e.g. "268435456", "256MiB"; INVALID_ARGUMENT
// otherwise or on overflow.
absl::StatusOr<int64_t> ParseByteSize(absl::string_view text);

}  // namespace tokens
