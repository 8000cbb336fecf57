#include "common/config/command_line.h"

#include <cstdint>
#include <cstdlib>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/version/build_info.h"

namespace tokens {
namespace {

// One flag of argv, before it is set.
struct Given {
  std::string name;
  std::string value;
};

bool IsHelp(absl::string_view name) { return name == "help" || name == "h" || name == "helpfull"; }

// The flag called `name` if `flags` declares it.
absl::CommandLineFlag* Declared(const ProgramFlags& flags, absl::string_view name) {
  bool declared = false;
  for (const EnvBinding& b : flags.env) declared = declared || name == b.flag;
  for (const char* unbound : flags.unbound) declared = declared || name == unbound;
  return declared ? absl::FindCommandLineFlag(name) : nullptr;
}

// Why `value` is not one of the flag's type, on one line. Abseil's own
// message ("Illegal value '5' specified for flag 'x'; ...") says neither
// what was expected nor, for a duration, that the unit is missing.
std::string WhyNot(const absl::CommandLineFlag& flag, absl::string_view value,
                   const std::string& parser_error) {
  const std::string quoted = absl::StrCat("\"", absl::CHexEscape(value), "\"");
  double number = 0;
  if (flag.IsOfType<absl::Duration>()) {
    if (absl::SimpleAtod(value, &number)) {
      return absl::StrCat(quoted, " is not a duration; give a unit, e.g. 5s or 500ms");
    }
    return absl::StrCat(quoted, " is not a duration (e.g. 500ms, 5s, 1m30s)");
  }
  if (flag.IsOfType<bool>()) return absl::StrCat(quoted, " is not true or false");
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>() || flag.IsOfType<uint32_t>() ||
      flag.IsOfType<uint64_t>()) {
    int64_t whole = 0;
    if (absl::SimpleAtoi(value, &whole)) return absl::StrCat(quoted, " is out of range");
    return absl::StrCat(quoted, " is not a whole number");
  }
  if (flag.IsOfType<double>()) return absl::StrCat(quoted, " is not a number");
  std::string why = parser_error.empty() ? absl::StrCat(quoted, " is not valid") : parser_error;
  for (char& c : why) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return why;
}

// Sets the flag; "<source>: why" if the value does not parse.
absl::Status Set(absl::CommandLineFlag& flag, absl::string_view value, absl::string_view source) {
  std::string error;
  if (flag.ParseFrom(value, &error)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", WhyNot(flag, value, error)));
}

// Splits argv into flags and other arguments; stops at the first problem
// unless help or the version is asked for further on.
struct Scan {
  std::vector<Given> given;
  std::vector<std::string> args;
  std::optional<Request> asked;
  absl::Status first_error;
};

Scan ScanArgv(const ProgramFlags& flags, int argc, char** argv) {
  Scan scan;
  auto fail = [&scan](std::string message) {
    if (scan.first_error.ok()) scan.first_error = absl::InvalidArgumentError(std::move(message));
  };
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      scan.args.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    std::optional<std::string> value;
    if (const size_t eq = body.find('='); eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
      body = body.substr(0, eq);
    }
    const std::string name(body);
    if (IsHelp(name) || name == "version") {
      if (!scan.asked.has_value()) scan.asked = IsHelp(name) ? Request::kHelp : Request::kVersion;
      continue;
    }
    absl::CommandLineFlag* flag = Declared(flags, name);
    if (flag == nullptr && absl::StartsWith(name, "no")) {
      absl::CommandLineFlag* negated = Declared(flags, name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) {
        if (value.has_value()) fail(absl::StrCat("--", name, ": takes no value"));
        scan.given.push_back({name.substr(2), "false"});
        continue;
      }
    }
    if (flag == nullptr) {
      fail(absl::StrCat("--", name, ": unknown flag (--help lists them)"));
      continue;
    }
    if (!value.has_value()) {
      if (flag->IsOfType<bool>()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        fail(absl::StrCat("--", name, ": needs a value"));
        continue;
      }
    }
    scan.given.push_back({name, *std::move(value)});
  }
  return scan;
}

// Wraps `text` at `width` columns, each line indented by `indent`.
std::string Wrap(absl::string_view text, size_t indent, size_t width) {
  std::string out;
  size_t column = 0;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (column > 0 && column + 1 + word.size() > width) {
      out += '\n';
      column = 0;
    }
    if (column == 0) {
      out.append(indent, ' ');
      column = indent;
    } else {
      out += ' ';
      ++column;
    }
    absl::StrAppend(&out, word);
    column += word.size();
  }
  return out;
}

}  // namespace

