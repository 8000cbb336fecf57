#include "common/config/env_flags.h"

#include <cstdlib>

#include "absl/flags/reflection.h"

namespace tokens {

absl::Status ApplyEnvironment(absl::Span<const EnvBinding> bindings) {
  for (const EnvBinding& b : bindings) {
    if (b.secret) continue;
    const char* value = std::getenv(b.env);
    if (value == nullptr || *value == '\0') continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(b.flag);
    std::string error;
    // Only typed flags (numbers, durations, booleans) can fail to parse, so
    // the parser's message never quotes a secret, which is always a string.
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(std::string(b.env) + ": " + error);
    }
  }
  return absl::OkStatus();
}

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
