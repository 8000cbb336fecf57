// The one place libpqxx exceptions end: each exception the pool can see and
// the status a caller gets for it. No database: the exceptions are thrown
// here as libpqxx would throw them.
#include "services/token_service/storage/pg_pool.h"

#include <exception>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "services/token_service/transport/status_conversion.h"

namespace tokens::service {
namespace {

using ::testing::HasSubstr;

absl::Status StatusOf(const std::function<void()>& do_throw) {
  try {
    do_throw();
  } catch (...) {
    return StatusFromCurrentException("test");
  }
  return absl::OkStatus();
}

struct Case {
  const char* name;
  std::function<void()> do_throw;
  absl::StatusCode code;
};

TEST(StatusFromCurrentExceptionTest, MapsEachExceptionToItsCode) {
  const Case cases[] = {
      {"broken_connection", [] { throw pqxx::broken_connection("server closed the connection"); },
       absl::StatusCode::kUnavailable},
      {"in_doubt_error", [] { throw pqxx::in_doubt_error("connection lost during commit"); },
       absl::StatusCode::kUnknown},
      {"statement_completion_unknown",
       [] { throw pqxx::statement_completion_unknown("statement completion unknown"); },
       absl::StatusCode::kUnknown},
      {"unique_violation", [] { throw pqxx::unique_violation("duplicate key", "INSERT", "23505"); },
       absl::StatusCode::kAlreadyExists},
      {"serialization_failure", [] { throw pqxx::serialization_failure("could not serialize"); },
       absl::StatusCode::kAborted},
      {"deadlock_detected", [] { throw pqxx::deadlock_detected("deadlock detected"); },
       absl::StatusCode::kAborted},
      {"query_canceled", [] { throw pqxx::sql_error("canceling statement", "SELECT", "57014"); },
       absl::StatusCode::kDeadlineExceeded},
      {"admin_shutdown", [] { throw pqxx::sql_error("terminating connection", "SELECT", "57P01"); },
       absl::StatusCode::kUnavailable},
      {"syntax_error", [] { throw pqxx::syntax_error("syntax error", "SELEC", "42601"); },
       absl::StatusCode::kInternal},
      {"other", [] { throw std::runtime_error("something else"); }, absl::StatusCode::kInternal},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(StatusOf(c.do_throw).code(), c.code) << c.name;
  }
}

// A client may retry UNAVAILABLE blindly (gRPC retry policies do); a commit
// whose outcome is unknown must not look like that, or a retried
// CreateToken could issue a second token.
TEST(StatusFromCurrentExceptionTest, AnInDoubtCommitIsNotReportedAsUnavailable) {
  const absl::Status in_doubt =
      StatusOf([] { throw pqxx::in_doubt_error("connection lost during commit"); });
  EXPECT_EQ(in_doubt.code(), absl::StatusCode::kUnknown);
  EXPECT_THAT(std::string(in_doubt.message()), HasSubstr("may or may not have been applied"));

  const grpc::Status answer = ToGrpcStatus(in_doubt);
  EXPECT_EQ(answer.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(answer.error_message(), in_doubt.message());
  EXPECT_NE(answer.error_code(),
            ToGrpcStatus(StatusOf([] { throw pqxx::broken_connection("gone"); })).error_code());
}

}  // namespace
}  // namespace tokens::service
