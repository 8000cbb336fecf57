// token-service's configuration: the change feed's poll interval (flag,
// environment fallback, validation) and that the README lists every flag.
#include "services/token_service/config.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/reflection.h"
#include "common/config/command_line.h"
#include "common/net/ip_address.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command_line_checks.h"
#include "tests/support/flag_table.h"
#include "tests/support/test_certs.h"

namespace tokens::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPollEnv[] = "TOKEN_SERVICE_SYNC_POLL_INTERVAL";

class ServiceConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { unsetenv(kPollEnv); }
  void TearDown() override { unsetenv(kPollEnv); }

  absl::StatusOr<ServiceConfig> Load(std::vector<std::string> args) {
    args.insert(args.begin(), {"token-service", "--database_url", "postgresql:///tokens"});
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return LoadConfig(static_cast<int>(argv.size()), argv.data());
  }

  absl::FlagSaver saver_;  // every test starts from the defaults
};

TEST_F(ServiceConfigTest, SyncPollIntervalDefaultsToOneSecond) {
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sync_poll_interval, absl::Seconds(1));
}

TEST_F(ServiceConfigTest, SyncPollIntervalFromTheEnvironmentUnlessGivenOnTheCommandLine) {
  setenv(kPollEnv, "250ms", 1);
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sync_poll_interval, absl::Milliseconds(250));
  config = Load({"--sync_poll_interval", "5s"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sync_poll_interval, absl::Seconds(5));
}

TEST_F(ServiceConfigTest, SyncPollIntervalOutOfRangeIsRefused) {
  for (const char* value : {"0s", "-1s", "1ms", "2h"}) {
    SCOPED_TRACE(value);
    absl::StatusOr<ServiceConfig> config = Load({std::string("--sync_poll_interval=") + value});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--sync_poll_interval"));
  }
}

TEST_F(ServiceConfigTest, MetricsListenIsAnAddressOrEmpty) {
  absl::StatusOr<ServiceConfig> config = Load({"--metrics_listen=0.0.0.0:0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics_listen, "0.0.0.0:0");
  config = Load({"--metrics_listen="});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->metrics_listen, "");
  for (const char* bad : {"9101", "localhost:", "::1:9101"}) {
    SCOPED_TRACE(bad);
    config = Load({std::string("--metrics_listen=") + bad});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--metrics_listen"));
  }
}

TEST_F(ServiceConfigTest, HttpListenIsAnAddressOrEmpty) {
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_listen, "127.0.0.1:8080");
  config = Load({"--http_listen=[::1]:0"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_listen, "[::1]:0");
  config = Load({"--http_listen="});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_listen, "");
  for (const char* bad : {"8080", "localhost:", "::1:8080", "127.0.0.1:65536"}) {
    SCOPED_TRACE(bad);
    config = Load({std::string("--http_listen=") + bad});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--http_listen"));
  }
}

// Off by default: nobody's X-Forwarded-For is read.
TEST_F(ServiceConfigTest, HttpTrustedProxiesAreAddressesOrPrefixes) {
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->http_trusted_proxies.empty());
  config = Load({"--http_trusted_proxies=127.0.0.1, 10.0.0.0/8,fd00::/8"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->http_trusted_proxies.prefixes().size(), 3u);
  EXPECT_TRUE(config->http_trusted_proxies.Contains(*ParseIpAddress("10.9.8.7")));
  EXPECT_FALSE(config->http_trusted_proxies.Contains(*ParseIpAddress("127.0.0.2")));
  for (const char* bad : {"envoy", "10.0.0.0/33", "::/129", "10.0.0.1/8", "127.0.0.1,",
                          "127.0.0.1:8090", "10.0.0.0/8 192.168.0.0/16"}) {
    SCOPED_TRACE(bad);
    config = Load({std::string("--http_trusted_proxies=") + bad});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--http_trusted_proxies"));
  }
}

TEST_F(ServiceConfigTest, TokenScopesAreACommaSeparatedCatalogueInItsOrder) {
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(config->token_scopes.empty());
  config = Load({"--token_scopes= things:write ,things:read,repo/status"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->token_scopes,
              ::testing::ElementsAre("things:write", "things:read", "repo/status"));
  for (const char* bad : {"things read", "things:read,", ",a", "a,,b", "a,a", "a\"b", "x=y"}) {
    SCOPED_TRACE(bad);
    config = Load({std::string("--token_scopes=") + bad});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr("--token_scopes"));
  }
}

