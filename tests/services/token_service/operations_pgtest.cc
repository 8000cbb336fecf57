// Running token-service as an operator does: migrate, bootstrap-admin, flags
// and their environment fallbacks, logs that never carry secrets, a database
// outage, SIGTERM, health checking and server reflection. The real binary on
// a real PostgreSQL over real gRPC.
#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "grpc/health/v1/health.pb.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/migrations.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/grpc_reflection.h"
#include "tests/support/health_check.h"
#include "tests/support/postgres_instance.h"

namespace tokens::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr seconds kProcessTimeout(60);

std::string FreshDatabase() {
  absl::StatusOr<std::string> url = SharedPostgres().CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

// What `migrate` logs when it applied `versions`.
std::string AppliedNow(const std::vector<int>& versions) {
  return absl::StrCat("applied now: [", absl::StrJoin(versions, ","), "]");
}

std::vector<int> AllVersions() {
  std::vector<int> versions;
  for (const service::Migration& m : service::AllMigrations()) versions.push_back(m.version);
  return versions;
}

ChildProcess::Options ServiceCommand(std::vector<std::string> args,
                                     std::map<std::string, std::string> env = {}) {
  std::vector<std::string> unset;
  for (const char* name :
       {"DATABASE_URL", "TOKEN_SERVICE_LISTEN", "TOKEN_SERVICE_HTTP_LISTEN",
        "TOKEN_SERVICE_TOKEN_PREFIX", "TOKEN_SERVICE_DB_POOL_SIZE", "TOKEN_SERVICE_LOG_LEVEL"}) {
    if (env.count(name) == 0) unset.push_back(name);
  }
  return {TokenServiceBinary(), std::move(args), std::move(env), std::move(unset)};
}

ChildProcess::Result MustRun(ChildProcess::Options options) {
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run(std::move(options), kProcessTimeout);
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(ChildProcess::Result{-999, "", ""});
}

std::unique_ptr<grpc::ClientContext> WithDeadline(seconds timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
  return ctx;
}

std::unique_ptr<grpc::ClientContext> AsWithDeadline(const std::string& token, seconds timeout) {
  auto ctx = WithDeadline(timeout);
  ctx->AddMetadata("authorization", "Bearer " + token);
  return ctx;
}

bool IsJsonLogLine(absl::string_view line) {
  return absl::StartsWith(line, "{\"ts\":") && absl::EndsWith(line, "\"}") &&
         absl::StrContains(line, "\"level\":") && absl::StrContains(line, "\"logger\":") &&
         absl::StrContains(line, "\"msg\":");
}

void ExpectEveryLineIsJson(const std::string& log, const std::string& what) {
  int lines = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    ++lines;
    EXPECT_TRUE(IsJsonLogLine(line))
        << what << " wrote a line that is not a JSON log object: " << line;
  }
  EXPECT_GT(lines, 0) << what << " logged nothing";
}

// ---------------------------------------------------------------------------
// migrate

TEST(MigrateTest, TwiceAppliesEverythingOnceThenNothing) {
  const std::string url = FreshDatabase();
  ChildProcess::Result first = MustRun(ServiceCommand({"migrate", "--database_url", url}));
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.err, HasSubstr(AppliedNow(AllVersions())));
  EXPECT_THAT(first.out, IsEmpty());

  ChildProcess::Result second = MustRun(ServiceCommand({"migrate", "--database_url", url}));
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr(AppliedNow({})));
  EXPECT_THAT(second.err, ::testing::Not(HasSubstr("applied migration")));
  EXPECT_THAT(second.out, IsEmpty());
  ExpectEveryLineIsJson(first.err + second.err, "migrate");

  EXPECT_THAT(SqlColumn(url, "SELECT count(*) FROM schema_migrations"),
              ElementsAre(std::to_string(service::AllMigrations().size())));
  EXPECT_THAT(SqlColumn(url, "SELECT max(version) FROM schema_migrations"),
              ElementsAre(std::to_string(AllVersions().back())));
  // The schema is really there.
  EXPECT_THAT(SqlColumn(url, "SELECT count(*) FROM tokens"), ElementsAre("0"));
}

