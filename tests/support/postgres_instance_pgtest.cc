// Integration test of the test-support library itself: a real private
// PostgreSQL (or TEST_DATABASE_URL) and real child processes.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/postgres_instance.h"

namespace tokens::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

bool UsingExternalDatabase() {
  const char* url = std::getenv("TEST_DATABASE_URL");
  return url != nullptr && *url != '\0';
}

// The socket directory from a URL made by UrlFor (".../?host=%2Ftmp%2F...").
std::string SocketDirOf(const std::string& url) {
  size_t start = url.find("host=");
  if (start == std::string::npos) return "";
  start += 5;
  size_t end = url.find('&', start);
  std::string encoded = url.substr(start, end - start);
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size()) {
      out.push_back(static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(encoded[i]);
    }
  }
  return out;
}

std::string QueryOne(const std::string& url, const std::string& sql) {
  pqxx::connection conn(url);
  pqxx::nontransaction tx(conn);
  return tx.exec1(sql)[0].as<std::string>();
}

TEST(PostgresInstanceTest, CreatesDistinctDatabases) {
  PostgresInstance& pg = SharedPostgres();
  absl::StatusOr<std::string> a = pg.CreateDatabase();
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::string> b = pg.CreateDatabase();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(*a, *b);

  EXPECT_EQ(QueryOne(*a, "select 1"), "1");
  EXPECT_EQ(QueryOne(*b, "select 1"), "1");
  const std::string name_a = QueryOne(*a, "select current_database()");
  const std::string name_b = QueryOne(*b, "select current_database()");
  EXPECT_NE(name_a, name_b);
  EXPECT_EQ(*a, pg.UrlFor(name_a));
  EXPECT_EQ(*b, pg.UrlFor(name_b));

  // The databases really are separate.
  {
    pqxx::connection conn(*a);
    pqxx::work tx(conn);
    tx.exec0("create table only_in_a (x int)");
    tx.commit();
  }
  EXPECT_EQ(QueryOne(*a, "select count(*) from pg_tables where tablename = 'only_in_a'"), "1");
  EXPECT_EQ(QueryOne(*b, "select count(*) from pg_tables where tablename = 'only_in_a'"), "0");
}

TEST(PostgresInstanceTest, UrlFormat) {
  PostgresInstance& pg = SharedPostgres();
  if (UsingExternalDatabase()) {
    EXPECT_THAT(pg.UrlFor("some_db"), HasSubstr("some_db"));
    return;
  }
  const std::string url = pg.UrlFor("some_db");
  EXPECT_TRUE(absl::StartsWith(url, "postgresql://postgres@/some_db?host=%2Ftmp%2Ftokens-pg-"))
      << url;
  EXPECT_TRUE(absl::EndsWith(url, "&port=5432")) << url;
  EXPECT_TRUE(std::filesystem::exists(SocketDirOf(url) + "/.s.PGSQL.5432")) << url;
}

TEST(PostgresInstanceTest, StopAndRestart) {
  // A private instance, so that the shared one stays up for the other tests.
  absl::StatusOr<std::unique_ptr<PostgresInstance>> pg = PostgresInstance::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  absl::StatusOr<std::string> url = (*pg)->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();

  if (UsingExternalDatabase()) {
    EXPECT_EQ((*pg)->Stop().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*pg)->Restart().code(), absl::StatusCode::kFailedPrecondition);
    return;
  }

  {
    pqxx::connection conn(*url);
    pqxx::work tx(conn);
    tx.exec0("create table t (x int)");
    tx.exec0("insert into t values (42)");
    tx.commit();
  }

  absl::Status stopped = (*pg)->Stop();
  ASSERT_TRUE(stopped.ok()) << stopped;
  EXPECT_THROW(pqxx::connection conn(*url), pqxx::broken_connection);

  absl::Status restarted = (*pg)->Restart();
  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(QueryOne(*url, "select x from t"), "42");

  // Destruction stops the server and removes its directory.
  const std::string dir = SocketDirOf(*url);
  ASSERT_TRUE(absl::StartsWith(dir, "/tmp/tokens-pg-")) << dir;
  EXPECT_TRUE(std::filesystem::exists(dir));
  pg->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
  EXPECT_THROW(pqxx::connection conn(*url), pqxx::broken_connection);
}

ChildProcess::Options Sh(const std::string& script) {
  ChildProcess::Options o;
  o.binary = "/bin/sh";
  o.args = {"-c", script};
  return o;
}

