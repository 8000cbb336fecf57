#include "common/config/env_flags.h"

#include <cstdlib>

#include "absl/flags/reflection.h"

namespace tokens {

absl::Status InvalidFlag(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError("--" + flag + ": " + why);
}

std::string FlagOrEnvironment(const std::string& flag_value, const char* env) {
  if (!flag_value.empty()) return flag_value;
  const char* value = std::getenv(env);
  return value == nullptr ? "" : value;
}

std::vector<FlagDoc> DescribeFlags(absl::Span<const EnvBinding> bindings,
                                   absl::Span<const char* const> unbound) {
  std::vector<FlagDoc> docs;
  for (const EnvBinding& b : bindings) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(b.flag);
    docs.push_back({b.flag, b.env, flag->DefaultValue(), flag->Help()});
  }
  for (const char* name : unbound) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    docs.push_back({name, "", flag->DefaultValue(), flag->Help()});
  }
  return docs;
}

}  // namespace tokens
