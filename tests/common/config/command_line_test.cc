// The command-line parser both binaries share, on flags of its own: the
// forms of argv, the environment under the command line, help and version
// before anything else, and one line naming the flag for each mistake.
#include "common/config/command_line.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(std::string, cl_name, "default-name", "a string");
ABSL_FLAG(int, cl_count, 3, "a whole number");
ABSL_FLAG(double, cl_rate, 1.5, "a number");
ABSL_FLAG(bool, cl_enabled, true, "a boolean");
ABSL_FLAG(absl::Duration, cl_interval, absl::Seconds(5), "a duration");
ABSL_FLAG(std::string, cl_secret, "", "a secret, read with FlagOrEnvironment()");
ABSL_FLAG(std::string, cl_command_only, "", "a flag without a variable");
ABSL_FLAG(std::string, cl_not_listed, "", "registered, but not one of the program's flags");

namespace tokens {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

constexpr EnvBinding kEnv[] = {
    {"cl_name", "CL_TEST_NAME"},         {"cl_count", "CL_TEST_COUNT"},
    {"cl_rate", "CL_TEST_RATE"},         {"cl_enabled", "CL_TEST_ENABLED"},
    {"cl_interval", "CL_TEST_INTERVAL"}, {"cl_secret", "CL_TEST_SECRET", /*secret=*/true},
};
constexpr const char* kUnbound[] = {"cl_command_only"};
constexpr ProgramFlags kFlags = {"cl-test", "cl-test [flags] [command]", kEnv, kUnbound};

class CommandLineTest : public ::testing::Test {
 protected:
  void SetUp() override { UnsetAll(); }
  void TearDown() override { UnsetAll(); }
  static void UnsetAll() {
    for (const EnvBinding& b : kEnv) unsetenv(b.env);
  }

  absl::StatusOr<CommandLine> Parse(std::vector<std::string> args) {
    args.insert(args.begin(), "cl-test");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return ParseFlags(kFlags, static_cast<int>(argv.size()), argv.data());
  }

  // The one-line message of a refused command line.
  std::string Refusal(std::vector<std::string> args) {
    absl::StatusOr<CommandLine> line = Parse(std::move(args));
    if (line.ok()) return "(accepted)";
    EXPECT_EQ(line.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(line.status().message().find('\n'), absl::string_view::npos);
    return std::string(line.status().message());
  }

  absl::FlagSaver saver_;
};

TEST_F(CommandLineTest, EveryFormOfAFlagAndTheArgumentsBetween) {
  absl::StatusOr<CommandLine> line =
      Parse({"--cl_name=a", "serve", "--cl_count", "7", "-cl_rate=2.5", "--nocl_enabled",
             "--cl_interval", "250ms", "--", "--cl_count=9"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->request, Request::kRun);
  EXPECT_THAT(line->args, ElementsAre("serve", "--cl_count=9"));
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_name), "a");
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_count), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_rate), 2.5);
  EXPECT_FALSE(absl::GetFlag(FLAGS_cl_enabled));
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_interval), absl::Milliseconds(250));
  line = Parse({"--cl_enabled", "--cl_name", "-"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_TRUE(absl::GetFlag(FLAGS_cl_enabled));
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_name), "-");
}

TEST_F(CommandLineTest, TheEnvironmentFillsInUnderTheCommandLine) {
  setenv("CL_TEST_NAME", "from-env", 1);
  setenv("CL_TEST_COUNT", "not a number", 1);  // never read: the command line has it
  setenv("CL_TEST_INTERVAL", "", 1);           // empty: as if unset
  absl::StatusOr<CommandLine> line = Parse({"--cl_count=4"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_name), "from-env");
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_count), 4);
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_interval), absl::Seconds(5));
  EXPECT_THAT(line->from_environment, ElementsAre(Pair("cl_name", "CL_TEST_NAME")));
}

TEST_F(CommandLineTest, ASecretFromTheEnvironmentIsNeverAFlagsValue) {
  setenv("CL_TEST_SECRET", "s3cr3t", 1);
  absl::StatusOr<CommandLine> line = Parse({});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(absl::GetFlag(FLAGS_cl_secret), "");
  EXPECT_EQ(FlagOrEnvironment(absl::GetFlag(FLAGS_cl_secret), "CL_TEST_SECRET"), "s3cr3t");
  // Yet a complaint about it names the variable.
  EXPECT_EQ(AttributeToSource(*line, InvalidFlag("cl_secret", "is too short")).message(),
            "CL_TEST_SECRET (--cl_secret): is too short");
  EXPECT_EQ(AttributeToSource(*line, InvalidFlag("cl_name", "is bad")).message(),
            "--cl_name: is bad");
}

