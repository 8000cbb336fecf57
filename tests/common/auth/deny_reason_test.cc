#include "common/auth/deny_reason.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace tokens {
namespace {

// The codes are in metric labels, in Envoy's JSON body and in dashboards:
// this table is their contract.
TEST(DenyReasonTest, CodesAreStable) {
  EXPECT_EQ(DenyReasonCode(DenyReason::kMissing), "missing");
  EXPECT_EQ(DenyReasonCode(DenyReason::kMalformed), "malformed");
  EXPECT_EQ(DenyReasonCode(DenyReason::kUnknown), "unknown");
  EXPECT_EQ(DenyReasonCode(DenyReason::kRevoked), "revoked");
  EXPECT_EQ(DenyReasonCode(DenyReason::kExpired), "expired");
  EXPECT_EQ(DenyReasonCode(DenyReason::kUserDisabled), "user_disabled");
}

TEST(DenyReasonTest, MessagesAreTheOnesBothProcessesAnswer) {
  EXPECT_EQ(DenyReasonMessage(DenyReason::kMissing), "missing bearer token");
  EXPECT_EQ(DenyReasonMessage(DenyReason::kMalformed), "malformed token");
  EXPECT_EQ(DenyReasonMessage(DenyReason::kUnknown), "unknown token");
  EXPECT_EQ(DenyReasonMessage(DenyReason::kRevoked), "token revoked");
  EXPECT_EQ(DenyReasonMessage(DenyReason::kExpired), "token expired");
  EXPECT_EQ(DenyReasonMessage(DenyReason::kUserDisabled), "user disabled");
}

TEST(DenyReasonTest, CodesAndMessagesAreDistinct) {
  std::set<std::string> codes;
  std::set<std::string> messages;
  for (int i = 0; i < kDenyReasonCount; ++i) {
    const auto reason = static_cast<DenyReason>(i);
    codes.emplace(DenyReasonCode(reason));
    messages.emplace(DenyReasonMessage(reason));
  }
  EXPECT_EQ(codes.size(), static_cast<size_t>(kDenyReasonCount));
  EXPECT_EQ(messages.size(), static_cast<size_t>(kDenyReasonCount));
}

}  // namespace
}  // namespace tokens
