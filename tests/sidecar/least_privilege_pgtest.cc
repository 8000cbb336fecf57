// Least privilege, end to end: token-service migrates and serves as a
// database role that is not a superuser, cannot create databases or roles,
// and owns nothing but its own schema; a sidecar fed by it has no database
// credentials at all. This is the set-up docs/security.md recommends.
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pqxx/pqxx"
#include "tests/services/token_service/service_fixture.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/postgres_instance.h"
#include "tokens/v1/tokens.grpc.pb.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kSuperuserPrefix[] = "postgresql://postgres@/";

// Runs `statements` as the superuser on `url`.
void AsSuperuser(const std::string& url, const std::string& statements) {
  pqxx::connection conn(url);
  pqxx::nontransaction(conn).exec(statements);
}

std::string LastLine(const std::string& out) {
  return std::string(absl::StripAsciiWhitespace(out));
}

TEST(LeastPrivilegeTest, TokenServiceRunsAsARoleThatOwnsOnlyItsSchema) {
  absl::StatusOr<std::string> admin_url = SharedPostgres().CreateDatabase();
  ASSERT_TRUE(admin_url.ok()) << admin_url.status();
  ASSERT_TRUE(absl::StartsWith(*admin_url, kSuperuserPrefix))
      << "this test builds the application role's URL from the private server's";
  const std::string db =
      std::string(absl::StripPrefix(admin_url->substr(0, admin_url->find('?')), kSuperuserPrefix));
  const std::string role = absl::StrCat("token_service_", db);

  // What an operator runs once, as the database's owner.
  AsSuperuser(
      *admin_url,
      absl::StrCat("CREATE ROLE ", role, " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;",
                   "REVOKE ALL ON DATABASE ", db, " FROM PUBLIC;", "GRANT CONNECT ON DATABASE ", db,
                   " TO ", role, ";", "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
                   "CREATE SCHEMA tokens AUTHORIZATION ", role, ";", "ALTER ROLE ", role,
                   " IN DATABASE ", db, " SET search_path = tokens;"));
  const std::string app_url =
      absl::StrCat("postgresql://", role, "@/", admin_url->substr(sizeof(kSuperuserPrefix) - 1));

  // Migrations, bootstrap and serving all work with that role.
  absl::StatusOr<ChildProcess::Result> migrate =
      RunTokenService({"migrate", "--database_url", app_url});
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  ASSERT_EQ(migrate->exit_code, 0) << migrate->err;
  absl::StatusOr<ChildProcess::Result> admin =
      RunTokenService({"bootstrap-admin", "--user", "admin", "--database_url", app_url});
  ASSERT_TRUE(admin.ok() && admin->exit_code == 0) << (admin.ok() ? admin->err : "");
  absl::StatusOr<ChildProcess::Result> service =
      RunTokenService({"bootstrap-service", "--user", "sidecar", "--database_url", app_url});
  ASSERT_TRUE(service.ok() && service->exit_code == 0) << (service.ok() ? service->err : "");

  auto server = TokenServiceProcess::Start(app_url);
  ASSERT_TRUE(server.ok()) << server.status();
  auto stub = v1::TokenService::NewStub((*server)->NewChannel());
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + LastLine(admin->out));
  v1::CreateTokenRequest create;
  create.set_name("least privilege");
  create.set_expires_on(DateFromToday(30));
  v1::CreateTokenResponse created;
  const grpc::Status status = stub->CreateToken(&ctx, create, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The sidecar gets only its SERVICE token: no database URL in its
  // environment, and it still loads the snapshot (LISTEN/NOTIFY included:
  // the new token arrives by the feed or a lookup).
  auto sidecar = SidecarProcess::Start((*server)->address(), LastLine(service->out),
                                       {"--metrics_listen", "127.0.0.1:0"});
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  ASSERT_TRUE((*sidecar)->WaitUntilServing());
  v1::AuthenticateRequest request;
  request.set_token(created.secret());
  v1::AuthenticateResponse principal;
  grpc::ClientContext sidecar_ctx;
  const grpc::Status allowed = v1::Authenticator::NewStub((*sidecar)->NewChannel())
                                   ->Authenticate(&sidecar_ctx, request, &principal);
  ASSERT_TRUE(allowed.ok()) << allowed.error_message();
  EXPECT_EQ(principal.user_id(), "admin");

  // Every table is the role's, in its schema; the role holds no other power.
  EXPECT_EQ(SqlColumn(*admin_url,
                      "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN "
                      "('pg_catalog', 'information_schema') AND (schemaname <> 'tokens' OR "
                      "tableowner <> '" +
                          role + "')"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(
      SqlColumn(*admin_url, "SELECT count(*) >= 4 FROM pg_tables WHERE schemaname = 'tokens'"),
      std::vector<std::string>{"t"});
  EXPECT_EQ(SqlColumn(*admin_url,
                      "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls "
                      "FROM pg_roles WHERE rolname = '" +
                          role + "'"),
            std::vector<std::string>{"f"});
  pqxx::connection as_app(app_url);
  try {
    pqxx::nontransaction(as_app).exec("CREATE TABLE public.intruder (x int)");
    ADD_FAILURE() << "the application role could create a table outside its schema";
  } catch (const pqxx::sql_error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("permission denied"));
  }
}

}  // namespace
}  // namespace tokens::testing
