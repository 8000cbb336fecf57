#include "common/status/field_error.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace tokens {
namespace {
constexpr absl::string_view kFieldPayload = "tokens.v1/field";
}  // namespace

absl::Status FieldError(absl::string_view field, absl::string_view description,
                        absl::StatusCode code) {
  absl::Status status(code, absl::StrCat(field, ": ", description));
  status.SetPayload(kFieldPayload, absl::Cord(field));
  return status;
}

std::optional<std::string> FieldOf(const absl::Status& status) {
  absl::optional<absl::Cord> field = status.GetPayload(kFieldPayload);
  if (!field.has_value()) return std::nullopt;
  return std::string(*field);
}

std::string DescriptionOf(const absl::Status& status) {
  absl::string_view message = status.message();
  if (std::optional<std::string> field = FieldOf(status)) {
    std::string prefix = absl::StrCat(*field, ": ");
    if (absl::StartsWith(message, prefix)) message.remove_prefix(prefix.size());
  }
  return std::string(message);
}

}  // namespace tokens
