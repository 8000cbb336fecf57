#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

// The database URL holds the one secret token-service owns. libpq quotes the
// part of a connection string it cannot parse in its error messages, so a
// generated password with an unencoded reserved character would be printed
// by every failed connection attempt. These functions check the string once
// at start-up and name what must never be printed.
namespace tokens::service {

// OK if libpq reads `url` (a URI or key=value string) as a connection string
// whose ports are numbers and whose host names hold no '@': the shapes a
// password with an unencoded '%', '/' or '@' turns a URI into. Otherwise
// INVALID_ARGUMENT with libpq's reason, its quoted values left out, so no
// part of the string is repeated.
absl::Status CheckConnectionString(absl::string_view url);

// What of `url` is secret: the password as libpq reads it and as it is
// written in the URI (percent-encoded), each at least kMinRedactedLength
// long; empty when there is no password.
std::vector<std::string> ConnectionSecrets(absl::string_view url);

// Shorter passwords are not scrubbed from logs: replacing every occurrence of
// two or three characters would garble every line, and such a password is no
// protection anyway.
inline constexpr size_t kMinRedactedLength = 4;

}  // namespace tokens::service
