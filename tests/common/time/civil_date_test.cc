#include "common/time/civil_date.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

constexpr char kBadFormat[] = "must be a date in YYYY-MM-DD format";
constexpr char kNotADate[] = "is not a calendar date";

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

TEST(ParseIsoDateTest, ValidDates) {
  struct Case {
    std::string text;
    absl::CivilDay want;
  };
  const std::vector<Case> cases = {
      {"2026-04-01", absl::CivilDay(2026, 4, 1)},
      {"2026-01-31", absl::CivilDay(2026, 1, 31)},
      {"2026-12-31", absl::CivilDay(2026, 12, 31)},
      {"2026-04-30", absl::CivilDay(2026, 4, 30)},
      {"2026-02-28", absl::CivilDay(2026, 2, 28)},
      {"2028-02-29", absl::CivilDay(2028, 2, 29)},  // leap year
      {"2000-02-29", absl::CivilDay(2000, 2, 29)},  // divisible by 400
      {"2024-02-29", absl::CivilDay(2024, 2, 29)},
      {"1970-01-01", absl::CivilDay(1970, 1, 1)},
      {"0001-01-01", absl::CivilDay(1, 1, 1)},       // smallest
      {"9999-12-31", absl::CivilDay(9999, 12, 31)},  // largest
      {"0099-09-09", absl::CivilDay(99, 9, 9)},
  };
  for (const Case& c : cases) {
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(c.text);
    ASSERT_TRUE(got.ok()) << c.text << ": " << got.status();
    EXPECT_EQ(*got, c.want) << c.text;
  }
}

TEST(ParseIsoDateTest, BadFormat) {
  const std::vector<std::string> cases = {
      "",
      "tomorrow",
      "2026-4-1",
      "2026-04-1",
      "2026-4-01",
      " 2026-04-01",
      "2026-04-01 ",
      "2026-04-01\n",
      "2026/04/01",
      "2026.04.01",
      "20260401",
      "2026-0401",
      "26-04-01",
      "02026-04-01",
      "+2026-04-01",
      "-2026-04-01",
      "+026-04-01",
      "-026-04-01",
      "2026-+4-01",
      "2026--4-01",
      "2026-04-+1",
      "2026-04- 1",
      " 026-04-01",
      "2026-04-0a",
      "2O26-04-01",  // letter O
      "2026-04-01T00:00:00Z",
      "2026-04-01T00",
      "2026_04_01",
      "2026-04:01",
      "abcd-ef-gh",
      "----------",
      "0000000000",
      std::string("2026-04-01\0", 11),
      std::string("2026-04-0\0", 10),
      std::string("\0\0\0\0\0\0\0\0\0\0", 10),
      "\xEF\xBC\x92\xEF\xBC\x90\xEF\xBC\x92\xEF\xBC\x96-04-01",  // fullwidth
      "\xD9\xA2\xD9\xA0\xD9\xA2\xD9\xA6",                        // Arabic-Indic digits
      "2026-04-\xFF\xFF",
      std::string(1 << 20, '1'),
  };
  for (const std::string& text : cases) {
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(text);
    ASSERT_FALSE(got.ok()) << "\"" << absl::CEscape(text) << "\"";
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), kBadFormat) << "\"" << absl::CEscape(text) << "\"";
  }
}

TEST(ParseIsoDateTest, NotACalendarDate) {
  const std::vector<std::string> cases = {
      "2027-02-29",  // not a leap year
      "1900-02-29",  // divisible by 100 but not 400
      "2100-02-29", "2028-02-30", "2026-02-30", "2026-02-31", "2026-04-31", "2026-06-31",
      "2026-09-31", "2026-11-31", "2026-01-32", "2026-12-32", "2026-01-99", "2026-01-00",
      "2026-13-01", "2026-00-10", "2026-99-01", "0000-01-01", "0000-00-00",
  };
  for (const std::string& text : cases) {
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(text);
    ASSERT_FALSE(got.ok()) << text;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), kNotADate) << text;
  }
}