// Waits (bounded) until `n` sessions of the database at `url` wait for a
// lock; returns how many did.
int AwaitLockWaiters(const std::string& url, int n) {
  int waiting = 0;
  for (int i = 0; i < 3000 && waiting < n; ++i) {
    waiting = std::stoi(SqlColumn(url,
                                  "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                                  "current_database() AND wait_event_type = 'Lock'")[0]);
    if (waiting < n) std::this_thread::sleep_for(milliseconds(10));
  }
  return waiting;
}

TEST(MigrateTest, ConcurrentRunsOnAFreshDatabaseAllSucceedAndApplyOnce) {
  const std::string url = FreshDatabase();
  // Line the runs up: hold the session advisory lock that migrate takes
  // (migrations.cc: kMigrationLockKey, "tokens" in ASCII) until all of them
  // wait for it, so that they really contend.
  pqxx::connection gate(url);
  pqxx::nontransaction(gate).exec("SELECT pg_advisory_lock(x'746f6b656e73'::bigint)");
  constexpr int kRuns = 4;
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < kRuns; ++i) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> child =
        ChildProcess::Spawn(ServiceCommand({"migrate", "--database_url", url}));
    ASSERT_TRUE(child.ok()) << child.status();
    children.push_back(*std::move(child));
  }
  EXPECT_EQ(AwaitLockWaiters(url, kRuns), kRuns) << "the runs did not all wait for the lock";
  pqxx::nontransaction(gate).exec("SELECT pg_advisory_unlock(x'746f6b656e73'::bigint)");
  int applied_everything = 0;
  int applied_nothing = 0;
  for (auto& child : children) {
    absl::StatusOr<int> status = child->Wait(kProcessTimeout);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << child->Stderr();
    if (absl::StrContains(child->Stderr(), AppliedNow(AllVersions()))) ++applied_everything;
    if (absl::StrContains(child->Stderr(), AppliedNow({}))) ++applied_nothing;
  }
  EXPECT_EQ(applied_everything, 1);
  EXPECT_EQ(applied_nothing, kRuns - 1);
  EXPECT_THAT(SqlColumn(url, "SELECT count(*) FROM schema_migrations"),
              ElementsAre(std::to_string(service::AllMigrations().size())));
  EXPECT_THAT(SqlColumn(url, "SELECT count(DISTINCT version) FROM schema_migrations"),
              ElementsAre(std::to_string(service::AllMigrations().size())));
}

// ---------------------------------------------------------------------------
// bootstrap-admin

const std::regex& TokenLine() {
  static const auto* re = new std::regex("utk_[0-9A-Za-z]{39}\n");
  return *re;
}

TEST(BootstrapAdminTest, PrintsExactlyOneTokenLineAndReusesTheAdmin) {
  const std::string url = FreshDatabase();  // not migrated: bootstrap-admin does it
  ChildProcess::Result first =
      MustRun(ServiceCommand({"bootstrap-admin", "--user", "root", "--database_url", url}));
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(std::regex_match(first.out, TokenLine())) << "stdout: [" << first.out << "]";

  ChildProcess::Result second =
      MustRun(ServiceCommand({"bootstrap-admin", "--user", "root", "--database_url", url}));
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_TRUE(std::regex_match(second.out, TokenLine())) << "stdout: [" << second.out << "]";
  EXPECT_NE(first.out, second.out);

  EXPECT_THAT(SqlColumn(url, "SELECT user_id || ':' || role FROM users"),
              ElementsAre("root:ADMIN"));
  EXPECT_THAT(SqlColumn(url,
                        "SELECT count(*) FROM tokens WHERE user_id = 'root' "
                        "AND revoked_at IS NULL"),
              ElementsAre("2"));
  // The operator is no user: each row is recorded as the admin's own doing;
  // the tokens expire in 90 days (the default, under the 365-day lifetime).
  EXPECT_THAT(
      SqlColumn(url,
                "SELECT kind || ':' || actor_user_id || ':' || subject_user_id "
                "FROM token_events ORDER BY id"),
      ElementsAre("USER_CREATED:root:root", "TOKEN_CREATED:root:root", "TOKEN_CREATED:root:root"));
  EXPECT_THAT(SqlColumn(url,
                        "SELECT DISTINCT expires_on - (created_at AT TIME ZONE 'UTC')::date "
                        "FROM tokens"),
              ElementsAre("90"));
  // The logs describe the tokens without carrying them.
  for (const ChildProcess::Result* r : {&first, &second}) {
    const std::string secret = r->out.substr(0, r->out.size() - 1);
    EXPECT_THAT(r->err, ::testing::Not(HasSubstr(secret)));
    EXPECT_THAT(r->err, ::testing::Not(HasSubstr(secret.substr(4))));
    ExpectEveryLineIsJson(r->err, "bootstrap-admin");
  }

  // Both tokens work and belong to the admin.
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service = TokenServiceProcess::Start(url);
  ASSERT_TRUE(service.ok()) << service.status();
  std::unique_ptr<v1::TokenService::Stub> stub =
      v1::TokenService::NewStub((*service)->NewChannel());
  for (const std::string& out : {first.out, second.out}) {
    v1::GetProfileResponse profile;
    grpc::Status status = stub->GetProfile(
        AsWithDeadline(out.substr(0, out.size() - 1), seconds(30)).get(), {}, &profile);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(profile.user_id(), "root");
    EXPECT_EQ(profile.role(), v1::ADMIN);
  }
}

