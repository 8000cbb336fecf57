#include "services/token_service/transport/status_conversion.h"

#include <string>

#include "absl/status/status.h"
#include "common/status/field_error.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

TEST(ToGrpcStatusTest, Ok) {
  const grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_message(), "");
  EXPECT_EQ(status.error_details(), "");
}

class CanonicalCodeTest : public ::testing::TestWithParam<int> {};

TEST_P(CanonicalCodeTest, MapsToTheSameGrpcCodeWithTheMessage) {
  const auto code = static_cast<absl::StatusCode>(GetParam());
  const std::string message = "something about " + absl::StatusCodeToString(code);
  const grpc::Status status = ToGrpcStatus(absl::Status(code, message));
  EXPECT_EQ(static_cast<int>(status.error_code()), GetParam());
  EXPECT_EQ(status.error_message(), message);
  EXPECT_EQ(status.error_details(), "");  // no field, no details
}

// Every canonical code but OK (0): CANCELLED (1) ... UNAUTHENTICATED (16).
INSTANTIATE_TEST_SUITE_P(AllCodes, CanonicalCodeTest, ::testing::Range(1, 17));

TEST(ToGrpcStatusTest, SpotCheckTheCodesTheServiceUses) {
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("x")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::UnauthenticatedError("x")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ToGrpcStatus(absl::PermissionDeniedError("x")).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::AlreadyExistsError("x")).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(ToGrpcStatus(absl::FailedPreconditionError("x")).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A commit whose outcome is unknown (PgPool): not UNAVAILABLE, which
  // clients retry blindly.
  EXPECT_EQ(ToGrpcStatus(absl::UnknownError("x")).error_code(), grpc::StatusCode::UNKNOWN);
}

TEST(ToGrpcStatusTest, FieldErrorCarriesABadRequestDetail) {
  const grpc::Status status =
      ToGrpcStatus(FieldError("expires_on", "expiry date must be after 2026-11-28"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "expires_on: expiry date must be after 2026-11-28");

  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  EXPECT_EQ(rich.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(rich.message(), status.error_message());
  ASSERT_EQ(rich.details_size(), 1);
  ASSERT_TRUE(rich.details(0).Is<google::rpc::BadRequest>());
  EXPECT_EQ(rich.details(0).type_url(), "type.googleapis.com/google.rpc.BadRequest");

  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rich.details(0).UnpackTo(&bad_request));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "expires_on");
  EXPECT_EQ(bad_request.field_violations(0).description(), "expiry date must be after 2026-11-28");
}

TEST(ToGrpcStatusTest, FieldNamesAndDescriptionsSurviveVerbatim) {
  const std::string description = "must be at most 100 characters (got 101) \xE2\x80\xA6";
  const grpc::Status status = ToGrpcStatus(FieldError("page_token", description));
  google::rpc::Status rich;
  ASSERT_TRUE(rich.ParseFromString(status.error_details()));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rich.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations(0).field(), "page_token");
  EXPECT_EQ(bad_request.field_violations(0).description(), description);
}

TEST(ToGrpcStatusTest, NonFieldErrorsHaveNoDetails) {
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("name: not a field error")).error_details(),
            "");
  EXPECT_EQ(
      ToGrpcStatus(absl::PermissionDeniedError("this method needs the ADMIN role")).error_details(),
      "");
}

}  // namespace
}  // namespace tokens::service
