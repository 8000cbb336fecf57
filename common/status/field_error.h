#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tokens {

// An error that names the request field at fault, so the transport can
// attach a google.rpc.BadRequest field violation and a console can show the
// message under the right form field. Usually INVALID_ARGUMENT; ALREADY_EXISTS
// for a value that must be unique. The status message reads
// "<field>: <description>"; the field travels as a payload.
absl::Status FieldError(absl::string_view field, absl::string_view description,
                        absl::StatusCode code = absl::StatusCode::kInvalidArgument);

// The field named by a FieldError, if `status` is one.
std::optional<std::string> FieldOf(const absl::Status& status);

// The description of a FieldError (its message without the "<field>: "
// prefix); the whole message for any other status.
std::string DescriptionOf(const absl::Status& status);

}  // namespace tokens