TEST(BootstrapServiceTest, PrintsOneTokenOfAServiceUser) {
  const std::string url = FreshDatabase();
  ChildProcess::Result r =
      MustRun(ServiceCommand({"bootstrap-service", "--user", "sidecar", "--database_url", url}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, TokenLine())) << "stdout: [" << r.out << "]";
  EXPECT_THAT(SqlColumn(url, "SELECT user_id || ':' || role FROM users"),
              ElementsAre("sidecar:SERVICE"));
  const std::string secret = r.out.substr(0, r.out.size() - 1);
  EXPECT_THAT(r.err, ::testing::Not(HasSubstr(secret.substr(4))));
  ExpectEveryLineIsJson(r.err, "bootstrap-service");

  // The same name as an admin is refused: roles are never changed by a
  // bootstrap command.
  ChildProcess::Result admin =
      MustRun(ServiceCommand({"bootstrap-admin", "--user", "sidecar", "--database_url", url}));
  EXPECT_NE(admin.exit_code, 0);
  EXPECT_THAT(admin.out, IsEmpty());

  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service = TokenServiceProcess::Start(url);
  ASSERT_TRUE(service.ok()) << service.status();
  v1::GetProfileResponse profile;
  grpc::Status status = v1::TokenService::NewStub((*service)->NewChannel())
                            ->GetProfile(AsWithDeadline(secret, seconds(30)).get(), {}, &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.role(), v1::SERVICE);
}

// Starts `runs` concurrent `bootstrap-admin --user root` on `url`.
std::vector<std::unique_ptr<ChildProcess>> SpawnBootstraps(const std::string& url, int runs) {
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (int i = 0; i < runs; ++i) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(
        ServiceCommand({"bootstrap-admin", "--user", "root", "--database_url", url}));
    EXPECT_TRUE(child.ok()) << child.status();
    if (child.ok()) children.push_back(*std::move(child));
  }
  return children;
}

// Every run exited 0 and printed its own token, all for one admin "root".
void ExpectOneAdminWithDistinctTokens(const std::string& url,
                                      std::vector<std::unique_ptr<ChildProcess>>& children) {
  std::set<std::string> tokens;
  for (auto& child : children) {
    absl::StatusOr<int> status = child->Wait(kProcessTimeout);
    ASSERT_TRUE(status.ok()) << status.status();
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << child->Stderr();
    EXPECT_TRUE(std::regex_match(child->Stdout(), TokenLine())) << child->Stdout();
    tokens.insert(child->Stdout());
  }
  EXPECT_EQ(tokens.size(), children.size());
  EXPECT_THAT(SqlColumn(url, "SELECT user_id || ':' || role FROM users"),
              ElementsAre("root:ADMIN"));
  EXPECT_THAT(SqlColumn(url, "SELECT count(*) FROM tokens"),
              ElementsAre(std::to_string(children.size())));
}