TEST_F(ServiceConfigTest, EachBadTransportLimitNamesItsFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--max_concurrent_streams=100001", "--max_concurrent_streams"},
      {"--max_connection_idle=-1s", "--max_connection_idle"},
      {"--max_connection_age=100ms", "--max_connection_age"},
      {"--max_connection_age_grace=48h", "--max_connection_age_grace"},
      {"--grpc_memory_quota=lots", "--grpc_memory_quota"},
      {"--grpc_memory_quota=99999999999999999999", "--grpc_memory_quota"},
      {"--max_metadata_size=2000000", "--max_metadata_size"},
  };
  for (const auto& [arg, flag] : cases) {
    SCOPED_TRACE(arg);
    absl::FlagSaver saver;
    absl::StatusOr<ServiceConfig> config = Load({arg});
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(flag));
  }
  absl::StatusOr<ServiceConfig> config =
      Load({"--grpc_memory_quota=1073741824", "--max_connection_idle=0s"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->limits.grpc_memory_quota, int64_t{1} << 30);
  EXPECT_EQ(config->limits.max_connection_idle, absl::ZeroDuration());
}

// TLS: files checked at start-up, each complaint naming its flag; the
// probe needs neither a database URL nor a running database.
class ServiceTlsConfigTest : public ServiceConfigTest {
 protected:
  void SetUp() override {
    ServiceConfigTest::SetUp();
    absl::StatusOr<std::unique_ptr<tokens::testing::TestCerts>> certs =
        tokens::testing::TestCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
    absl::StatusOr<tokens::testing::TestCerts::Pair> a = certs_->Server("a", "a");
    absl::StatusOr<tokens::testing::TestCerts::Pair> b = certs_->Server("b", "b");
    ASSERT_TRUE(a.ok() && b.ok());
    a_ = *a;
    b_ = *b;
    for (const char* name : {"TOKEN_SERVICE_TLS_CERT", "TOKEN_SERVICE_TLS_KEY", "DATABASE_URL"}) {
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : {"TOKEN_SERVICE_TLS_CERT", "TOKEN_SERVICE_TLS_KEY"}) unsetenv(name);
  }

  // LoadConfig without the fixture's --database_url.
  absl::StatusOr<ServiceConfig> LoadBare(std::vector<std::string> args) {
    args.insert(args.begin(), "token-service");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    return LoadConfig(static_cast<int>(argv.size()), argv.data());
  }

  std::unique_ptr<tokens::testing::TestCerts> certs_;
  tokens::testing::TestCerts::Pair a_, b_;
};

TEST_F(ServiceTlsConfigTest, PlaintextByDefaultAndTheFilesComeFromTheEnvironment) {
  absl::StatusOr<ServiceConfig> config = Load({});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls.files.cert, "");
  EXPECT_EQ(config->tls.reload_interval, absl::Seconds(10));
  setenv("TOKEN_SERVICE_TLS_CERT", a_.cert.c_str(), 1);
  setenv("TOKEN_SERVICE_TLS_KEY", a_.key.c_str(), 1);
  config = Load({"--tls_client_ca", certs_->Ca("a")});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tls.files.cert, a_.cert);
  EXPECT_EQ(config->tls.files.key, a_.key);
  EXPECT_EQ(config->tls.files.ca, certs_->Ca("a"));
}

TEST_F(ServiceTlsConfigTest, EachBadTlsSettingNamesItsFlag) {
  const std::string key_text = tokens::testing::ReadFileOrDie(a_.key);
  struct Case {
    std::vector<std::string> args;
    std::string flag;
    std::string why;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert", a_.cert}, "--tls_key", "is required with --tls_cert"},
      {{"--tls_key", a_.key}, "--tls_cert", "is required with --tls_key"},
      {{"--tls_client_ca", certs_->Ca("a")}, "--tls_client_ca", "needs --tls_cert"},
      {{"--tls_cert", a_.cert, "--tls_key", b_.key}, "--tls_key", "does not match"},
      {{"--tls_cert", a_.key, "--tls_key", a_.key}, "--tls_cert", "not a PEM certificate"},
      {{"--tls_cert", a_.cert, "--tls_key", a_.cert}, "--tls_key", "not an unencrypted PEM"},
      {{"--tls_cert", certs_->dir() + "/none.pem", "--tls_key", a_.key},
       "--tls_cert",
       "cannot read"},
      {{"--tls_cert", a_.cert, "--tls_key", a_.key, "--tls_client_ca", a_.key},
       "--tls_client_ca",
       "not a PEM CA certificate"},
      {{"--tls_reload_interval", "500ms"}, "--tls_reload_interval", "between 1s and 24h"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flag + " " + c.why);
    absl::FlagSaver per_case;  // flags set by one case stay set otherwise
    absl::StatusOr<ServiceConfig> config = Load(c.args);
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(c.flag + ": "));
    EXPECT_THAT(config.status().message(), HasSubstr(c.why));
    EXPECT_THAT(config.status().message(), Not(HasSubstr(key_text.substr(30, 20))));
  }
}

