// The database password against the real token-service binary: a malformed
// DATABASE_URL (a generated password with a reserved character left
// unencoded) is refused at start with exit code 2 by every command, and no
// output of the binary quotes any part of the password.
#include <chrono>
#include <csignal>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Every password below contains this; no output may.
constexpr char kMarker[] = "Kx9Q";

// URLs that libpq misreads because the password holds a reserved character:
// an unencoded '%' is a bad escape, '/' ends the authority (the password's
// head becomes a port), '@' ends the user info (its tail becomes a host).
const std::vector<std::string>& MalformedUrls() {
  static const auto* urls = new std::vector<std::string>{
      "postgresql://svc:Kx9Qsecret%zzKx9Qtail@localhost/tokens",
      "postgresql://svc:Kx9QsecretA/Kx9QsecretB@localhost/tokens",
      "postgresql://svc:Kx9Qsecret@Kx9Qtail@localhost/tokens",
  };
  return *urls;
}

const std::vector<std::vector<std::string>>& Commands() {
  static const auto* commands = new std::vector<std::vector<std::string>>{
      {}, {"migrate"}, {"bootstrap-admin", "--user", "admin"}};
  return *commands;
}

// Runs token-service; a command that does not exit within the deadline
// fails the test (and shows its output).
ChildProcess::Result RunWith(std::vector<std::string> args,
                             std::map<std::string, std::string> env) {
  // Loopback ports the test does not otherwise use; a server that wrongly
  // starts must not collide with anything.
  args.insert(args.end(), {"--listen", "127.0.0.1:0", "--metrics_listen", "", "--http_listen", ""});
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run({TokenServiceBinary(), std::move(args), std::move(env), {"DATABASE_URL"}},
                        std::chrono::seconds(30));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : ChildProcess::Result{-1, "", ""};
}

TEST(DatabaseUrlTest, AMalformedUrlExitsWithCode2AndNeverPrintsThePassword) {
  for (const std::string& url : MalformedUrls()) {
    for (const std::vector<std::string>& command : Commands()) {
      std::vector<std::string> args = command;
      args.insert(args.end(), {"--database_url", url});
      const ChildProcess::Result result = RunWith(args, {});
      SCOPED_TRACE(url + " " + (command.empty() ? "serve" : command[0]));
      EXPECT_EQ(result.exit_code, 2) << result.err;
      EXPECT_THAT(result.err, HasSubstr("--database_url"));
      EXPECT_THAT(result.out, Not(HasSubstr(kMarker)));
      EXPECT_THAT(result.err, Not(HasSubstr(kMarker)));
    }
  }
}

TEST(DatabaseUrlTest, AMalformedUrlFromTheEnvironmentIsRefusedTheSameWay) {
  for (const std::string& url : MalformedUrls()) {
    for (const std::vector<std::string>& command : Commands()) {
      const ChildProcess::Result result = RunWith(command, {{"DATABASE_URL", url}});
      SCOPED_TRACE(url + " " + (command.empty() ? "serve" : command[0]));
      EXPECT_EQ(result.exit_code, 2) << result.err;
      EXPECT_THAT(result.err, HasSubstr("--database_url"));
      EXPECT_THAT(result.out + result.err, Not(HasSubstr(kMarker)));
    }
  }
}

// A well-formed URL whose server is unreachable: serve starts and logs that
// the database is unreachable, and neither that line nor any other quotes the
// password.
TEST(DatabaseUrlTest, AnUnreachableDatabaseIsLoggedWithoutItsPassword) {
  const std::string url = "postgresql://svc:Kx9Qsecret%25Kx9Qtail@127.0.0.1:1/tokens";
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({TokenServiceBinary(),
                           {"--listen", "127.0.0.1:0", "--metrics_listen", "", "--http_listen", "",
                            "--database_url", url},
                           {},
                           {"DATABASE_URL"}});
  ASSERT_TRUE(child.ok()) << child.status();
  ASSERT_TRUE((*child)->WaitUntilListening(std::chrono::seconds(30)).ok());
  ASSERT_TRUE((*child)->WaitForStderr("database not reachable", std::chrono::seconds(30)).ok());
  (*child)->Signal(SIGTERM);
  ASSERT_TRUE((*child)->Wait(std::chrono::seconds(30)).ok());
  EXPECT_THAT((*child)->Stderr(), Not(HasSubstr(kMarker)));
  EXPECT_THAT((*child)->Stdout(), Not(HasSubstr(kMarker)));
}

}  // namespace
}  // namespace tokens::testing
