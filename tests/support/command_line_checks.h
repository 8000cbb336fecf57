#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/config/env_flags.h"

// The command line both binaries promise (common/config/command_line.h),
// checked against the real process: --help, --version, and a bad flag as one
// line and exit code 2.
namespace tokens::testing {

// What a run of the binary did.
struct CommandLineRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `args` and `env` added to the environment (the
// variables of `flags` that `env` does not set are removed), to the end.
CommandLineRun RunBinary(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<FlagDoc>& flags,
                         const std::map<std::string, std::string>& env = {});

// `--help`, `-h` and `--helpfull`, with `env` in the environment: exit 0,
// nothing on stderr, and on stdout one heading per flag of `flags`:
// "  --name (VARIABLE; default: value)" or, for a flag without a variable,
// "  --name (default: value)"; an empty default reads `""`. No value of
// `env` appears: --help prints defaults, never what a variable holds.
void ExpectHelpListsEveryFlag(const std::string& binary, const std::vector<FlagDoc>& flags,
                              const std::map<std::string, std::string>& env);

// `--version`: exit 0 and "<program> <BuildVersion()> (commit
// <BuildCommit()>)" on stdout.
void ExpectVersion(const std::string& binary, const std::string& program,
                   const std::vector<FlagDoc>& flags);

// Exit code 2, nothing on stdout, and one line on stderr that begins with
// "<program>: " and contains each of `expected`.
void ExpectOneLineError(const std::string& program, const CommandLineRun& run,
                        const std::vector<std::string>& expected);

}  // namespace tokens::testing
