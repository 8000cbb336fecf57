#include "common/grpc/request_parsing.h"

#include <string>

#include "common/status/field_error.h"
#include "gtest/gtest.h"
#include "tokens/v1/sync.pb.h"
#include "tokens/v1/tokens.pb.h"

namespace tokens {
namespace {

constexpr char kNotUtf8[] = "caf\xC3\x28";

std::string LengthDelimited(int number, const std::string& payload) {
  // Field numbers and lengths below 16 and 128: one byte each.
  return std::string(1, static_cast<char>((number << 3) | 2)) +
         std::string(1, static_cast<char>(payload.size())) + payload;
}

grpc::ByteBuffer Buffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

TEST(ParseRequestTest, ParsesAWellFormedRequest) {
  v1::CreateTokenRequest sent;
  sent.set_name("caf\xC3\xA9");
  sent.set_expires_on("2027-04-11");
  v1::CreateTokenRequest parsed;
  ASSERT_TRUE(ParseRequest(Buffer(sent.SerializeAsString()), &parsed).ok());
  EXPECT_EQ(parsed.name(), sent.name());
  EXPECT_EQ(parsed.expires_on(), sent.expires_on());
  // An empty message is a request with every field at its default.
  EXPECT_TRUE(ParseRequest(Buffer(""), &parsed).ok());
  EXPECT_EQ(parsed.name(), "");
}

TEST(ParseRequestTest, AStringThatIsNotUtf8IsAFieldError) {
  v1::CreateTokenRequest request;
  const absl::Status status =
      ParseRequest(Buffer(LengthDelimited(1, "fine") + LengthDelimited(2, kNotUtf8)), &request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(status), "expires_on");
  EXPECT_EQ(DescriptionOf(status), "must be valid UTF-8");
}

TEST(ParseRequestTest, NamesAFieldInsideARepeatedMessage) {
  v1::TokenUsage fine;
  fine.set_token_id("00000000-0000-4000-8000-000000000001");
  const std::string bad = LengthDelimited(1, kNotUtf8);  // TokenUsage.token_id
  v1::ReportUsageRequest request;
  const absl::Status status = ParseRequest(
      Buffer(LengthDelimited(1, fine.SerializeAsString()) + LengthDelimited(1, bad)), &request);
  EXPECT_EQ(FieldOf(status), "usages[1].token_id");
}

TEST(ParseRequestTest, BytesFieldsMayHoldAnything) {
  v1::LookupTokenRequest request;
  EXPECT_TRUE(ParseRequest(Buffer(LengthDelimited(1, "\xFF\xFE")), &request).ok());
  EXPECT_EQ(request.token_hash(), "\xFF\xFE");
}

TEST(ParseRequestTest, WhatDoesNotParseIsInvalidArgumentWithoutAField) {
  v1::GetTokenRequest request;
  // A length that runs past the end.
  const absl::Status status = ParseRequest(Buffer(std::string("\x0A\x64short")), &request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FieldOf(status), std::nullopt);
  EXPECT_EQ(status.message(), "the request is not a valid tokens.v1.GetTokenRequest");
}

}  // namespace
}  // namespace tokens