TEST(ChildProcessTest, RunCapturesOutputAndExitCode) {
  absl::StatusOr<ChildProcess::Result> r =
      ChildProcess::Run(Sh("echo out; echo err >&2; exit 3"), seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(ChildProcessTest, RunCapturesLargeOutput) {
  // More than a pipe buffer on both streams, so the readers must keep up.
  absl::StatusOr<ChildProcess::Result> r =
      ChildProcess::Run(Sh("head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"), seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->out.size(), 300000u);
  EXPECT_EQ(r->err.size(), 200000u);
}

TEST(ChildProcessTest, WaitForStderrReturnsCaptureGroup) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(Sh("echo starting >&2; sleep 0.1; echo 'listening on port 4242' >&2; "
                             "echo done; sleep 5"));
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> port =
      (*child)->WaitForStderr("listening on port (\\d+)", seconds(10));
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_EQ(*port, "4242");

  // Without a group, the whole match.
  absl::StatusOr<std::string> whole = (*child)->WaitForStderr("port \\d+", seconds(10));
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(*whole, "port 4242");
  EXPECT_THAT((*child)->Stderr(), HasSubstr("starting\n"));

  EXPECT_EQ((*child)->WaitForStderr("(", seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The destructor kills the still-sleeping child.
}

TEST(ChildProcessTest, WaitForStderrTimesOut) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({"/bin/sleep", {"5"}, {}, {}});
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> r = (*child)->WaitForStderr("never", milliseconds(200));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_EQ((*child)->Wait(milliseconds(50)).status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST(ChildProcessTest, WaitForStderrFailsWhenChildExitsFirst) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(Sh("echo 'fatal: no config' >&2; exit 1"));
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> r = (*child)->WaitForStderr("listening", seconds(30));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("fatal: no config"));
}

TEST(ChildProcessTest, KilledBySignalGivesNegativeCode) {
  absl::StatusOr<ChildProcess::Result> r = ChildProcess::Run(Sh("kill -KILL $$"), seconds(10));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, -SIGKILL);

  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({"/bin/sleep", {"30"}, {}, {}});
  ASSERT_TRUE(child.ok()) << child.status();
  (*child)->Signal(SIGTERM);
  absl::StatusOr<int> status = (*child)->Wait(seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST(ChildProcessTest, RunTimesOut) {
  absl::StatusOr<ChildProcess::Result> r =
      ChildProcess::Run({"/bin/sleep", {"5"}, {}, {}}, milliseconds(100));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
}

TEST(ChildProcessTest, EnvironmentIsMergedAndUnset) {
  ::setenv("TOKENS_TEST_INHERITED", "inherited", 1);
  ::setenv("TOKENS_TEST_REMOVED", "removed", 1);
  ::setenv("TOKENS_TEST_OVERRIDDEN", "old", 1);
  ChildProcess::Options o =
      Sh("echo \"$TOKENS_TEST_INHERITED ${TOKENS_TEST_REMOVED-unset} "
         "$TOKENS_TEST_OVERRIDDEN $TOKENS_TEST_ADDED\"");
  o.env = {{"TOKENS_TEST_OVERRIDDEN", "new"}, {"TOKENS_TEST_ADDED", "added"}};
  o.unset_env = {"TOKENS_TEST_REMOVED"};
  absl::StatusOr<ChildProcess::Result> r = ChildProcess::Run(o, seconds(10));
  ::unsetenv("TOKENS_TEST_INHERITED");
  ::unsetenv("TOKENS_TEST_REMOVED");
  ::unsetenv("TOKENS_TEST_OVERRIDDEN");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "inherited unset new added\n");
}

TEST(ChildProcessTest, ChildGetsOwnProcessGroupAndNoStrayFds) {
  // A descriptor opened without O_CLOEXEC must not leak into the child.
  int fd = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 3);
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(Sh(absl::StrCat(
      "if [ -e /proc/self/fd/", fd, " ]; then echo leaked; else echo closed; fi; exec sleep 30")));
  ::close(fd);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(::getpgid((*child)->pid()), (*child)->pid());
  EXPECT_NE(::getpgid((*child)->pid()), ::getpgrp());
  for (int i = 0; i < 500 && (*child)->Stdout().empty(); ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*child)->Stdout(), "closed\n");
}

bool GoneOrZombie(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t paren = line.rfind(')');
  return paren == std::string::npos || (paren + 2 < line.size() && line[paren + 2] == 'Z');
}

TEST(ChildProcessTest, DestructorKillsProcessGroup) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(Sh("sleep 30 & echo \"grandchild $!\" >&2; wait"));
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> pid_text = (*child)->WaitForStderr("grandchild (\\d+)", seconds(10));
  ASSERT_TRUE(pid_text.ok()) << pid_text.status();
  const pid_t grandchild = std::stoi(*pid_text);
  EXPECT_FALSE(GoneOrZombie(grandchild));
  child->reset();
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    gone = GoneOrZombie(grandchild);
    if (!gone) std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST(ChildProcessTest, SpawnFailsForMissingBinary) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn({"/nonexistent/binary", {}, {}, {}});
  EXPECT_FALSE(child.ok());
  EXPECT_THAT(std::string(child.status().message()), HasSubstr("/nonexistent/binary"));
}

}  // namespace
}  // namespace tokens::testing