TEST(BootstrapAdminTest, ConcurrentRunsOnAFreshDatabaseAllPrintATokenForOneAdmin) {
  const std::string url = FreshDatabase();
  constexpr int kRuns = 4;
  std::vector<std::unique_ptr<ChildProcess>> children = SpawnBootstraps(url, kRuns);
  ExpectOneAdminWithDistinctTokens(url, children);
}

// Several replicas bootstrapping the same admin at the same moment (as a
// deployment script might): they all look the admin up before any of them
// has created it, so all but one lose the race to insert. The losers must
// use the winner's row, not fail.
TEST(BootstrapAdminTest, RunsRacingToCreateTheSameAdminAllSucceed) {
  const std::string url = FreshDatabase();
  ChildProcess::Result migrate = MustRun(ServiceCommand({"migrate", "--database_url", url}));
  ASSERT_EQ(migrate.exit_code, 0) << migrate.err;

  // Hold every reader of `users` at the gate, then let them all go at once.
  pqxx::connection gate_conn(url);
  auto gate = std::make_unique<pqxx::work>(gate_conn);
  gate->exec0("LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  constexpr int kRuns = 4;
  std::vector<std::unique_ptr<ChildProcess>> children = SpawnBootstraps(url, kRuns);
  EXPECT_EQ(AwaitLockWaiters(url, kRuns), kRuns) << "not every run reached the admin lookup";
  gate->commit();
  gate.reset();

  ExpectOneAdminWithDistinctTokens(url, children);
}

class OperationsTest : public TokenServiceTest {};

TEST_F(OperationsTest, BootstrapAdminRefusesAnExistingNonAdminUser) {
  NewUserWithToken("alice", v1::USER);
  const std::vector<std::string> tokens_before =
      Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice'");
  ChildProcess::Result r = MustRun(
      ServiceCommand({"bootstrap-admin", "--user", "alice", "--database_url", database_url_}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_THAT(r.err, HasSubstr("alice"));
  EXPECT_EQ(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice'"), tokens_before);
  EXPECT_THAT(Sql("SELECT role FROM users WHERE user_id = 'alice'"), ElementsAre("USER"));
}

// ---------------------------------------------------------------------------
// flags and environment

TEST(FlagsTest, BadFlagsExitWithStatusTwoNamingTheFlag) {
  const std::string url = FreshDatabase();
  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases = {
      {{}, "database_url"},
      {{"migrate"}, "database_url"},
      {{"bootstrap-admin", "--user", "root"}, "database_url"},
      {{"--database_url", url, "--token_prefix", "BAD"}, "token_prefix"},
      {{"migrate", "--database_url", url, "--token_prefix", "BAD"}, "token_prefix"},
      {{"--database_url", url, "--db_pool_size", "0"}, "db_pool_size"},
      {{"--database_url", url, "--listen", "no-port"}, "listen"},
      {{"bootstrap-admin", "--database_url", url}, "--user"},
      {{"frobnicate", "--database_url", url}, "frobnicate"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrJoin(c.args, " "));
    ChildProcess::Result r = MustRun(ServiceCommand(c.args));
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.named));
    EXPECT_THAT(r.out, IsEmpty());
  }
  // None of them touched the database.
  EXPECT_THAT(SqlColumn(url, "SELECT to_regclass('schema_migrations') IS NULL"), ElementsAre("t"));
}

TEST_F(OperationsTest, EnvironmentVariablesStandInForFlags) {
  // migrate with DATABASE_URL only.
  ChildProcess::Result migrate =
      MustRun(ServiceCommand({"migrate"}, {{"DATABASE_URL", database_url_}}));
  EXPECT_EQ(migrate.exit_code, 0) << migrate.err;
  EXPECT_THAT(migrate.err, HasSubstr(AppliedNow({})));

  // The command line wins over the environment.
  ChildProcess::Result flag_wins = MustRun(ServiceCommand(
      {"migrate", "--database_url", database_url_},
      {{"DATABASE_URL", "postgresql://nobody@/no_such_db?host=%2Fno%2Fsuch%2Fdir"}}));
  EXPECT_EQ(flag_wins.exit_code, 0) << flag_wins.err;

  // Serving with DATABASE_URL and TOKEN_SERVICE_LISTEN only.
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Spawn(ServiceCommand({}, {{"DATABASE_URL", database_url_},
                                              {"TOKEN_SERVICE_LISTEN", "127.0.0.1:0"},
                                              {"TOKEN_SERVICE_METRICS_LISTEN", "127.0.0.1:0"},
                                              {"TOKEN_SERVICE_HTTP_LISTEN", "127.0.0.1:0"}}));
  ASSERT_TRUE(child.ok()) << child.status();
  absl::StatusOr<std::string> address =
      (*child)->WaitForStderr(R"(listening on (127\.0\.0\.1:[0-9]+))", kProcessTimeout);
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_NE(*address, "127.0.0.1:0");
  auto stub =
      v1::TokenService::NewStub(grpc::CreateChannel(*address, grpc::InsecureChannelCredentials()));
  v1::GetProfileResponse profile;
  grpc::Status status =
      stub->GetProfile(AsWithDeadline(admin_token_, seconds(30)).get(), {}, &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "admin");
  // Close the connection first: a server stopping under an idle client
  // connection waits for it (see SigtermStopsCleanly), which is not the
  // point here.
  stub.reset();
  (*child)->Signal(SIGTERM);
  absl::StatusOr<int> exit_status = (*child)->Wait(kProcessTimeout);
  ASSERT_TRUE(exit_status.ok()) << exit_status.status();
  EXPECT_TRUE(WIFEXITED(*exit_status) && WEXITSTATUS(*exit_status) == 0);
}

// ---------------------------------------------------------------------------
// secrets

TEST_F(OperationsTest, SecretsAppearInNoTableAndNoLog) {
  // A second admin token, with the bootstrap's own log.
  ChildProcess::Result bootstrap = MustRun(
      ServiceCommand({"bootstrap-admin", "--user", "admin", "--database_url", database_url_}));
  ASSERT_EQ(bootstrap.exit_code, 0) << bootstrap.err;
  const std::string second_admin = bootstrap.out.substr(0, bootstrap.out.size() - 1);

  const std::string alice = NewUserWithToken("alice", v1::USER);
  std::vector<std::string> secrets = {admin_token_, second_admin, alice};
  std::vector<std::string> hints;
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    v1::CreateTokenResponse created = MustCreate(alice, absl::StrCat("token-", i));
    secrets.push_back(created.secret());
    hints.push_back(created.token().hint());
    ids.push_back(created.token().id());
  }
  // Rotate one (old and new secret), revoke another.
  v1::RotateTokenRequest rotate;
  rotate.set_id(ids[0]);
  v1::RotateTokenResponse rotated;
  grpc::Status status = tokens_->RotateToken(As(alice).get(), rotate, &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  secrets.push_back(rotated.secret());
  hints.push_back(rotated.token().hint());
  v1::RevokeTokenRequest revoke;
  revoke.set_id(ids[1]);
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(alice).get(), revoke, &revoked).ok());

  // Calls that fail, presenting secrets (or near-secrets) every which way.
  std::string malformed = secrets[4];
  malformed.back() = malformed.back() == 'a' ? 'b' : 'a';
  SystemRandom random;
  const std::string unknown = TokenCodec("utk").Generate(random);
  ASSERT_EQ(TokenCodec("utk").Validate(unknown), TokenFormatError::kOk);
  std::vector<std::string> presented = {secrets[3],  // rotated away
                                        secrets[4],  // revoked
                                        malformed, unknown};
  for (const std::string& token : presented) {
    v1::GetProfileResponse profile;
    status = tokens_->GetProfile(As(token).get(), {}, &profile);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    auto raw = WithDeadline(seconds(30));
    raw->AddMetadata("authorization", token);  // no "Bearer "
    status = tokens_->GetProfile(raw.get(), {}, &profile);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    // A secret pasted into request fields that fail validation.
    v1::GetTokenRequest get;
    get.set_id(token);
    v1::Token got;
    status = tokens_->GetToken(As(alice).get(), get, &got);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    v1::CreateTokenRequest create;
    create.set_name("pasted");
    create.set_expires_on(token);
    v1::CreateTokenResponse created;
    status = tokens_->CreateToken(As(alice).get(), create, &created);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    v1::ListTokensRequest list;
    list.set_page_token(token);
    v1::ListTokensResponse listed;
    status = tokens_->ListTokens(As(alice).get(), list, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr(token)));
  }
  secrets.push_back(malformed);
  secrets.push_back(unknown);

  // Every row of every table, as text.
  std::string dump;
  for (const std::string& table :
       Sql("SELECT quote_ident(table_name) FROM information_schema.tables "
           "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")) {
    for (const std::string& row : Sql(absl::StrCat("SELECT t::text FROM ", table, " t"))) {
      absl::StrAppend(&dump, table, ": ", row, "\n");
    }
  }
  // The dump is real: it shows the hints.
  for (const std::string& hint : hints) EXPECT_THAT(dump, HasSubstr(hint));

  const std::string log = service_->process().Stderr();
  ASSERT_THAT(log, HasSubstr("UNAUTHENTICATED"));
  for (const std::string& secret : secrets) {
    const std::string body = secret.substr(secret.find('_') + 1);
    ASSERT_EQ(body.size(), TokenCodec::kBodyChars);
    EXPECT_THAT(dump, ::testing::Not(HasSubstr(body))) << "a table holds " << secret;
    EXPECT_THAT(log, ::testing::Not(HasSubstr(body))) << "the server log holds " << secret;
    EXPECT_THAT(bootstrap.err, ::testing::Not(HasSubstr(body)));
  }
  ExpectEveryLineIsJson(log, "token-service");
  ExpectEveryLineIsJson(bootstrap.err, "bootstrap-admin");
}