TEST(ParseIsoDateTest, MessagesDoNotEchoTheInput) {
  // Callers prepend the field name; the input itself stays out of messages.
  for (const char* text : {"tomorrow", "2026-02-30"}) {
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(text);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(std::string(got.status().message()).find(text), std::string::npos);
  }
}

TEST(ParseIsoDateTest, EveryDayOfSeveralCenturiesRoundTrips) {
  // Covers every month length and every leap rule (1900, 2000, 2100).
  const absl::CivilDay first(1896, 1, 1);
  const absl::CivilDay last(2104, 12, 31);
  for (absl::CivilDay d = first; d <= last; ++d) {
    const std::string text = FormatIsoDate(d);
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(text);
    ASSERT_TRUE(got.ok()) << text;
    ASSERT_EQ(*got, d) << text;

    // The day after the last day of each month is rejected, not normalised
    // into the next month.
    const absl::CivilDay next = d + 1;
    if (next.month() != d.month()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", static_cast<int>(d.year()), d.month(),
                    d.day() + 1);
      const absl::StatusOr<absl::CivilDay> bad = ParseIsoDate(buf);
      ASSERT_FALSE(bad.ok()) << buf;
      ASSERT_EQ(bad.status().message(), kNotADate) << buf;
    }
  }
}

TEST(FormatIsoDateTest, ZeroPadded) {
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(2026, 4, 1)), "2026-04-01");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(2028, 2, 29)), "2028-02-29");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(2026, 12, 31)), "2026-12-31");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(1, 1, 1)), "0001-01-01");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(99, 9, 9)), "0099-09-09");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(999, 10, 10)), "0999-10-10");
  EXPECT_EQ(FormatIsoDate(absl::CivilDay(9999, 12, 31)), "9999-12-31");
}

TEST(FormatIsoDateTest, RoundTripsAtTheEdgesOfTheRange) {
  for (absl::CivilDay d :
       {absl::CivilDay(1, 1, 1), absl::CivilDay(1, 12, 31), absl::CivilDay(9999, 1, 1),
        absl::CivilDay(9999, 12, 31), absl::CivilDay(2028, 2, 29)}) {
    const absl::StatusOr<absl::CivilDay> got = ParseIsoDate(FormatIsoDate(d));
    ASSERT_TRUE(got.ok()) << FormatIsoDate(d);
    EXPECT_EQ(*got, d);
  }
}

TEST(UtcDayTest, DayBoundaries) {
  EXPECT_EQ(UtcDay(Utc(2026, 4, 1, 0, 0, 0)), absl::CivilDay(2026, 4, 1));
  EXPECT_EQ(UtcDay(Utc(2026, 4, 1, 23, 59, 59)), absl::CivilDay(2026, 4, 1));
  EXPECT_EQ(UtcDay(Utc(2026, 4, 2, 0, 0, 0)), absl::CivilDay(2026, 4, 2));
  // The last nanosecond of a day still belongs to it.
  EXPECT_EQ(UtcDay(Utc(2026, 4, 2, 0, 0, 0) - absl::Nanoseconds(1)), absl::CivilDay(2026, 4, 1));
  // Leap day and year end.
  EXPECT_EQ(UtcDay(Utc(2028, 2, 29, 23, 59, 59)), absl::CivilDay(2028, 2, 29));
  EXPECT_EQ(UtcDay(Utc(2028, 2, 29, 23, 59, 59) + absl::Seconds(1)), absl::CivilDay(2028, 3, 1));
  EXPECT_EQ(UtcDay(Utc(2026, 12, 31, 23, 59, 59) + absl::Seconds(1)), absl::CivilDay(2027, 1, 1));
  // Before the epoch the day is floored, not truncated towards 1970.
  EXPECT_EQ(UtcDay(absl::UnixEpoch() - absl::Milliseconds(1)), absl::CivilDay(1969, 12, 31));
  EXPECT_EQ(UtcDay(absl::UnixEpoch()), absl::CivilDay(1970, 1, 1));
}

