// Requests no well-behaved client sends, against the real token-service over
// real gRPC: each case asserts the answer the caller gets and what the
// server writes to its log.
#include <chrono>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

constexpr std::chrono::seconds kCallDeadline(30);

class HostileRequestTest : public TokenServiceTest {
 protected:
  // A context carrying one `authorization` entry per value.
  static std::unique_ptr<grpc::ClientContext> WithAuthorizations(
      const std::vector<std::string>& values) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    for (const std::string& value : values) ctx->AddMetadata("authorization", value);
    ctx->set_deadline(std::chrono::system_clock::now() + kCallDeadline);
    return ctx;
  }

  grpc::Status GetProfile(const std::vector<std::string>& authorizations) {
    v1::GetProfileRequest request;
    v1::GetProfileResponse response;
    return tokens_->GetProfile(WithAuthorizations(authorizations).get(), request, &response);
  }
};

// Proxies and libraries disagree on which of two copies counts; the sidecar
// and the client library refuse them, and so does token-service.
TEST_F(HostileRequestTest, TwoAuthorizationHeadersAreRefusedEvenWhenBothAreValid) {
  const std::string bearer = "Bearer " + admin_token_;
  ASSERT_TRUE(GetProfile({bearer}).ok());

  for (const std::vector<std::string>& values : std::vector<std::vector<std::string>>{
           {bearer, bearer}, {bearer, "Bearer utk_not_a_token"}, {"", bearer}}) {
    const grpc::Status status = GetProfile(values);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    EXPECT_EQ(status.error_message(), "more than one authorization header");
  }
  EXPECT_THAT(service_->process().Stderr(), ::testing::Not(HasSubstr(admin_token_)));
}

TEST_F(HostileRequestTest, TwoAuthorizationHeadersOpenNoSyncTokensStream) {
  const std::string service = "Bearer " + NewUserWithToken("sidecar", v1::SERVICE);
  auto ctx = WithAuthorizations({service, service});
  v1::SyncTokensRequest request;
  std::unique_ptr<grpc::ClientReader<v1::SyncTokensResponse>> reader =
      sync_->SyncTokens(ctx.get(), request);
  v1::SyncTokensResponse message;
  EXPECT_FALSE(reader->Read(&message));
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_EQ(status.error_message(), "more than one authorization header");
}

}  // namespace
}  // namespace tokens::testing
