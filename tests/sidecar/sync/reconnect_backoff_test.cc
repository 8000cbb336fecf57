// ReconnectBackoff: the waits after a sequence of streams.
#include "sidecar/sync/reconnect_backoff.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace tokens::sidecar {
namespace {

using absl::Milliseconds;
using absl::ZeroDuration;

// How a stream went, and the wait that must follow it.
struct Stream {
  bool applied_a_message;
  absl::Duration open_for;
  double jitter;
  absl::Duration wait;
};

struct Case {
  std::string name;
  std::vector<Stream> streams;  // with initial 100 ms, max 1 s
};

std::ostream& operator<<(std::ostream& out, const Case& c) { return out << c.name; }

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      {"AfterProgressAtOnce",
       {{true, ZeroDuration(), 1.0, ZeroDuration()}, {true, Milliseconds(1), 0.5, ZeroDuration()}}},
      {"RefusalsDoubleUpToTheMax",
       {{false, ZeroDuration(), 1.0, Milliseconds(100)},
        {false, ZeroDuration(), 1.0, Milliseconds(200)},
        {false, ZeroDuration(), 1.0, Milliseconds(400)},
        {false, ZeroDuration(), 1.0, Milliseconds(800)},
        {false, ZeroDuration(), 1.0, Milliseconds(1000)},
        {false, ZeroDuration(), 1.0, Milliseconds(1000)}}},
      {"JitterTakesPartOfTheBackoff",
       {{false, ZeroDuration(), 0.5, Milliseconds(50)},
        {false, ZeroDuration(), 0.0, ZeroDuration()},
        {false, ZeroDuration(), 0.25, Milliseconds(100)}}},
      {"ProgressStartsTheBackoffOver",
       {{false, ZeroDuration(), 1.0, Milliseconds(100)},
        {false, ZeroDuration(), 1.0, Milliseconds(200)},
        {true, ZeroDuration(), 1.0, ZeroDuration()},
        {false, ZeroDuration(), 1.0, Milliseconds(100)}}},
      {"TheTimeAStreamWasOpenCountsTowardsTheWait",
       {{false, Milliseconds(30), 1.0, Milliseconds(70)},
        {false, Milliseconds(500), 1.0, ZeroDuration()},
        {false, ZeroDuration(), 1.0, Milliseconds(400)}}},
      {"AStreamOpenForTheLongestBackoffWasHealthy",
       {{false, ZeroDuration(), 1.0, Milliseconds(100)},
        {false, ZeroDuration(), 1.0, Milliseconds(200)},
        {false, absl::Seconds(1), 1.0, ZeroDuration()},
        {false, ZeroDuration(), 1.0, Milliseconds(100)}}},
  };
  return *cases;
}

class ReconnectBackoffTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReconnectBackoffTest, Waits) {
  ReconnectBackoff backoff(Milliseconds(100), absl::Seconds(1));
  const std::vector<Stream>& streams = GetParam().streams;
  for (size_t i = 0; i < streams.size(); ++i) {
    const Stream& s = streams[i];
    EXPECT_EQ(backoff.Next(s.applied_a_message, s.open_for, s.jitter), s.wait) << "stream " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Sequences, ReconnectBackoffTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& named) {
                           return named.param.name;
                         });

}  // namespace
}  // namespace tokens::sidecar
