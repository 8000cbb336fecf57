#include "services/token_service/server.h"

#include <cstdio>
#include <memory>

#include "absl/strings/str_join.h"
#include "common/grpc/server_runner.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "grpcpp/server_builder.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/token_manager.h"
#include "services/token_service/domain/user_manager.h"
#include "services/token_service/storage/migrations.h"
#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/storage/pg_token_store.h"
#include "services/token_service/transport/grpc_services.h"

namespace tokens::service {
namespace {

// Everything a running token-service is made of, wired once.
struct Components {
  explicit Components(const ServiceConfig& config)
      : codec(config.token_prefix),
        pool(config.database_url, PgPool::Options{config.db_pool_size}),
        store(pool),
        auth(store, codec, clock),
        tokens(store, codec, clock, random, {config.max_token_lifetime_days}),
        users(store, clock) {}

  SystemClock clock;
  SystemRandom random;
  TokenCodec codec;
  PgPool pool;
  PgTokenStore store;
  Authenticator auth;
  TokenManager tokens;
  UserManager users;
};

// Refuses to serve an outdated schema; tolerates an unreachable database,
// which the pool keeps retrying (calls answer UNAVAILABLE meanwhile).
bool SchemaIsServeable(const std::string& database_url) {
  const auto log = Logger("main");
  absl::StatusOr<int> version = SchemaVersion(database_url);
  const int latest = AllMigrations().back().version;
  if (!version.ok()) {
    log->warn(
        "database not reachable at start-up ({}); serving anyway, calls that need it "
        "answer UNAVAILABLE until it is back",
        version.status().ToString());
    return true;
  }
  if (*version < latest) {
    log->critical(
        "database schema is at version {}, this binary needs {}: run "
        "`token-service migrate` first",
        *version, latest);
    return false;
  }
  return true;
}

}  // namespace

int RunServer(const ServiceConfig& config) {
  BlockStopSignals();
  if (!SchemaIsServeable(config.database_url)) return 1;
  Components c(config);
  TokenServiceImpl token_service(c.auth, c.tokens);
  UserServiceImpl user_service(c.auth, c.users);
  grpc::ServerBuilder builder;
  builder.RegisterService(&token_service);
  builder.RegisterService(&user_service);
  return ServeUntilStopped(builder, {config.listen, config.shutdown_timeout, nullptr, nullptr});
}

int RunMigrate(const ServiceConfig& config) {
  const auto log = Logger("main");
  absl::StatusOr<std::vector<int>> applied = Migrate(config.database_url);
  if (!applied.ok()) {
    log->error("migration failed: {}", applied.status().ToString());
    return 1;
  }
  log->info("schema is current (version {}); applied now: [{}]", AllMigrations().back().version,
            absl::StrJoin(*applied, ","));
  return 0;
}

int RunBootstrapAdmin(const ServiceConfig& config) {
  const auto log = Logger("main");
  if (absl::StatusOr<std::vector<int>> applied = Migrate(config.database_url); !applied.ok()) {
    log->error("cannot prepare the schema: {}", applied.status().ToString());
    return 1;
  }
  Components c(config);
  absl::StatusOr<User> admin = c.users.EnsureAdmin(config.bootstrap_user);
  if (!admin.ok()) {
    log->error("bootstrap-admin: {}", admin.status().ToString());
    return 1;
  }
  const absl::Time now = c.clock.Now();
  std::string expires_on = config.bootstrap_expires_on;
  if (expires_on.empty()) {
    expires_on = FormatIsoDate(UtcDay(now) + std::min(90, config.max_token_lifetime_days));
  }
  const std::string name =
      "bootstrap " + absl::FormatTime("%Y-%m-%d %H:%M:%E6S", now, absl::UTCTimeZone());
  Principal self{admin->user_id, admin->display_name, admin->email, admin->role, ""};
  absl::StatusOr<TokenManager::IssuedToken> issued =
      c.tokens.CreateToken(self, {name, expires_on, ""});
  if (!issued.ok()) {
    log->error("bootstrap-admin: {}", issued.status().ToString());
    return 1;
  }
  log->info("issued admin token {} ({}) for {}, expires on {}", issued->token.id,
            issued->token.hint, admin->user_id, expires_on);
  std::printf("%s\n", issued->secret.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace tokens::service
