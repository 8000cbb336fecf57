// The real demo-upstream binary: answers with the x-auth-* headers Envoy
// passed on, logs nothing else of a request's headers, stops cleanly on
// SIGTERM.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/deploy/deploy_files.h"
#include "tests/support/child_process.h"
#include "tests/support/command_line_checks.h"

namespace tokens::deploy_testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using tokens::testing::ChildProcess;

constexpr auto kTimeout = std::chrono::seconds(10);

class DemoUpstreamTest : public ::testing::Test {
 protected:
  // Starts demo-upstream on a free port.
  void Start() { Start({DEMO_UPSTREAM_BINARY, {"--listen=127.0.0.1:0"}, {}, {}}); }

  void Start(ChildProcess::Options options) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(std::move(options));
    ASSERT_TRUE(child.ok()) << child.status();
    child_ = std::move(*child);
    absl::StatusOr<std::string> address = child_->WaitUntilListening(kTimeout);
    ASSERT_TRUE(address.ok()) << address.status();
    client_ = std::make_unique<httplib::Client>(HostOf(*address), PortOf(*address));
  }

  // SIGTERM, and the exit code.
  int Stop() {
    child_->Signal(SIGTERM);
    absl::StatusOr<int> status = child_->Wait(kTimeout);
    EXPECT_TRUE(status.ok()) << status.status();
    if (!status.ok() || !WIFEXITED(*status)) return -1;
    return WEXITSTATUS(*status);
  }

  std::unique_ptr<ChildProcess> child_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DemoUpstreamTest, AnswersWithTheCallerEnvoyPassedOn) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const httplib::Headers headers = {{"x-auth-user-id", "alice"},
                                    {"x-auth-user-role", "USER"},
                                    {"x-auth-token-id", "tok-17"},
                                    {"x-auth-token-expires-on", "2027-04-11"},
                                    {"x-auth-token-scopes", "things:read things:write"}};
  httplib::Result get = client_->Get("/orders/42?page=2", headers);
  ASSERT_TRUE(get) << httplib::to_string(get.error());
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(get->body,
            R"({"user_id":"alice","role":"USER","token_id":"tok-17","expires_on":"2027-04-11",)"
            R"("scopes":"things:read things:write","path":"/orders/42"})"
            "\n");

  httplib::Result post = client_->Post("/orders", headers, "{}", "application/json");
  ASSERT_TRUE(post) << httplib::to_string(post.error());
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body,
            R"({"user_id":"alice","role":"USER","token_id":"tok-17","expires_on":"2027-04-11",)"
            R"("scopes":"things:read things:write","path":"/orders"})"
            "\n");
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DemoUpstreamTest, MissingHeadersAreEmptyAndValuesAreEscaped) {
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Result bare = client_->Get("/");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->body,
            R"({"user_id":"","role":"","token_id":"","expires_on":"","scopes":"","path":"/"})"
            "\n");
  httplib::Result quoted = client_->Get("/", {{"x-auth-user-id", R"(a"b\c)"}});
  ASSERT_TRUE(quoted);
  EXPECT_THAT(quoted->body, HasSubstr(R"("user_id":"a\"b\\c")"));
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DemoUpstreamTest, HealthzSaysOk) {
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Result health = client_->Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  EXPECT_EQ(Stop(), 0);
}

TEST_F(DemoUpstreamTest, LogsTheCallerButNoOtherHeader) {
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Result res =
      client_->Get("/private", {{"authorization", "Bearer not-a-real-token-but-secret"},
                                {"cookie", "session=also-secret"},
                                {"x-auth-user-id", "bob"},
                                {"x-auth-token-id", "tok-9"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(Stop(), 0);
  const std::string log = child_->Stderr();
  EXPECT_THAT(log, HasSubstr("GET /private status=200 user=bob token_id=tok-9"));
  EXPECT_THAT(log, Not(HasSubstr("secret")));
}

TEST_F(DemoUpstreamTest, TakesItsAddressFromTheEnvironment) {
  ASSERT_NO_FATAL_FAILURE(
      Start({DEMO_UPSTREAM_BINARY, {}, {{"DEMO_UPSTREAM_LISTEN", "127.0.0.1:0"}}, {}}));
  EXPECT_TRUE(client_->Get("/healthz"));
  EXPECT_EQ(Stop(), 0);
}

TEST(DemoUpstreamFlagsTest, ListensWhereEnvoyExpectsItByDefault) {
  // Envoy's demo_upstream clusters (deploy/) dial port 8081.
  absl::StatusOr<ChildProcess::Result> help =
      ChildProcess::Run({DEMO_UPSTREAM_BINARY, {"--help"}, {}, {}}, kTimeout);
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_THAT(help->out, HasSubstr("--listen (DEMO_UPSTREAM_LISTEN; default: 127.0.0.1:8081)"));
}

// The same command line as token-service's and token-sidecar's.
TEST(DemoUpstreamFlagsTest, HelpVersionAndBadFlagsAsInTheBinaries) {
  const std::vector<FlagDoc> flags = {{"listen", "DEMO_UPSTREAM_LISTEN", "127.0.0.1:8081", ""},
                                      {"log_level", "DEMO_UPSTREAM_LOG_LEVEL", "info", ""}};
  tokens::testing::ExpectHelpListsEveryFlag(DEMO_UPSTREAM_BINARY, flags, {});
  tokens::testing::ExpectVersion(DEMO_UPSTREAM_BINARY, "demo-upstream", flags);
  tokens::testing::ExpectOneLineError(
      "demo-upstream", tokens::testing::RunBinary(DEMO_UPSTREAM_BINARY, {"--no_such_flag"}, flags),
      {"--no_such_flag: unknown flag"});
  tokens::testing::ExpectOneLineError(
      "demo-upstream",
      tokens::testing::RunBinary(DEMO_UPSTREAM_BINARY, {}, flags,
                                 {{"DEMO_UPSTREAM_LISTEN", "nowhere"}}),
      {"DEMO_UPSTREAM_LISTEN (--listen): must be host:port"});
}

TEST(DemoUpstreamFlagsTest, ABadAddressIsExitCode2) {
  absl::StatusOr<ChildProcess::Result> run =
      ChildProcess::Run({DEMO_UPSTREAM_BINARY, {"--listen=nowhere"}, {}, {}}, kTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 2);
  EXPECT_THAT(run->err, HasSubstr("--listen: must be host:port"));
}

}  // namespace
}  // namespace tokens::deploy_testing