TEST_F(CommandLineTest, EachMistakeIsOneLineNamingTheFlag) {
  EXPECT_EQ(Refusal({"--cl_interval=5"}),
            "--cl_interval: \"5\" is not a duration; give a unit, e.g. 5s or 500ms");
  EXPECT_EQ(Refusal({"--cl_interval=soon"}),
            "--cl_interval: \"soon\" is not a duration (e.g. 500ms, 5s, 1m30s)");
  EXPECT_EQ(Refusal({"--cl_count=3.5"}), "--cl_count: \"3.5\" is not a whole number");
  EXPECT_EQ(Refusal({"--cl_count=99999999999"}), "--cl_count: \"99999999999\" is out of range");
  EXPECT_EQ(Refusal({"--cl_rate=fast"}), "--cl_rate: \"fast\" is not a number");
  EXPECT_EQ(Refusal({"--cl_enabled=maybe"}), "--cl_enabled: \"maybe\" is not true or false");
  EXPECT_EQ(Refusal({"--nocl_enabled=true"}), "--nocl_enabled: takes no value");
  EXPECT_EQ(Refusal({"--cl_name"}), "--cl_name: needs a value");
  EXPECT_EQ(Refusal({"--cl_interval=1\n2"}),
            "--cl_interval: \"1\\n2\" is not a duration (e.g. 500ms, 5s, 1m30s)");
  EXPECT_EQ(Refusal({"--no_such_flag"}), "--no_such_flag: unknown flag (--help lists them)");
  EXPECT_EQ(Refusal({"--nocl_name"}), "--nocl_name: unknown flag (--help lists them)");
  // Registered in the process, but not the program's: unknown too, as are
  // Abseil's own.
  EXPECT_EQ(Refusal({"--cl_not_listed=x"}), "--cl_not_listed: unknown flag (--help lists them)");
  EXPECT_EQ(Refusal({"--flagfile=/dev/null"}), "--flagfile: unknown flag (--help lists them)");
  setenv("CL_TEST_INTERVAL", "30", 1);
  EXPECT_EQ(Refusal({}),
            "CL_TEST_INTERVAL (--cl_interval): \"30\" is not a duration; give a unit, e.g. 5s "
            "or 500ms");
}

TEST_F(CommandLineTest, HelpAndVersionComeBeforeAnyMistake) {
  setenv("CL_TEST_INTERVAL", "30", 1);
  for (const char* help : {"--help", "-h", "--helpfull", "-help"}) {
    absl::StatusOr<CommandLine> line = Parse({"--no_such_flag", "--cl_count=x", help});
    ASSERT_TRUE(line.ok()) << help << ": " << line.status();
    EXPECT_EQ(line->request, Request::kHelp) << help;
  }
  absl::StatusOr<CommandLine> line = Parse({"--version", "--help"});
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->request, Request::kVersion);
  // A flag's value is not a request.
  line = Parse({"--cl_name", "--help"});
  ASSERT_FALSE(line.ok());
  EXPECT_THAT(line.status().message(), HasSubstr("--cl_interval"));
}

TEST_F(CommandLineTest, HelpShowsEveryFlagsVariableAndDefaultButNoValue) {
  setenv("CL_TEST_NAME", "value-from-env", 1);
  ASSERT_TRUE(Parse({}).ok());
  const std::string help = HelpText(kFlags);
  EXPECT_EQ(help.rfind("cl-test [flags] [command]\n", 0), 0u);
  EXPECT_THAT(help, HasSubstr("\n  --cl_name (CL_TEST_NAME; default: default-name)\n"
                              "      a string\n"));
  EXPECT_THAT(help, HasSubstr("\n  --cl_interval (CL_TEST_INTERVAL; default: 5s)\n"));
  EXPECT_THAT(help, HasSubstr("\n  --cl_secret (CL_TEST_SECRET; default: \"\")\n"));
  EXPECT_THAT(help, HasSubstr("\n  --cl_command_only (default: \"\")\n"));
  EXPECT_THAT(help, Not(HasSubstr("value-from-env")));
  EXPECT_THAT(help, Not(HasSubstr("cl_not_listed")));
  for (absl::string_view line : absl::StrSplit(help, '\n')) {
    EXPECT_LE(line.size(), 80u) << line;
  }
}

TEST_F(CommandLineTest, RegisteredFlagsAreOursNotAbseils) {
  // Abseil's own flags (--flagfile, --fromenv, ...) are defined by the
  // library of its parser: a use of it has that library loaded.
  volatile auto parse = &absl::ParseCommandLine;
  ASSERT_NE(parse, nullptr);
  ASSERT_NE(absl::FindCommandLineFlag("flagfile"), nullptr);
  const std::vector<std::string> registered = RegisteredFlags();
  EXPECT_THAT(registered, ::testing::Contains("cl_not_listed"));
  EXPECT_THAT(registered, Not(::testing::Contains("flagfile")));
}

}  // namespace
}  // namespace tokens
