// token-service's configuration: the change feed's poll interval (flag,
// environment fallback, validation) and that the README lists every flag.
#include "services/token_service/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/reflection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/flag_table.h"

namespace tokens::service {
namespace {

using ::testing::HasSubstr;

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

TEST_F(ServiceConfigTest, TheOperatorGuideListsEveryFlagWithItsVariableAndDefault) {
  tokens::testing::ExpectFlagTableMatches(OPERATIONS_DOCS, "### token-service", DescribeFlags());
}

}  // namespace
}  // namespace tokens::service
