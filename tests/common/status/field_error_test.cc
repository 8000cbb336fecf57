#include "common/status/field_error.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace tokens {
namespace {

TEST(FieldErrorTest, IsInvalidArgumentNamingTheField) {
  absl::Status status = FieldError("expires_on", "expiry date must be after 2026-11-28");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "expires_on: expiry date must be after 2026-11-28");
  EXPECT_EQ(FieldOf(status), std::optional<std::string>("expires_on"));
  EXPECT_EQ(DescriptionOf(status), "expiry date must be after 2026-11-28");
}

TEST(FieldErrorTest, KeepsDescriptionsThatLookLikePrefixes) {
  // Only the one "<field>: " prefix is removed.
  absl::Status status = FieldError("name", "name: is odd");
  EXPECT_EQ(status.message(), "name: name: is odd");
  EXPECT_EQ(DescriptionOf(status), "name: is odd");
}

TEST(FieldErrorTest, EmptyDescription) {
  absl::Status status = FieldError("name", "");
  EXPECT_EQ(FieldOf(status), std::optional<std::string>("name"));
  EXPECT_EQ(DescriptionOf(status), "");
}

TEST(FieldErrorTest, SurvivesCopies) {
  absl::Status original = FieldError("user_id", "no such user");
  absl::Status copy = original;
  EXPECT_EQ(FieldOf(copy), std::optional<std::string>("user_id"));
  EXPECT_EQ(copy, original);
}

TEST(FieldOfTest, OtherStatusesHaveNoField) {
  EXPECT_EQ(FieldOf(absl::OkStatus()), std::nullopt);
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("name: looks like one")), std::nullopt);
  EXPECT_EQ(FieldOf(absl::NotFoundError("no such token")), std::nullopt);
}

TEST(DescriptionOfTest, OtherStatusesKeepTheirWholeMessage) {
  EXPECT_EQ(DescriptionOf(absl::InvalidArgumentError("name: looks like one")),
            "name: looks like one");
  EXPECT_EQ(DescriptionOf(absl::UnavailableError("database unavailable")), "database unavailable");
  EXPECT_EQ(DescriptionOf(absl::OkStatus()), "");
}

}  // namespace
}  // namespace tokens