TEST_F(ServiceTlsConfigTest, TheProbeNeedsNoDatabaseAndAsksLoopbackForAWildcardListen) {
  absl::StatusOr<ServiceConfig> config = LoadBare({"probe", "--listen", "0.0.0.0:7000"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, Command::kProbe);
  EXPECT_EQ(config->probe.address, "127.0.0.1:7000");
  EXPECT_EQ(config->probe.timeout, absl::Seconds(5));
  config = LoadBare({"probe", "--listen", "[::]:7000", "--tls_cert", a_.cert, "--tls_key", a_.key});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->probe.address, "[::1]:7000");
  EXPECT_EQ(config->probe.tls.cert, a_.cert);
  config = LoadBare({"probe", "--address", "10.0.0.1:50051", "--probe_timeout", "1s"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->probe.address, "10.0.0.1:50051");
  EXPECT_EQ(config->probe.timeout, absl::Seconds(1));
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"probe", "--address", "50051"},
        std::vector<std::string>{"probe", "--probe_timeout", "0s"}}) {
    absl::FlagSaver per_case;
    config = LoadBare(bad);
    ASSERT_FALSE(config.ok());
    EXPECT_THAT(config.status().message(), HasSubstr("--" + bad[1].substr(2) + ": "));
  }
  // serve still requires the database URL.
  config = LoadBare({});
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("--database_url"));
}

TEST_F(ServiceConfigTest, TheOperatorGuideListsEveryFlagWithItsVariableAndDefault) {
  tokens::testing::ExpectFlagTableMatches(OPERATIONS_DOCS, "### token-service", DescribeFlags());
}

// Every flag this process registers (those of the libraries token-service
// links) is in DescribeFlags(), which --help, the parser and the docs table
// read: a new flag not listed there fails here.
TEST_F(ServiceConfigTest, EveryRegisteredFlagIsDescribedWithItsMeaning) {
  std::vector<std::string> described;
  for (const FlagDoc& flag : DescribeFlags()) {
    described.push_back(flag.flag);
    EXPECT_FALSE(flag.help.empty()) << flag.flag;
  }
  EXPECT_THAT(RegisteredFlags(), ::testing::UnorderedElementsAreArray(described));
}

TEST_F(ServiceConfigTest, HelpAndVersionWinOverEverythingElse) {
  setenv(kPollEnv, "5", 1);  // would be refused
  for (const char* asked : {"--help", "-h", "--helpfull"}) {
    absl::StatusOr<ServiceConfig> config = Load({"no-such-command", "--no_such_flag", asked});
    ASSERT_TRUE(config.ok()) << config.status();
    EXPECT_EQ(config->command, Command::kHelp);
  }
  absl::StatusOr<ServiceConfig> config = Load({"-version"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->command, Command::kVersion);
}

TEST_F(ServiceConfigTest, AFlagOnTheCommandLineIsNotReadFromTheEnvironment) {
  setenv(kPollEnv, "5", 1);
  absl::StatusOr<ServiceConfig> config = Load({"--sync_poll_interval=2s"});
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->sync_poll_interval, absl::Seconds(2));
}

// The real binary, as an operator runs it.
class ServiceCommandLineTest : public ::testing::Test {
 protected:
  tokens::testing::CommandLineRun Run(const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& env = {}) {
    return tokens::testing::RunBinary(TOKEN_SERVICE_BINARY, args, DescribeFlags(), env);
  }
  void ExpectOneLineError(const tokens::testing::CommandLineRun& run,
                          const std::vector<std::string>& expected) {
    tokens::testing::ExpectOneLineError("token-service", run, expected);
  }
};

TEST_F(ServiceCommandLineTest, HelpListsEveryFlagWithItsVariableAndDefaultButNoSecret) {
  tokens::testing::ExpectHelpListsEveryFlag(
      TOKEN_SERVICE_BINARY, DescribeFlags(),
      {{"DATABASE_URL", "postgresql://tokens:pw-in-the-environment@db/tokens"},
       {"TOKEN_SERVICE_PAGE_TOKEN_KEY", "page-token-key-in-the-environment-0123456789"},
       {"TOKEN_SERVICE_SHUTDOWN_TIMEOUT", "1234567"}});
  const tokens::testing::CommandLineRun run = Run({"--help"});
  for (const char* command : {"migrate", "bootstrap-admin", "bootstrap-service", "probe"}) {
    EXPECT_THAT(run.out, HasSubstr(std::string("token-service ") + command));
  }
  EXPECT_THAT(run.out, HasSubstr("\n  --version\n"));
}