// ---------------------------------------------------------------------------
// database outage

// A PostgreSQL of the test's own (stopping the shared one would break other
// tests), with a fresh database and a bootstrapped admin.
struct OwnDatabase {
  std::unique_ptr<PostgresInstance> pg;
  std::string url;
  std::string admin_token;
};

void StartOwnDatabaseWithAdmin(OwnDatabase* own) {
  absl::StatusOr<std::unique_ptr<PostgresInstance>> pg = PostgresInstance::Start();
  ASSERT_TRUE(pg.ok()) << pg.status();
  own->pg = *std::move(pg);
  absl::StatusOr<std::string> url = own->pg->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  own->url = *url;
  ChildProcess::Result bootstrap =
      MustRun(ServiceCommand({"bootstrap-admin", "--user", "admin", "--database_url", own->url}));
  ASSERT_EQ(bootstrap.exit_code, 0) << bootstrap.err;
  own->admin_token = bootstrap.out.substr(0, bootstrap.out.size() - 1);
}

TEST(DatabaseOutageTest, CallsAreUnavailableWhileTheDatabaseIsDownAndRecoverWithoutARestart) {
  OwnDatabase own;
  ASSERT_NO_FATAL_FAILURE(StartOwnDatabaseWithAdmin(&own));
  const std::string& admin = own.admin_token;

  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service =
      TokenServiceProcess::Start(own.url);
  ASSERT_TRUE(service.ok()) << service.status();
  std::shared_ptr<grpc::Channel> channel = (*service)->NewChannel();
  auto stub = v1::TokenService::NewStub(channel);

  auto create = [&](const std::string& name, v1::CreateTokenResponse* out) {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(DateFromToday(30));
    return stub->CreateToken(AsWithDeadline(admin, seconds(15)).get(), request, out);
  };
  v1::CreateTokenResponse before;
  grpc::Status status = create("before the outage", &before);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_TRUE(own.pg->Stop().ok());
  for (int round = 0; round < 2; ++round) {
    v1::GetProfileResponse profile;
    status = stub->GetProfile(AsWithDeadline(admin, seconds(15)).get(), {}, &profile);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    v1::ListTokensResponse listed;
    status = stub->ListTokens(AsWithDeadline(admin, seconds(15)).get(), {}, &listed);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
    v1::CreateTokenResponse during;
    status = create("during the outage", &during);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  }
  // Still running, still answering what needs no database.
  EXPECT_FALSE((*service)->process().Wait(milliseconds(0)).ok()) << "token-service exited";
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(HealthCheck(channel, "", &health).ok());

  ASSERT_TRUE(own.pg->Restart().ok());
  bool recovered = false;
  grpc::Status last;
  for (int attempt = 0; attempt < 600 && !recovered; ++attempt) {
    v1::GetProfileResponse profile;
    last = stub->GetProfile(AsWithDeadline(admin, seconds(15)).get(), {}, &profile);
    recovered = last.ok();
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(recovered) << "no successful call after the restart; last: " << last.error_message();

  // Same process, data intact, writes work again.
  EXPECT_FALSE((*service)->process().Wait(milliseconds(0)).ok()) << "token-service exited";
  v1::ListTokensResponse listed;
  status = stub->ListTokens(AsWithDeadline(admin, seconds(15)).get(), {}, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> names;
  for (const v1::Token& t : listed.tokens()) names.insert(t.name());
  EXPECT_EQ(names.count("before the outage"), 1u);
  EXPECT_EQ(names.count("during the outage"), 0u);
  v1::GetProfileResponse profile;
  status = stub->GetProfile(AsWithDeadline(before.secret(), seconds(15)).get(), {}, &profile);
  EXPECT_TRUE(status.ok()) << status.error_message();
  v1::CreateTokenResponse after;
  status = create("after the outage", &after);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ExpectEveryLineIsJson((*service)->process().Stderr(), "token-service");
  if (HasFailure()) std::cerr << (*service)->process().Stderr();
}

TEST(DatabaseOutageTest, ServerStartedWhileTheDatabaseIsDownServesOnceItIsBack) {
  OwnDatabase own;
  ASSERT_NO_FATAL_FAILURE(StartOwnDatabaseWithAdmin(&own));
  const std::string& admin = own.admin_token;

  ASSERT_TRUE(own.pg->Stop().ok());
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service =
      TokenServiceProcess::Start(own.url);
  ASSERT_TRUE(service.ok()) << service.status();
  auto stub = v1::TokenService::NewStub((*service)->NewChannel());
  v1::GetProfileResponse profile;
  grpc::Status status = stub->GetProfile(AsWithDeadline(admin, seconds(15)).get(), {}, &profile);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();

  ASSERT_TRUE(own.pg->Restart().ok());
  bool recovered = false;
  for (int attempt = 0; attempt < 600 && !recovered; ++attempt) {
    status = stub->GetProfile(AsWithDeadline(admin, seconds(15)).get(), {}, &profile);
    recovered = status.ok();
    if (!recovered) std::this_thread::sleep_for(milliseconds(50));
  }
  ASSERT_TRUE(recovered) << status.error_message();
  EXPECT_EQ(profile.user_id(), "admin");
  if (HasFailure()) std::cerr << (*service)->process().Stderr();
}

// ---------------------------------------------------------------------------
// SIGTERM

TEST_F(OperationsTest, SigtermStopsCleanly) {
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(admin_token_).get(), {}, &profile).ok());
  service_->process().Signal(SIGTERM);
  absl::StatusOr<int> status = service_->process().Wait(kProcessTimeout);
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  const std::string log = service_->process().Stderr();
  EXPECT_THAT(log, HasSubstr("\"msg\":\"stopped in "));
  ExpectEveryLineIsJson(log, "token-service");
}

