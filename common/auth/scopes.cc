#include "common/auth/scopes.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace tokens {
namespace {

bool IsScopeChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == ':' ||
         c == '/' || c == '-';
}

bool Contains(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

bool IsScopeName(absl::string_view name) {
  return !name.empty() && name.size() <= kMaxScopeNameChars &&
         std::all_of(name.begin(), name.end(), IsScopeChar);
}

std::vector<std::string> SplitScopes(absl::string_view list) {
  // A set for the repeats: a list from a caller may be long, and a linear
  // search per name would make it quadratic.
  std::vector<std::string> scopes;
  absl::flat_hash_set<absl::string_view> seen;
  for (absl::string_view name : absl::StrSplit(list, absl::ByAnyChar(" \t"), absl::SkipEmpty())) {
    if (seen.insert(name).second) scopes.emplace_back(name);
  }
  return scopes;
}

std::string JoinScopes(const std::vector<std::string>& scopes) {
  return absl::StrJoin(scopes, " ");
}

std::vector<std::string> MissingScopes(const std::vector<std::string>& granted,
                                       const std::vector<std::string>& required) {
  std::vector<std::string> missing;
  if (granted.empty()) return missing;
  for (const std::string& name : required) {
    if (!Contains(granted, name)) missing.push_back(name);
  }
  return missing;
}

}  // namespace tokens
