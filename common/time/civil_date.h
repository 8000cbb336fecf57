#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokens {

// Parses a calendar date written exactly as YYYY-MM-DD (four-digit year,
// two-digit month and day, a real day of the calendar). Anything else,
// "2026-4-1", "2026-02-30", "tomorrow", " 2026-04-01", is INVALID_ARGUMENT.
// The message does not name a field; callers add that.
absl::StatusOr<absl::CivilDay> ParseIsoDate(absl::string_view text);

// YYYY-MM-DD.
std::string FormatIsoDate(absl::CivilDay day);

// The UTC calendar day that contains `t`.
absl::CivilDay UtcDay(absl::Time t);

// 00:00:00 UTC of `day`: the first instant at which a token that
// "expires on" `day` no longer works.
absl::Time StartOfUtcDay(absl::CivilDay day);

}  // namespace tokens
