#include "tests/services/token_service/service_fixture.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/time/civil_date.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tests/support/postgres_instance.h"

namespace tokens::testing {
namespace {
constexpr std::chrono::seconds kCommandTimeout(60);
}  // namespace

std::string TokenServiceBinary() { return TOKEN_SERVICE_BINARY; }

absl::StatusOr<ChildProcess::Result> RunTokenService(std::vector<std::string> args) {
  return ChildProcess::Run({TokenServiceBinary(), std::move(args), {}, {"DATABASE_URL"}},
                           kCommandTimeout);
}

absl::StatusOr<std::unique_ptr<TokenServiceProcess>> TokenServiceProcess::Start(
    const std::string& database_url, std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"--listen",       "127.0.0.1:0",   "--metrics_listen",
                                   "127.0.0.1:0",    "--http_listen", "127.0.0.1:0",
                                   "--database_url", database_url};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ChildProcess::Options options{TokenServiceBinary(), args, {}, {"DATABASE_URL"}};
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(std::move(options));
  if (!child.ok()) return child.status();
  absl::StatusOr<ReadyFileContents> ready = (*child)->WaitUntilReady(kCommandTimeout);
  if (!ready.ok()) return ready.status();
  auto process = std::unique_ptr<TokenServiceProcess>(new TokenServiceProcess());
  process->process_ = *std::move(child);
  process->address_ = ready->addresses["grpc"];
  process->metrics_address_ = ready->addresses["metrics"];
  process->sync_address_ = ready->addresses["sync"];
  process->http_address_ = ready->addresses["http"];
  return process;
}

std::shared_ptr<grpc::Channel> TokenServiceProcess::NewChannel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

std::string DateFromToday(int days) { return FormatIsoDate(UtcDay(absl::Now()) + days); }

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rich;
  if (status.error_details().empty() || !rich.ParseFromString(status.error_details())) {
    return fields;
  }
  for (const auto& detail : rich.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) continue;
    for (const auto& violation : bad_request.field_violations()) {
      fields.push_back(violation.field());
    }
  }
  return fields;
}

void TokenServiceTest::SetUp() {
  absl::StatusOr<std::string> url = SharedPostgres().CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  database_url_ = *url;

  absl::StatusOr<ChildProcess::Result> migrate =
      RunTokenService({"migrate", "--database_url", database_url_});
  ASSERT_TRUE(migrate.ok()) << migrate.status();
  ASSERT_EQ(migrate->exit_code, 0) << migrate->err;

  // The admin's token and users' first tokens live as long as any token
  // may (365 days by default), so that nothing a test issues with them
  // outlives them: a token never issues one that expires after itself.
  absl::StatusOr<ChildProcess::Result> bootstrap =
      RunTokenService({"bootstrap-admin", "--user", "admin", "--expires_on", DateFromToday(365),
                       "--database_url", database_url_});
  ASSERT_TRUE(bootstrap.ok()) << bootstrap.status();
  ASSERT_EQ(bootstrap->exit_code, 0) << bootstrap->err;
  admin_token_ = std::string(absl::StripSuffix(bootstrap->out, "\n"));

  RestartService({});
}

void TokenServiceTest::RestartService(std::vector<std::string> flags) {
  service_.reset();
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service =
      TokenServiceProcess::Start(database_url_, std::move(flags));
  ASSERT_TRUE(service.ok()) << service.status();
  service_ = *std::move(service);
  std::shared_ptr<grpc::Channel> channel = service_->NewChannel();
  tokens_ = v1::TokenService::NewStub(channel);
  users_ = v1::UserService::NewStub(channel);
  sync_ = v1::TokenSync::NewStub(channel);
}

void TokenServiceTest::TearDown() {
  if (HasFailure() && service_ != nullptr) {
    std::cerr << "---- token-service stderr ----\n" << service_->process().Stderr();
  }
}

std::unique_ptr<grpc::ClientContext> TokenServiceTest::As(const std::string& token) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("authorization", "Bearer " + token);
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return ctx;
}

std::string TokenServiceTest::NewUserWithToken(const std::string& user_id, v1::Role role) {
  v1::CreateUserRequest create_user;
  create_user.set_user_id(user_id);
  create_user.set_display_name("User " + user_id);
  create_user.set_email(user_id + "@example.com");
  create_user.set_role(role);
  v1::User user;
  grpc::Status status = users_->CreateUser(As(admin_token_).get(), create_user, &user);
  EXPECT_TRUE(status.ok()) << status.error_message();

  v1::CreateTokenRequest create_token;
  create_token.set_name("first token of " + user_id);
  create_token.set_expires_on(DateFromToday(365));
  create_token.set_user_id(user_id);
  v1::CreateTokenResponse created;
  status = tokens_->CreateToken(As(admin_token_).get(), create_token, &created);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return created.secret();
}

v1::CreateTokenResponse TokenServiceTest::MustCreate(const std::string& token,
                                                     const std::string& name, int days_ahead) {
  v1::CreateTokenRequest request;
  request.set_name(name);
  request.set_expires_on(DateFromToday(days_ahead));
  v1::CreateTokenResponse response;
  grpc::Status status = tokens_->CreateToken(As(token).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

void TokenServiceTest::LoadBulkTokens(int count) {
  Sql(absl::StrCat(
      "INSERT INTO users (user_id, display_name, role, created_at, updated_at)"
      " VALUES ('bulk', 'Bulk', 'USER', now(), now());"
      "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on)"
      " SELECT gen_random_uuid(), 'bulk', 'bulk-' || i, sha256(('bulk-' || i)::bytea),"
      "        'utk_bulk…0000', now(), current_date + 30"
      "   FROM generate_series(1, ",
      count, ") AS i"));
}

std::vector<std::string> TokenServiceTest::Sql(const std::string& query) {
  return SqlColumn(database_url_, query);
}

std::string TokenServiceTest::DatabaseDigest() {
  const std::vector<std::string> sql = Sql(
      "SELECT concat_ws(' ',"
      " 'users=' || (SELECT count(*) FROM users),"
      " 'tokens=' || (SELECT count(*) FROM tokens),"
      " 'events=' || (SELECT count(*) FROM token_events),"
      " (SELECT md5(coalesce(string_agg(u::text, ',' ORDER BY u.user_id), '')) FROM users u),"
      " (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t.id), '')) FROM tokens t),"
      " (SELECT md5(coalesce(string_agg(e::text, ',' ORDER BY e.id), '')) FROM token_events e))");
  return sql.empty() ? "no sql result" : sql[0];
}

}  // namespace tokens::testing