TEST(UtcDayTest, AgreesWithAbseilsUtcCivilDayAcrossCenturies) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  // A step that is not a whole number of hours or days, so the samples fall
  // at every time of day, on both sides of 1970.
  const absl::Duration step = absl::Hours(7) + absl::Minutes(13) + absl::Nanoseconds(1);
  for (absl::Time t = absl::FromCivil(absl::CivilSecond(1800, 1, 1, 0, 0, 0), utc);
       t < absl::FromCivil(absl::CivilSecond(2300, 1, 1, 0, 0, 0), utc); t += step) {
    ASSERT_EQ(UtcDay(t), absl::ToCivilDay(t, utc)) << t;
  }
  EXPECT_EQ(UtcDay(absl::InfinitePast()), absl::ToCivilDay(absl::InfinitePast(), utc));
  EXPECT_EQ(UtcDay(absl::InfiniteFuture()), absl::ToCivilDay(absl::InfiniteFuture(), utc));
}

TEST(UtcDayTest, IndependentOfLocalTimeZone) {
  // An instant written in another zone still lands on its UTC day.
  absl::TimeZone tokyo = absl::FixedTimeZone(9 * 60 * 60);
  const absl::Time t = absl::FromCivil(absl::CivilSecond(2026, 4, 2, 8, 59, 59), tokyo);
  EXPECT_EQ(UtcDay(t), absl::CivilDay(2026, 4, 1));
  EXPECT_EQ(UtcDay(t + absl::Seconds(1)), absl::CivilDay(2026, 4, 2));
}

TEST(StartOfUtcDayTest, Boundaries) {
  EXPECT_EQ(StartOfUtcDay(absl::CivilDay(1970, 1, 1)), absl::UnixEpoch());
  EXPECT_EQ(StartOfUtcDay(absl::CivilDay(2026, 4, 2)), Utc(2026, 4, 2, 0, 0, 0));
  EXPECT_EQ(StartOfUtcDay(absl::CivilDay(2026, 4, 2)) - absl::Seconds(1),
            Utc(2026, 4, 1, 23, 59, 59));
  EXPECT_EQ(StartOfUtcDay(absl::CivilDay(2028, 3, 1)) - StartOfUtcDay(absl::CivilDay(2028, 2, 28)),
            absl::Hours(48));
  EXPECT_EQ(absl::ToUnixSeconds(StartOfUtcDay(absl::CivilDay(2026, 4, 1))), 1775001600);
}

TEST(StartOfUtcDayTest, ExpiryBoundarySemantics) {
  // A token that "expires on" D works through D-1 23:59:59.999... UTC and
  // stops at D 00:00:00 UTC.
  const absl::CivilDay expires_on(2026, 4, 2);
  const absl::Time cutoff = StartOfUtcDay(expires_on);
  EXPECT_LT(Utc(2026, 4, 1, 23, 59, 59), cutoff);
  EXPECT_LT(cutoff - absl::Nanoseconds(1), cutoff);
  EXPECT_EQ(UtcDay(cutoff), expires_on);
  EXPECT_EQ(UtcDay(cutoff - absl::Nanoseconds(1)), expires_on - 1);
}

TEST(StartOfUtcDayTest, InverseOfUtcDay) {
  for (absl::CivilDay d(2025, 12, 25); d <= absl::CivilDay(2029, 1, 5); ++d) {
    const absl::Time start = StartOfUtcDay(d);
    ASSERT_EQ(UtcDay(start), d);
    ASSERT_EQ(UtcDay(start + absl::Hours(24) - absl::Nanoseconds(1)), d);
    ASSERT_EQ(StartOfUtcDay(UtcDay(start + absl::Hours(13))), start);
  }
}

}  // namespace
}  // namespace tokens
