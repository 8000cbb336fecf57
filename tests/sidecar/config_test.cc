// token-sidecar's configuration: flags, environment fallbacks, validation,
// and that the operator docs list every flag.
#include "sidecar/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/reflection.h"
#include "common/config/command_line.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command_line_checks.h"
#include "tests/support/flag_table.h"
#include "tests/support/test_certs.h"

namespace tokens::sidecar {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class SidecarConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemRandom random;
    token_ = TokenCodec().Generate(random);
    unsetenv("TOKEN_SIDECAR_SERVICE_TOKEN");
    unsetenv("TOKEN_SIDECAR_LISTEN");
  }
  void TearDown() override {
    unsetenv("TOKEN_SIDECAR_SERVICE_TOKEN");
    unsetenv("TOKEN_SIDECAR_LISTEN");
  }

  absl::StatusOr<SidecarConfig> Load(std::vector<std::string> args) {
    args.insert(args.begin(), "token-sidecar");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return LoadConfig(static_cast<int>(argv.size()), argv.data());
  }

  absl::FlagSaver saver_;  // every test starts from the defaults
  std::string token_;
};

TEST_F(SidecarConfigTest, DefaultsMatchTheDesign) {
  absl::StatusOr<SidecarConfig> config = Load({"--service_token", token_});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:50052");
  EXPECT_EQ(config->token_service, "127.0.0.1:50051");
  EXPECT_EQ(config->usage_flush_interval, absl::Seconds(5));
  EXPECT_TRUE(config->remove_authorization);
  EXPECT_EQ(config->token_prefix, "utk");
}

TEST_F(SidecarConfigTest, TheEnvironmentFillsInAndTheCommandLineWins) {
  setenv("TOKEN_SIDECAR_SERVICE_TOKEN", token_.c_str(), 1);
  setenv("TOKEN_SIDECAR_LISTEN", "0.0.0.0:7000", 1);
  absl::StatusOr<SidecarConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->service_token, token_);
  EXPECT_EQ(config->listen, "0.0.0.0:7000");

  config = Load({"--listen", "127.0.0.1:7001"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listen, "127.0.0.1:7001");
}

TEST_F(SidecarConfigTest, RefusesToStartWithoutAServiceToken) {
  absl::StatusOr<SidecarConfig> config = Load({});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("--service_token"));
}

TEST_F(SidecarConfigTest, AMalformedServiceTokenIsRefusedWithoutEchoingIt) {
  std::string mangled = token_;
  mangled.back() = mangled.back() == 'a' ? 'b' : 'a';
  absl::StatusOr<SidecarConfig> config = Load({"--service_token", mangled});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("--service_token"));
  EXPECT_THAT(config.status().message(), Not(HasSubstr(mangled.substr(4))));
}

TEST_F(SidecarConfigTest, EachBadValueNamesItsFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--listen", "no-port"}, "--listen"},
      {{"--token_service", "host:"}, "--token_service"},
      {{"--usage_flush_interval", "0s"}, "--usage_flush_interval"},
      {{"--token_prefix", "UTK"}, "--token_prefix"},
      {{"--negative_cache_ttl", "-1s"}, "--negative_cache_ttl"},
      {{"--lookup_rate", "0"}, "--lookup_rate"},
      {{"--lookup_burst", "0.5"}, "--lookup_burst"},
      {{"--lookup_timeout", "0s"}, "--lookup_timeout"},
      {{"--lookup_threads", "0"}, "--lookup_threads"},
      {{"--lookup_threads", "1025"}, "--lookup_threads"},
      {{"--max_reconnect_backoff", "1ms"}, "--max_reconnect_backoff"},
      {{"--shutdown_timeout", "-1s"}, "--shutdown_timeout"},
      {{"--max_concurrent_streams", "0"}, "--max_concurrent_streams"},
      {{"--max_connection_idle", "500ms"}, "--max_connection_idle"},
      {{"--max_connection_age", "25h"}, "--max_connection_age"},
      {{"--max_connection_age_grace", "-1s"}, "--max_connection_age_grace"},
      {{"--grpc_memory_quota", "256MB"}, "--grpc_memory_quota"},
      {{"--grpc_memory_quota", "1KiB"}, "--grpc_memory_quota"},
      {{"--max_metadata_size", "100"}, "--max_metadata_size"},
  };
  for (const auto& [args, flag] : cases) {
    SCOPED_TRACE(flag);
    absl::FlagSaver saver;
    std::vector<std::string> argv = args;
    argv.push_back("--service_token");
    argv.push_back(token_);
    absl::StatusOr<SidecarConfig> config = Load(argv);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(flag));
  }
}

