#include "tests/support/command_line_checks.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/version/build_info.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace tokens::testing {

CommandLineRun RunBinary(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<FlagDoc>& flags,
                         const std::map<std::string, std::string>& env) {
  ChildProcess::Options options;
  options.binary = binary;
  options.args = args;
  options.env = env;
  for (const FlagDoc& flag : flags) {
    if (!flag.env.empty() && env.count(flag.env) == 0) options.unset_env.push_back(flag.env);
  }
  // A safety net against a hang, not a measurement.
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run(std::move(options), std::chrono::seconds(60));
  if (!result.ok()) {
    ADD_FAILURE() << binary << ": " << result.status();
    return {};
  }
  return {result->exit_code, result->out, result->err};
}

void ExpectHelpListsEveryFlag(const std::string& binary, const std::vector<FlagDoc>& flags,
                              const std::map<std::string, std::string>& env) {
  for (const char* help : {"--help", "-h", "--helpfull"}) {
    SCOPED_TRACE(help);
    const CommandLineRun run = RunBinary(binary, {help}, flags, env);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    for (const FlagDoc& flag : flags) {
      const std::string default_value = flag.default_value.empty() ? "\"\"" : flag.default_value;
      const std::string heading =
          flag.env.empty() ? absl::StrCat("\n  --", flag.flag, " (default: ", default_value, ")\n")
                           : absl::StrCat("\n  --", flag.flag, " (", flag.env,
                                          "; default: ", default_value, ")\n");
      EXPECT_NE(run.out.find(heading), std::string::npos) << "no line" << heading;
    }
    for (const auto& [name, value] : env) {
      EXPECT_EQ(run.out.find(value), std::string::npos) << name << "'s value is printed";
    }
  }
}

void ExpectVersion(const std::string& binary, const std::string& program,
                   const std::vector<FlagDoc>& flags) {
  const CommandLineRun run = RunBinary(binary, {"--version"}, flags);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, absl::StrCat(program, " ", BuildVersion(), " (commit ", BuildCommit(), ")\n"));
  EXPECT_EQ(run.err, "");
}

void ExpectOneLineError(const std::string& program, const CommandLineRun& run,
                        const std::vector<std::string>& expected) {
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  EXPECT_EQ(run.err.rfind(program + ": ", 0), 0u) << run.err;
  for (const std::string& part : expected) {
    EXPECT_NE(run.err.find(part), std::string::npos) << "\"" << part << "\" not in: " << run.err;
  }
}

}  // namespace tokens::testing
