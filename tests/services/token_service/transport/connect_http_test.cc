#include "services/token_service/transport/connect_http.h"

#include <string>

#include "absl/strings/escaping.h"
#include "common/status/field_error.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "services/token_service/transport/status_conversion.h"

namespace tokens::service {
namespace {

// Connect's table (https://connectrpc.com/docs/protocol#error-codes), code
// by code.
TEST(ConnectHttpStatusTest, EveryCodeHasConnectsNameAndStatus) {
  struct Row {
    grpc::StatusCode code;
    const char* name;
    int http;
  };
  const Row rows[] = {
      {grpc::StatusCode::CANCELLED, "canceled", 499},
      {grpc::StatusCode::UNKNOWN, "unknown", 500},
      {grpc::StatusCode::INVALID_ARGUMENT, "invalid_argument", 400},
      {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline_exceeded", 504},
      {grpc::StatusCode::NOT_FOUND, "not_found", 404},
      {grpc::StatusCode::ALREADY_EXISTS, "already_exists", 409},
      {grpc::StatusCode::PERMISSION_DENIED, "permission_denied", 403},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted", 429},
      {grpc::StatusCode::FAILED_PRECONDITION, "failed_precondition", 400},
      {grpc::StatusCode::ABORTED, "aborted", 409},
      {grpc::StatusCode::OUT_OF_RANGE, "out_of_range", 400},
      {grpc::StatusCode::UNIMPLEMENTED, "unimplemented", 501},
      {grpc::StatusCode::INTERNAL, "internal", 500},
      {grpc::StatusCode::UNAVAILABLE, "unavailable", 503},
      {grpc::StatusCode::DATA_LOSS, "data_loss", 500},
      {grpc::StatusCode::UNAUTHENTICATED, "unauthenticated", 401},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(ConnectCodeName(row.code), row.name);
    EXPECT_EQ(ConnectHttpStatus(row.code), row.http);
  }
}

google::protobuf::Struct Parse(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

TEST(ConnectErrorJsonTest, AFieldErrorBecomesABadRequestDetail) {
  const grpc::Status status = ToGrpcStatus(FieldError("expires_on", "must be a date, YYYY-MM-DD"));
  const google::protobuf::Struct error = Parse(ConnectErrorJson(status));
  EXPECT_EQ(error.fields().at("code").string_value(), "invalid_argument");
  EXPECT_EQ(error.fields().at("message").string_value(), status.error_message());
  const auto& details = error.fields().at("details").list_value();
  ASSERT_EQ(details.values_size(), 1);
  const auto& detail = details.values(0).struct_value().fields();
  EXPECT_EQ(detail.at("type").string_value(), "google.rpc.BadRequest");
  std::string value = detail.at("value").string_value();
  EXPECT_EQ(value.find('='), std::string::npos);
  while (value.size() % 4 != 0) value += '=';
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(value, &bytes));
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(bad_request.ParseFromString(bytes));
  ASSERT_EQ(bad_request.field_violations_size(), 1);
  EXPECT_EQ(bad_request.field_violations(0).field(), "expires_on");
  EXPECT_EQ(detail.at("debug")
                .struct_value()
                .fields()
                .at("fieldViolations")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("field")
                .string_value(),
            "expires_on");
}

TEST(ConnectErrorJsonTest, AMessageIsAlwaysValidJson) {
  const std::string message = std::string("quote \" backslash \\ newline \n nul ") +
                              std::string(1, '\0') + " bad utf-8 \xff end";
  const google::protobuf::Struct error =
      Parse(ConnectErrorJson(grpc::Status(grpc::StatusCode::NOT_FOUND, message)));
  EXPECT_EQ(error.fields().at("code").string_value(), "not_found");
  EXPECT_EQ(error.fields().at("message").string_value(),
            std::string("quote \" backslash \\ newline \n nul ") + std::string(1, '\0') +
                " bad utf-8 \xef\xbf\xbd end");
  EXPECT_EQ(error.fields().count("details"), 0u);
}

}  // namespace
}  // namespace tokens::service
