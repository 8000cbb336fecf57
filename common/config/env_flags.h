#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

// Environment-variable fallbacks for Abseil flags, shared by the binaries:
// each flag may also be set through a variable, and the command line wins
// (ParseFlags() in common/config/command_line.h sets them).
namespace tokens {

struct EnvBinding {
  const char* flag;  // name without "--"
  const char* env;
  // A secret (a token, a URL with a password) never becomes the flag's value
  // through the environment: whatever prints flags' current values (Abseil's
  // own usage, a debugger's dump) would show it. Read it with
  // FlagOrEnvironment() after parsing instead.
  bool secret = false;
};

// INVALID_ARGUMENT "--<flag>: <why>": how a binary reports a bad flag.
absl::Status InvalidFlag(const std::string& flag, const std::string& why);

// A secret string flag's value: the command line's if given, else the
// variable's, else "".
std::string FlagOrEnvironment(const std::string& flag_value, const char* env);

// One line per flag, for --help and for the tests that hold the operator
// docs to the code.
struct FlagDoc {
  std::string flag;
  std::string env;  // empty: no environment fallback
  std::string default_value;
  std::string help;
};

// The bound flags in order, then `unbound` (flags without a variable).
std::vector<FlagDoc> DescribeFlags(absl::Span<const EnvBinding> bindings,
                                   absl::Span<const char* const> unbound = {});

}  // namespace tokens