absl::StatusOr<CommandLine> ParseFlags(const ProgramFlags& flags, int argc, char** argv) {
  Scan scan = ScanArgv(flags, argc, argv);
  CommandLine line;
  if (scan.asked.has_value()) {
    line.request = *scan.asked;
    return line;
  }
  if (!scan.first_error.ok()) return scan.first_error;
  auto on_command_line = [&scan](absl::string_view name) {
    for (const Given& g : scan.given) {
      if (g.name == name) return true;
    }
    return false;
  };
  for (const EnvBinding& b : flags.env) {
    const char* value = std::getenv(b.env);
    if (value == nullptr || *value == '\0' || on_command_line(b.flag)) continue;
    line.from_environment.emplace_back(b.flag, b.env);
    // A secret is read with FlagOrEnvironment() after parsing, never set:
    // it would then be a flag's current value, which Abseil may print.
    if (b.secret) continue;
    absl::CommandLineFlag* flag = Declared(flags, b.flag);
    if (flag == nullptr) {
      return absl::InternalError(
          absl::StrCat("--", b.flag, ": bound to ", b.env, " but not defined"));
    }
    if (absl::Status s = Set(*flag, value, absl::StrCat(b.env, " (--", b.flag, ")")); !s.ok()) {
      return s;
    }
  }
  for (const Given& g : scan.given) {
    if (absl::Status s = Set(*Declared(flags, g.name), g.value, absl::StrCat("--", g.name));
        !s.ok()) {
      return s;
    }
  }
  line.args = std::move(scan.args);
  return line;
}

absl::Status AttributeToSource(const CommandLine& line, absl::Status status) {
  if (status.ok()) return status;
  for (const auto& [flag, env] : line.from_environment) {
    const std::string prefix = absl::StrCat("--", flag, ": ");
    if (absl::StartsWith(status.message(), prefix)) {
      return absl::Status(
          status.code(),
          absl::StrCat(env, " (--", flag, "): ", status.message().substr(prefix.size())));
    }
  }
  return status;
}

std::string HelpText(const ProgramFlags& flags) {
  std::string out = absl::StrCat(
      flags.synopsis,
      "\n\nFlags, each with its environment variable (the command line wins) and default:\n");
  for (const FlagDoc& doc : DescribeFlags(flags.env, flags.unbound)) {
    const std::string variable = doc.env.empty() ? "" : absl::StrCat(doc.env, "; ");
    const std::string default_value = doc.default_value.empty() ? "\"\"" : doc.default_value;
    absl::StrAppend(&out, "  --", doc.flag, " (", variable, "default: ", default_value, ")\n",
                    Wrap(doc.help, 6, 79), "\n");
  }
  absl::StrAppend(&out, "  --help, -h\n", Wrap("This text, then exit 0", 6, 79), "\n",
                  "  --version\n", Wrap("The version and git commit, then exit 0", 6, 79), "\n",
                  "\n",
                  Wrap("A bad flag, on the command line or in the environment, is one line on "
                       "stderr and exit code 2.",
                       0, 79),
                  "\n");
  return out;
}

std::string VersionLine(absl::string_view program) {
  return absl::StrCat(program, " ", BuildVersion(), " (commit ", BuildCommit(), ")");
}

std::vector<std::string> RegisteredFlags() {
  std::vector<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->IsRetired() || absl::StrContains(flag->Filename(), "absl/")) continue;
    names.emplace_back(name);
  }
  return names;
}

}  // namespace tokens
