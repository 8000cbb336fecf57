#include "common/config/transport_flags.h"

#include <limits>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/config/env_flags.h"

ABSL_FLAG(int, max_concurrent_streams, tokens::TransportLimits{}.max_concurrent_streams,
          "Streams (calls) one client connection may have open at once, announced in HTTP/2 "
          "SETTINGS (gRPC clients and Envoy open another connection); a client that opens "
          "more loses the connection");
ABSL_FLAG(absl::Duration, max_connection_idle, tokens::TransportLimits{}.max_connection_idle,
          "A client connection without a call for this long is closed (0s: never)");
ABSL_FLAG(absl::Duration, max_connection_age, tokens::TransportLimits{}.max_connection_age,
          "A client connection is asked to reconnect (GOAWAY) after this long, ±10 % (0s: "
          "never); calls still open get --max_connection_age_grace");
ABSL_FLAG(absl::Duration, max_connection_age_grace,
          tokens::TransportLimits{}.max_connection_age_grace,
          "How long calls still open at --max_connection_age may take before the connection is "
          "closed");
ABSL_FLAG(std::string, grpc_memory_quota, "256MiB",
          "Memory gRPC may use for its connections' and calls' buffers: bytes, or a number "
          "with KiB, MiB or GiB (at least 1MiB)");
ABSL_FLAG(int, max_metadata_size, tokens::TransportLimits{}.max_metadata_size,
          "Bytes of request metadata (headers) one call may carry; more is refused "
          "RESOURCE_EXHAUSTED");

namespace tokens {
namespace {

// gRPC takes these as int milliseconds; a day is far below that bound.
absl::Status CheckOptionalDuration(const char* flag, absl::Duration value) {
  if (value == absl::ZeroDuration()) return absl::OkStatus();
  if (value < absl::Seconds(1) || value > absl::Hours(24)) {
    return InvalidFlag(flag, "must be between 1s and 24h, or 0s for no limit");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int64_t> ParseByteSize(absl::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  int64_t number = 0;
  if (digits == 0 || digits > 18 || !absl::SimpleAtoi(text.substr(0, digits), &number)) {
    return absl::InvalidArgumentError("expected a number of bytes, e.g. 268435456 or 256MiB");
  }
  const absl::string_view unit = text.substr(digits);
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "KiB") {
    shift = 10;
  } else if (unit == "MiB") {
    shift = 20;
  } else if (unit == "GiB") {
    shift = 30;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown unit \"", unit, "\" (expected B, KiB, MiB or GiB)"));
  }
  if (number > (std::numeric_limits<int64_t>::max() >> shift)) {
    return absl::InvalidArgumentError("too large");
  }
  return number << shift;
}

absl::StatusOr<TransportLimits> TransportLimitsFromFlags() {
  TransportLimits limits;
  limits.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  limits.max_connection_idle = absl::GetFlag(FLAGS_max_connection_idle);
  limits.max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  limits.max_connection_age_grace = absl::GetFlag(FLAGS_max_connection_age_grace);
  limits.max_metadata_size = absl::GetFlag(FLAGS_max_metadata_size);
  if (limits.max_concurrent_streams < 1 || limits.max_concurrent_streams > 100000) {
    return InvalidFlag("max_concurrent_streams", "must be between 1 and 100000");
  }
  if (absl::Status s = CheckOptionalDuration("max_connection_idle", limits.max_connection_idle);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckOptionalDuration("max_connection_age", limits.max_connection_age);
      !s.ok()) {
    return s;
  }
  if (limits.max_connection_age_grace < absl::ZeroDuration() ||
      limits.max_connection_age_grace > absl::Hours(24)) {
    return InvalidFlag("max_connection_age_grace", "must be between 0s and 24h");
  }
  absl::StatusOr<int64_t> quota = ParseByteSize(absl::GetFlag(FLAGS_grpc_memory_quota));
  if (!quota.ok()) return InvalidFlag("grpc_memory_quota", std::string(quota.status().message()));
  if (*quota < (int64_t{1} << 20)) return InvalidFlag("grpc_memory_quota", "must be at least 1MiB");
  limits.grpc_memory_quota = *quota;
  // Below 1 KiB a client's ordinary headers (user agent, authorization, trace
  // context) would not fit; above 1 MiB the limit bounds little.
  if (limits.max_metadata_size < 1024 || limits.max_metadata_size > (1 << 20)) {
    return InvalidFlag("max_metadata_size", "must be between 1024 and 1048576 bytes");
  }
  return limits;
}

}  // namespace tokens