TEST_F(OperationsTest, SigtermDuringConcurrentCallsDrainsThemAndExitsZero) {
  for (int i = 0; i < 30; ++i) MustCreate(admin_token_, absl::StrCat("load-", i));
  constexpr int kThreads = 6;
  std::atomic<bool> stop{false};
  std::atomic<int> ok_calls{0};
  std::mutex mu;
  std::map<grpc::StatusCode, int> codes;
  std::vector<std::string> unexpected;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Half the threads share the fixture's channel, half have their own.
      std::unique_ptr<v1::TokenService::Stub> own =
          v1::TokenService::NewStub(service_->NewChannel());
      v1::TokenService::Stub* stub = t % 2 == 0 ? tokens_.get() : own.get();
      for (int i = 0; i < 100000 && !stop.load(); ++i) {
        v1::ListTokensRequest request;
        request.set_all_users(true);
        request.set_page_size(20);
        v1::ListTokensResponse response;
        grpc::Status status = stub->ListTokens(As(admin_token_).get(), request, &response);
        std::lock_guard<std::mutex> lock(mu);
        ++codes[status.error_code()];
        if (status.ok()) {
          ++ok_calls;
          if (response.tokens_size() != 20) unexpected.push_back("short page");
        } else if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
                   status.error_code() != grpc::StatusCode::CANCELLED) {
          unexpected.push_back(absl::StrCat(status.error_code(), ": ", status.error_message()));
        }
      }
    });
  }
  for (int i = 0; i < 3000 && ok_calls.load() < 50; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_GE(ok_calls.load(), 50);

  service_->process().Signal(SIGTERM);
  absl::StatusOr<int> status = service_->process().Wait(kProcessTimeout);
  // Keep calling until calls against the stopped server have failed too.
  auto unavailable = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return codes[grpc::StatusCode::UNAVAILABLE];
  };
  for (int i = 0; i < 3000 && unavailable() < kThreads; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  stop = true;
  for (std::thread& t : threads) t.join();

  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_TRUE(WIFEXITED(*status)) << "killed by signal " << WTERMSIG(*status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  EXPECT_THAT(unexpected, IsEmpty());
  EXPECT_GE(codes[grpc::StatusCode::UNAVAILABLE], kThreads);

  // Drained: every call that reached a handler was answered, and answered
  // OK. The server logs one line per handled call, so the number of handled
  // calls must equal the number of OKs the clients received. Calls refused
  // during shutdown never reach a handler; gRPC answers them UNAVAILABLE, or
  // CANCELLED when they arrive after Shutdown() began but before the client
  // saw the GOAWAY (gRPC core, grpc/grpc#41785), which is why CANCELLED is
  // tolerated above but only for calls the server never handled.
  const std::string log = service_->process().Stderr();
  int handled = 0;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    if (!absl::StrContains(line, R"("msg":"ListTokens")")) continue;
    ++handled;
    EXPECT_THAT(std::string(line), HasSubstr(R"("code":"OK")"));
  }
  EXPECT_EQ(handled, ok_calls.load()) << "calls handled by the server but not answered OK";
  EXPECT_THAT(log, HasSubstr("\"msg\":\"stopped in "));
  ExpectEveryLineIsJson(log, "token-service");
}