TEST_F(SidecarConfigTest, TransportLimitsHaveDefaultsAndTakeTheEnvironment) {
  absl::StatusOr<SidecarConfig> config = Load({"--service_token", token_});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.max_metadata_size, 16384);
  EXPECT_EQ(config->limits.grpc_memory_quota, int64_t{256} << 20);
  setenv("TOKEN_SIDECAR_GRPC_MEMORY_QUOTA", "64MiB", 1);
  config = Load({"--service_token", token_, "--max_connection_age=0s"});
  unsetenv("TOKEN_SIDECAR_GRPC_MEMORY_QUOTA");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.grpc_memory_quota, int64_t{64} << 20);
  EXPECT_EQ(config->limits.max_connection_age, absl::ZeroDuration());
}

TEST_F(SidecarConfigTest, MetricsListenIsAnAddressOrEmpty) {
  absl::StatusOr<SidecarConfig> config =
      Load({"--service_token", token_, "--metrics_listen=0.0.0.0:0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics_listen, "0.0.0.0:0");
  config = Load({"--service_token", token_, "--metrics_listen="});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics_listen, "");
  for (const char* bad : {"9101", "localhost:", "::1:9101"}) {
    SCOPED_TRACE(bad);
    config = Load({"--service_token", token_, std::string("--metrics_listen=") + bad});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--metrics_listen"));
  }
}

TEST_F(SidecarConfigTest, TheLinkToTokenServiceIsTlsWithACaAndEachBadSettingNamesItsFlag) {
  absl::StatusOr<std::unique_ptr<tokens::testing::TestCerts>> certs =
      tokens::testing::TestCerts::Create();
  ASSERT_TRUE(certs.ok()) << certs.status();
  absl::StatusOr<tokens::testing::TestCerts::Pair> a = (*certs)->Client("a", "a");
  absl::StatusOr<tokens::testing::TestCerts::Pair> b = (*certs)->Client("b", "b");
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string ca = (*certs)->Ca("a");

  absl::StatusOr<SidecarConfig> config = Load({"--service_token", token_});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->token_service_tls.ca, "");
  {
    absl::FlagSaver good_case;
    config = Load({"--service_token", token_, "--token_service_ca", ca,
                   "--token_service_client_cert", a->cert, "--token_service_client_key", a->key});
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->token_service_tls.ca, ca);
    EXPECT_EQ(config->token_service_tls.cert, a->cert);
  }

  struct Case {
    std::vector<std::string> args;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"--token_service_client_cert", a->cert, "--token_service_client_key", a->key},
       "--token_service_client_cert"},
      {{"--token_service_client_key", a->key}, "--token_service_client_key"},
      {{"--token_service_ca", ca, "--token_service_client_cert", a->cert},
       "--token_service_client_key"},
      {{"--token_service_ca", ca, "--token_service_client_cert", a->cert,
        "--token_service_client_key", b->key},
       "--token_service_client_key"},
      {{"--token_service_ca", a->key}, "--token_service_ca"},
      {{"--token_service_ca", (*certs)->dir() + "/none.pem"}, "--token_service_ca"},
      {{"--tls_cert", a->cert}, "--tls_key"},
      {{"--tls_client_ca", ca}, "--tls_client_ca"},
  };
  for (Case c : cases) {
    SCOPED_TRACE(c.flag);
    absl::FlagSaver per_case;  // flags set by one case stay set otherwise
    c.args.insert(c.args.begin(), {"--service_token", token_});
    config = Load(c.args);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.flag + ": "));
  }
}

TEST_F(SidecarConfigTest, TheProbeNeedsNoServiceToken) {
  absl::StatusOr<SidecarConfig> config = Load({"probe", "--listen", "0.0.0.0:7001"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, Command::kProbe);
  EXPECT_EQ(config->probe.address, "127.0.0.1:7001");
  config = Load({"serve"});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("probe"));
}

TEST_F(SidecarConfigTest, TheOperatorGuideListsEveryFlagWithItsVariableAndDefault) {
  tokens::testing::ExpectFlagTableMatches(OPERATIONS_DOCS, "### token-sidecar", DescribeFlags());
}

// Every flag this process registers (those of the libraries token-sidecar
// links) is in DescribeFlags(), which --help, the parser and the docs table
// read: a new flag not listed there fails here.
TEST_F(SidecarConfigTest, EveryRegisteredFlagIsDescribedWithItsMeaning) {
  std::vector<std::string> described;
  for (const FlagDoc& flag : DescribeFlags()) {
    described.push_back(flag.flag);
    EXPECT_FALSE(flag.help.empty()) << flag.flag;
  }
  EXPECT_THAT(RegisteredFlags(), ::testing::UnorderedElementsAreArray(described));
}

