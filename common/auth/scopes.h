#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

// Scopes: what a token may do, as names from the operator's catalogue
// (token-service --token_scopes). Both binaries read and write them with
// these rules: token-service when a token is created, the sidecar when a
// route (Envoy's context_extensions "required_scopes") or a caller
// (Authenticate's required_scopes) asks for some.
namespace tokens {

// Longest scope name.
inline constexpr size_t kMaxScopeNameChars = 64;

// 1-64 characters of A-Z a-z 0-9 and . _ : / - (a subset of RFC 6749's
// scope-token, so that a name travels unquoted in a space-separated list, an
// HTTP header and RFC 6750's WWW-Authenticate scope="...").
bool IsScopeName(absl::string_view name);

// The names in a space-separated list (RFC 6749 §3.3), in order, repeats
// dropped. Runs of spaces and tabs separate; an empty list has none. Does not
// check the names (IsScopeName).
std::vector<std::string> SplitScopes(absl::string_view list);

// "a b c": the form of x-auth-token-scopes and of WWW-Authenticate's scope.
std::string JoinScopes(const std::vector<std::string>& scopes);

// The required scopes that `granted` lacks, in the order required. A token
// that names no scope has its user's full access: nothing is missing.
std::vector<std::string> MissingScopes(const std::vector<std::string>& granted,
                                       const std::vector<std::string>& required);

}  // namespace tokens
