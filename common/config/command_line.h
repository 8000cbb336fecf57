#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/config/env_flags.h"

// The command line of every binary here, in place of absl::ParseCommandLine
// (which prints several lines and exits 1 by itself on a bad flag, and whose
// --help lists no environment variable): the flags a binary declares, set
// from their environment variables and then from argv, --help and
// --version, and a bad flag reported as one line that names it, for the
// binary to print and exit 2.
namespace tokens {

// A binary's flags, as its parser and its --help see them. Only these are
// accepted: a flag registered in the process but not listed here is
// unknown (RegisteredFlags() lets a test find one).
struct ProgramFlags {
  const char* program;                    // "token-service": the first word of --version
  const char* synopsis;                   // the commands, one a line, shown first by --help
  absl::Span<const EnvBinding> env;       // flags with an environment variable
  absl::Span<const char* const> unbound;  // flags without one (a command's own)
};

// What the command line asks for.
enum class Request { kRun, kHelp, kVersion };

struct CommandLine {
  Request request = Request::kRun;
  // What is not a flag (the command), argv[0] excluded.
  std::vector<std::string> args;
  // (flag, variable) of each flag whose value came from its environment
  // variable, secrets included: AttributeToSource() names the variable.
  std::vector<std::pair<std::string, std::string>> from_environment;
};

// Reads argv: `--flag=value`, `--flag value`, one dash or two, `--flag` and
// `--noflag` for booleans, `--` ends the flags. `--help`, `-h` and
// `--helpfull` ask for help and `--version` for the version, wherever they
// stand; then no flag is set, so help works whatever the environment holds.
// Otherwise sets every non-secret flag from its variable (when set and not
// empty, and the flag is not on the command line), then from argv.
// INVALID_ARGUMENT, one line naming the flag, on an unknown flag, a missing
// value or a value that does not parse: "--flag: why", or
// "VARIABLE (--flag): why" for a value from the environment; a duration
// without a unit is told it needs one.
absl::StatusOr<CommandLine> ParseFlags(const ProgramFlags& flags, int argc, char** argv);

// "--flag: why" about a flag whose value came from the environment becomes
// "VARIABLE (--flag): why"; any other status is returned as it is.
absl::Status AttributeToSource(const CommandLine& line, absl::Status status);

// A binary's LoadConfig: ParseFlags, then, unless help or the version was
// asked for (`Config::command` set to its kHelp / kVersion, nothing else
// read), `validate(line)` makes the Config, its errors attributed to their
// source (AttributeToSource).
template <class Config, class Validate>
absl::StatusOr<Config> LoadConfigFrom(const ProgramFlags& flags, int argc, char** argv,
                                      Validate validate) {
  absl::StatusOr<CommandLine> line = ParseFlags(flags, argc, argv);
  if (!line.ok()) return line.status();
  using Command = decltype(Config::command);
  if (line->request != Request::kRun) {
    Config config;
    config.command = line->request == Request::kHelp ? Command::kHelp : Command::kVersion;
    return config;
  }
  absl::StatusOr<Config> validated = validate(*line);
  if (!validated.ok()) return AttributeToSource(*line, validated.status());
  return validated;
}

// --help's text: the synopsis, then every flag with its variable, default
// (never its current value: it may be a secret) and meaning.
std::string HelpText(const ProgramFlags& flags);

// --version's line: "<program> <version> (commit <commit>)".
std::string VersionLine(absl::string_view program);

// The names of the flags registered in this process, Abseil's own left out.
std::vector<std::string> RegisteredFlags();

}  // namespace tokens