// ---------------------------------------------------------------------------
// health and reflection

TEST_F(OperationsTest, HealthCheckServesWithoutAuthorization) {
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = HealthCheck(service_->NewChannel(), "", &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(OperationsTest, ReflectionListsAndDescribesTheServices) {
  std::shared_ptr<grpc::Channel> channel = service_->NewChannel();
  absl::StatusOr<std::set<std::string>> services = ReflectedServices(channel);
  ASSERT_TRUE(services.ok()) << services.status();
  for (const char* expected :
       {"tokens.v1.TokenService", "tokens.v1.UserService", "tokens.v1.TokenSync",
        "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}) {
    EXPECT_EQ(services->count(expected), 1u)
        << expected << " not listed among " << absl::StrJoin(*services, ", ");
  }
  // As grpcurl needs to describe and call methods.
  for (const auto& [symbol, file, method] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"tokens.v1.TokenService", "tokens/v1/tokens.proto", "RotateToken"},
           {"tokens.v1.UserService", "tokens/v1/tokens.proto", "UpdateUser"},
           {"tokens.v1.TokenSync", "tokens/v1/sync.proto", "SyncTokens"},
           {"grpc.health.v1.Health", "grpc/health/v1/health.proto", "Check"}}) {
    SCOPED_TRACE(symbol);
    absl::StatusOr<bool> described = ReflectionDescribesMethod(channel, symbol, file, method);
    ASSERT_TRUE(described.ok()) << described.status();
    EXPECT_TRUE(*described) << "no descriptor of " << file << " with method " << method;
  }
}

TEST(FlagsTest, HelpNeverPrintsTheDatabaseUrlFromTheEnvironment) {
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run({TokenServiceBinary(),
                         {"--helpfull"},
                         {{"DATABASE_URL", "postgresql://tokens:s3cr3t-pw@db.internal/tokens"}},
                         {}},
                        std::chrono::seconds(60));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->out + result->err, HasSubstr("database_url"));
  EXPECT_THAT(result->out + result->err, ::testing::Not(HasSubstr("s3cr3t-pw")));
}

}  // namespace
}  // namespace tokens::testing
