#include "services/token_service/transport/failed_auth_log.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const absl::Status kUnknown = absl::UnauthenticatedError("unknown token");
const absl::Status kMalformed = absl::UnauthenticatedError("malformed token");

class FailedAuthLogTest : public ::testing::Test {
 protected:
  FailedAuthLogOptions Options(int detailed) {
    FailedAuthLogOptions options;
    options.interval = absl::Seconds(10);
    options.detailed_per_interval = detailed;
    return options;
  }

  FailedAuthLog::Writer Capture() {
    // The message, then the fields as the JSON line carries them.
    return [this](absl::string_view msg, const LogFields& fields) {
      lines_.push_back(std::string(msg) + fields.ToJson());
    };
  }

  FakeClock clock_{absl::FromCivil(absl::CivilSecond(2026, 11, 28, 12, 0, 0), absl::UTCTimeZone())};
  std::vector<std::string> lines_;
};

TEST(CallFieldsTest, NameTheMethodCallerOutcomeTimeAndClient) {
  EXPECT_EQ(CallFields({"GetToken", "alice", "7f3a", "192.0.2.1", absl::OkStatus(),
                        absl::Microseconds(1250)})
                .ToJson(),
            R"(,"method":"GetToken","code":"OK","user_id":"alice","token_id":"7f3a",)"
            R"("duration_ms":1.25,"peer":"192.0.2.1")");
  // What is not known is left out; a failure says why.
  EXPECT_EQ(CallFields({"GetToken", {}, {}, {}, kUnknown, absl::Milliseconds(2)}).ToJson(),
            R"(,"method":"GetToken","code":"UNAUTHENTICATED","duration_ms":2,)"
            R"("error":"unknown token")");
  EXPECT_EQ(CallFields({"CreateToken",
                        "bob",
                        {},
                        "::1",
                        absl::InvalidArgumentError("name: must not be \"empty\""),
                        absl::Nanoseconds(703125)})
                .ToJson(),
            R"(,"method":"CreateToken","code":"INVALID_ARGUMENT","user_id":"bob",)"
            R"("duration_ms":0.703125,"peer":"::1","error":"name: must not be \"empty\"")");
}

TEST_F(FailedAuthLogTest, TheFirstCallsAreWrittenOneByOneAndTheRestSummedUpOnce) {
  FailedAuthLog log(clock_, Options(/*detailed=*/2), Capture());
  for (int i = 0; i < 5; ++i)
    log.Record("GetProfile", "203.0.113.7", kUnknown, absl::ZeroDuration());
  log.Record("ListTokens", "198.51.100.1", kMalformed, absl::ZeroDuration());
  ASSERT_THAT(lines_, SizeIs(2));
  EXPECT_EQ(lines_[0],
            R"(GetProfile,"method":"GetProfile","code":"UNAUTHENTICATED","duration_ms":0,)"
            R"("peer":"203.0.113.7","error":"unknown token")");

  log.Flush();  // the interval is not over
  EXPECT_THAT(lines_, SizeIs(2));
  clock_.Advance(absl::Seconds(10));
  log.Flush();
  ASSERT_THAT(lines_, SizeIs(3));
  EXPECT_EQ(lines_[2],
            "4 more failed authentications in the last 10s not logged one by one: unknown token "
            "3, malformed token 1; busiest clients: 203.0.113.7 3, 198.51.100.1 1 (of 2 in all)"
            R"(,"failed_calls":4)");
  log.Flush();
  EXPECT_THAT(lines_, SizeIs(3));
}

TEST_F(FailedAuthLogTest, ANewIntervalWritesItsFirstCallsAgain) {
  FailedAuthLog log(clock_, Options(1), Capture());
  log.Record("GetProfile", "203.0.113.7", kUnknown, absl::ZeroDuration());
  log.Record("GetProfile", "203.0.113.7", kUnknown, absl::ZeroDuration());
  clock_.Advance(absl::Seconds(11));
  // The next failure ends the old interval itself, no flush needed.
  log.Record("GetProfile", "203.0.113.7", kUnknown, absl::ZeroDuration());
  ASSERT_THAT(lines_, SizeIs(3));
  EXPECT_THAT(lines_[1], HasSubstr("1 more failed authentications in the last 11s"));
  EXPECT_THAT(lines_[2], HasSubstr(R"(GetProfile,"method":"GetProfile","code":"UNAUTHENTICATED")"));
}

TEST_F(FailedAuthLogTest, AQuietIntervalWritesNothing) {
  FailedAuthLog log(clock_, Options(5), Capture());
  log.Record("GetProfile", "203.0.113.7", kUnknown, absl::ZeroDuration());
  clock_.Advance(absl::Minutes(5));
  log.Flush();
  EXPECT_THAT(lines_, SizeIs(1));
}

TEST_F(FailedAuthLogTest, ClientsAndReasonsCountedApartAreBounded) {
  FailedAuthLogOptions options = Options(0);
  options.max_clients = 2;
  options.max_reasons = 1;
  options.clients_named = 1;
  FailedAuthLog log(clock_, options, Capture());
  log.Record("GetProfile", "192.0.2.1", kUnknown, absl::ZeroDuration());
  log.Record("GetProfile", "192.0.2.1", kUnknown, absl::ZeroDuration());
  log.Record("GetProfile", "192.0.2.2", kMalformed, absl::ZeroDuration());
  log.Record("GetProfile", "192.0.2.3", kMalformed, absl::ZeroDuration());
  log.Record("GetProfile", "", kUnknown, absl::ZeroDuration());
  clock_.Advance(absl::Seconds(10));
  log.Flush();
  EXPECT_THAT(lines_, ElementsAre("5 more failed authentications in the last 10s not logged one "
                                  "by one: unknown token 3, other 2; busiest clients: 192.0.2.1 "
                                  "2 (of 2 in all, and 2 calls from more),\"failed_calls\":5"));
}

TEST_F(FailedAuthLogTest, WhatIsLeftIsSummedUpWhenTheLogEnds) {
  {
    FailedAuthLog log(clock_, Options(0), Capture());
    log.Record("GetProfile", "", kUnknown, absl::ZeroDuration());
    clock_.Advance(absl::Seconds(3));
  }
  EXPECT_THAT(lines_, ElementsAre("1 more failed authentications in the last 3s not logged one by "
                                  "one: unknown token 1; busiest clients: (no address) 1 (of 1 in "
                                  "all),\"failed_calls\":1"));
}

TEST_F(FailedAuthLogTest, NoFailureNoLine) {
  { FailedAuthLog log(clock_, Options(0), Capture()); }
  EXPECT_THAT(lines_, IsEmpty());
}

}  // namespace
}  // namespace tokens::service
