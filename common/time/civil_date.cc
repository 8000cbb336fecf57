#include "common/time/civil_date.h"

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace tokens {
namespace {

constexpr char kBadFormat[] = "must be a date in YYYY-MM-DD format";
constexpr char kNotADate[] = "is not a calendar date";

// Compared by hand instead of std::isdigit: that one depends on the locale and
// is undefined for negative chars (bytes >= 0x80).
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Value of the all-digit field text[pos, pos + len).
int Field(absl::string_view text, size_t pos, size_t len) {
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (text[i] - '0');
  return v;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[month - 1];
}

}  // namespace

absl::StatusOr<absl::CivilDay> ParseIsoDate(absl::string_view text) {
  // Strict on purpose: absl::ParseCivilTime and strptime accept (and
  // normalise) things like "2026-02-30" or unpadded fields, which would let a
  // typo silently become a different expiry date.
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
    return absl::InvalidArgumentError(kBadFormat);
  }
  static constexpr size_t kDigitPositions[] = {0, 1, 2, 3, 5, 6, 8, 9};
  for (size_t i : kDigitPositions) {
    if (!IsDigit(text[i])) return absl::InvalidArgumentError(kBadFormat);
  }
  const int year = Field(text, 0, 4);
  const int month = Field(text, 5, 2);
  const int day = Field(text, 8, 2);
  // Year 0000 is well-formed text but outside the range we (and most other
  // ISO 8601 consumers) agree on, so it is reported like "2026-13-01".
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
    return absl::InvalidArgumentError(kNotADate);
  }
  return absl::CivilDay(year, month, day);
}

std::string FormatIsoDate(absl::CivilDay day) {
  // absl::FormatCivilTime does not zero-pad the year ("1-01-01"); the
  // YYYY-MM-DD contract (and ParseIsoDate round-tripping) needs 4 digits.
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02d-%02d", static_cast<long long>(day.year()),
                day.month(), day.day());
  return buf;
}

absl::CivilDay UtcDay(absl::Time t) {
  // Checked on every token check: whole days since the epoch, rounded down
  // (before 1970 too), give the day without the time-zone machinery.
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) {
    return absl::ToCivilDay(t, absl::UTCTimeZone());
  }
  constexpr int64_t kSecondsPerDay = 24 * 60 * 60;
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounded down
  int64_t days = seconds / kSecondsPerDay;
  if (seconds % kSecondsPerDay < 0) --days;
  return absl::CivilDay(1970, 1, 1) + days;
}

absl::Time StartOfUtcDay(absl::CivilDay day) { return absl::FromCivil(day, absl::UTCTimeZone()); }

}  // namespace tokens