TEST_F(SidecarConfigTest, HelpAndVersionNeedNoServiceToken) {
  absl::StatusOr<SidecarConfig> config = Load({"--help"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, Command::kHelp);
  config = Load({"--version"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, Command::kVersion);
}

TEST_F(SidecarConfigTest, BooleansTakeTheNoPrefixAndNoOtherWord) {
  absl::StatusOr<SidecarConfig> config =
      Load({"--service_token", token_, "--noremove_authorization_header"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->remove_authorization);
  config = Load({"--service_token", token_, "--remove_authorization_header"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->remove_authorization);
  config = Load({"--service_token", token_, "--remove_authorization_header=maybe"});
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            "--remove_authorization_header: \"maybe\" is not true or false");
}

// The real binary, as an operator runs it.
class SidecarCommandLineTest : public ::testing::Test {
 protected:
  tokens::testing::CommandLineRun Run(const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& env = {}) {
    return tokens::testing::RunBinary(TOKEN_SIDECAR_BINARY, args, DescribeFlags(), env);
  }
  void ExpectOneLineError(const tokens::testing::CommandLineRun& run,
                          const std::vector<std::string>& expected) {
    tokens::testing::ExpectOneLineError("token-sidecar", run, expected);
  }
};

TEST_F(SidecarCommandLineTest, HelpListsEveryFlagWithItsVariableAndDefaultButNoSecret) {
  SystemRandom random;
  tokens::testing::ExpectHelpListsEveryFlag(
      TOKEN_SIDECAR_BINARY, DescribeFlags(),
      {{"TOKEN_SIDECAR_SERVICE_TOKEN", TokenCodec().Generate(random)},
       {"TOKEN_SIDECAR_LISTEN", "192.0.2.7:7001"},
       {"TOKEN_SIDECAR_USAGE_FLUSH_INTERVAL", "1234567"}});
  const tokens::testing::CommandLineRun run = Run({"-h"});
  EXPECT_THAT(run.out, HasSubstr("token-sidecar probe"));
  EXPECT_THAT(run.out, HasSubstr("\n  --version\n"));
}

TEST_F(SidecarCommandLineTest, VersionIsTheProjectVersionAndCommit) {
  tokens::testing::ExpectVersion(TOKEN_SIDECAR_BINARY, "token-sidecar", DescribeFlags());
}

TEST_F(SidecarCommandLineTest, ABadValueIsOneLineNamingItsFlagAndExitCode2) {
  ExpectOneLineError(Run({"--usage_flush_interval=5"}),
                     {"--usage_flush_interval: \"5\" is not a duration; give a unit, e.g. 5s"});
  ExpectOneLineError(Run({"--lookup_rate", "fast"}), {"--lookup_rate: \"fast\" is not a number"});
  SystemRandom random;
  ExpectOneLineError(
      Run({"--lookup_threads=0"}, {{"TOKEN_SIDECAR_SERVICE_TOKEN", TokenCodec().Generate(random)}}),
      {"--lookup_threads: must be from 1 to 1024"});
  ExpectOneLineError(Run({"--no_such_flag=1"}), {"--no_such_flag: unknown flag"});
  ExpectOneLineError(Run({"--token_service"}), {"--token_service: needs a value"});
  ExpectOneLineError(Run({"serve"}), {"unexpected argument \"serve\""});
  // The service token's complaint never quotes it.
  const tokens::testing::CommandLineRun run = Run({"--service_token=utk_not-a-token"});
  ExpectOneLineError(run, {"--service_token: is not a well-formed token"});
  EXPECT_THAT(run.err, Not(HasSubstr("not-a-token")));
}

TEST_F(SidecarCommandLineTest, ABadValueInTheEnvironmentNamesTheVariableAndTheFlag) {
  ExpectOneLineError(Run({}, {{"TOKEN_SIDECAR_LOOKUP_TIMEOUT", "500"}}),
                     {"TOKEN_SIDECAR_LOOKUP_TIMEOUT (--lookup_timeout): \"500\" is not a "
                      "duration; give a unit"});
  SystemRandom random;
  ExpectOneLineError(Run({}, {{"TOKEN_SIDECAR_SERVICE_TOKEN", TokenCodec().Generate(random)},
                              {"TOKEN_SIDECAR_LOG_LEVEL", "verbose"}}),
                     {"TOKEN_SIDECAR_LOG_LEVEL (--log_level): must be trace, debug"});
  ExpectOneLineError(Run({}, {{"TOKEN_SIDECAR_LISTEN", "no-port"}}),
                     {"TOKEN_SIDECAR_LISTEN (--listen): must be host:port"});
  ExpectOneLineError(Run({}, {{"TOKEN_SIDECAR_SERVICE_TOKEN", "utk_not-a-token"}}),
                     {"TOKEN_SIDECAR_SERVICE_TOKEN (--service_token): is not a well-formed"});
}

TEST_F(SidecarCommandLineTest, TheProbesFlagsAreCheckedLikeTheOthers) {
  ExpectOneLineError(Run({"probe", "--probe_timeout=1"}),
                     {"--probe_timeout: \"1\" is not a duration; give a unit"});
  ExpectOneLineError(Run({"probe", "--probe_timeout=50ms"}),
                     {"--probe_timeout: must be between 100ms and 5m"});
  ExpectOneLineError(Run({"probe"}, {{"TOKEN_SIDECAR_LISTEN", ":7001"}}),
                     {"TOKEN_SIDECAR_LISTEN (--listen): must be host:port"});
}

}  // namespace
}  // namespace tokens::sidecar