TEST_F(ServiceCommandLineTest, VersionIsTheProjectVersionAndCommit) {
  tokens::testing::ExpectVersion(TOKEN_SERVICE_BINARY, "token-service", DescribeFlags());
}

TEST_F(ServiceCommandLineTest, ABadValueIsOneLineNamingItsFlagAndExitCode2) {
  ExpectOneLineError(Run({"--shutdown_timeout=5"}),
                     {"--shutdown_timeout: \"5\" is not a duration; give a unit, e.g. 5s"});
  ExpectOneLineError(Run({"--db_pool_size", "many"}),
                     {"--db_pool_size: \"many\" is not a whole number"});
  ExpectOneLineError(Run({"--database_url=postgresql:///tokens", "--db_pool_size=0"}),
                     {"--db_pool_size: must be between 1 and 256"});
  ExpectOneLineError(Run({"--listen"}), {"--listen: needs a value"});
  ExpectOneLineError(
      Run({"--database_url=postgresql:///tokens", "--http_trusted_proxies=10.0.0.0/40"}),
      {"--http_trusted_proxies: \"10.0.0.0/40\": the prefix length must be 0 to 32"});
  ExpectOneLineError(Run({"--database_url=postgresql:///tokens"},
                         {{"TOKEN_SERVICE_HTTP_TRUSTED_PROXIES", "envoy"}}),
                     {"TOKEN_SERVICE_HTTP_TRUSTED_PROXIES (--http_trusted_proxies): \"envoy\" is "
                      "not an IP address or prefix"});
  ExpectOneLineError(Run({"--no_such_flag"}), {"--no_such_flag: unknown flag"});
  ExpectOneLineError(Run({"--flagfile=/dev/null"}), {"--flagfile: unknown flag"});
  ExpectOneLineError(Run({"no-such-command", "--database_url=postgresql:///tokens"}),
                     {"unknown command \"no-such-command\""});
}

TEST_F(ServiceCommandLineTest, ABadValueInTheEnvironmentNamesTheVariableAndTheFlag) {
  ExpectOneLineError(Run({}, {{"TOKEN_SERVICE_SHUTDOWN_TIMEOUT", "5"}}),
                     {"TOKEN_SERVICE_SHUTDOWN_TIMEOUT (--shutdown_timeout): \"5\" is not a "
                      "duration; give a unit"});
  ExpectOneLineError(
      Run({"--database_url=postgresql:///tokens"}, {{"TOKEN_SERVICE_DB_POOL_SIZE", "0"}}),
      {"TOKEN_SERVICE_DB_POOL_SIZE (--db_pool_size): must be between 1 and 256"});
  ExpectOneLineError(
      Run({"--database_url=postgresql:///tokens"}, {{"TOKEN_SERVICE_LOG_LEVEL", "verbose"}}),
      {"TOKEN_SERVICE_LOG_LEVEL (--log_level): must be trace, debug"});
  // A secret's complaint names its variable, never its value.
  const tokens::testing::CommandLineRun run =
      Run({}, {{"DATABASE_URL", "postgresql:///tokens"},
               {"TOKEN_SERVICE_PAGE_TOKEN_KEY", "short-secret-key"}});
  ExpectOneLineError(run, {"TOKEN_SERVICE_PAGE_TOKEN_KEY (--page_token_key): must be at least 32"});
  EXPECT_THAT(run.err, Not(HasSubstr("short-secret-key")));
  // The command line wins, so a bad variable it overrides is not read.
  ExpectOneLineError(
      Run({"--database_url=postgresql:///tokens", "--shutdown_timeout=1s", "--db_pool_size=0"},
          {{"TOKEN_SERVICE_SHUTDOWN_TIMEOUT", "5"}}),
      {"--db_pool_size: must be between 1 and 256"});
}

TEST_F(ServiceCommandLineTest, TheProbesFlagsAreCheckedLikeTheOthers) {
  ExpectOneLineError(Run({"probe", "--probe_timeout=5"}),
                     {"--probe_timeout: \"5\" is not a duration; give a unit"});
  ExpectOneLineError(Run({"probe", "--probe_timeout=10m"}),
                     {"--probe_timeout: must be between 100ms and 5m"});
  ExpectOneLineError(Run({"probe", "--address=50051"}), {"--address: must be host:port"});
}

}  // namespace
}  // namespace tokens::service
