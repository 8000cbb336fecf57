#include "services/token_service/config.h"

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "common/token/token_codec.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "gRPC listen address (host:port; port 0 picks a free one)");
ABSL_FLAG(std::string, database_url, "", "PostgreSQL connection URI (libpq); required");
ABSL_FLAG(int, max_token_lifetime_days, 365, "How many days ahead a token's expiry date may be");
ABSL_FLAG(std::string, token_prefix, "utk", "Prefix of newly issued tokens ([a-z][a-z0-9]{0,15})");
ABSL_FLAG(int, db_pool_size, 8, "PostgreSQL connections kept by the server");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error, critical or off");
ABSL_FLAG(absl::Duration, shutdown_timeout, absl::Seconds(10),
          "On SIGTERM, how long in-flight calls may take to finish");
ABSL_FLAG(std::string, user, "", "bootstrap-admin: the admin's user id");
ABSL_FLAG(std::string, expires_on, "",
          "bootstrap-admin: expiry date of the printed token (default: 90 days ahead)");

namespace tokens::service {
namespace {

struct EnvBinding {
  const char* flag;
  const char* env;
};
constexpr EnvBinding kEnv[] = {
    {"listen", "TOKEN_SERVICE_LISTEN"},
    {"database_url", "DATABASE_URL"},
    {"max_token_lifetime_days", "TOKEN_SERVICE_MAX_TOKEN_LIFETIME_DAYS"},
    {"token_prefix", "TOKEN_SERVICE_TOKEN_PREFIX"},
    {"db_pool_size", "TOKEN_SERVICE_DB_POOL_SIZE"},
    {"log_level", "TOKEN_SERVICE_LOG_LEVEL"},
    {"shutdown_timeout", "TOKEN_SERVICE_SHUTDOWN_TIMEOUT"},
};

constexpr char kUsage[] =
    "token-service: user API tokens over gRPC and PostgreSQL.\n"
    "\n"
    "  token-service [flags]                    serve the gRPC API\n"
    "  token-service migrate [flags]            apply the database schema (idempotent)\n"
    "  token-service bootstrap-admin --user ID  create admin ID if missing and print\n"
    "                                           one new admin token on stdout\n"
    "\n"
    "Every flag also reads an environment variable (the command line wins);\n"
    "see docs or --helpfull.";

// Environment values go in as if they were defaults, so the command line
// still overrides them.
absl::Status ApplyEnvironment() {
  for (const EnvBinding& b : kEnv) {
    const char* value = std::getenv(b.env);
    if (value == nullptr || *value == '\0') continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(b.flag);
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(std::string(b.env) + ": " + error);
    }
  }
  return absl::OkStatus();
}

absl::Status Invalid(const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError("--" + flag + ": " + why);
}

}  // namespace

std::vector<FlagDoc> DescribeFlags() {
  std::vector<FlagDoc> docs;
  for (const EnvBinding& b : kEnv) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(b.flag);
    docs.push_back({b.flag, b.env, flag->DefaultValue(), flag->Help()});
  }
  for (const char* name : {"user", "expires_on"}) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    docs.push_back({name, "", flag->DefaultValue(), flag->Help()});
  }
  return docs;
}

absl::StatusOr<ServiceConfig> LoadConfig(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
  if (absl::Status s = ApplyEnvironment(); !s.ok()) return s;
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);

  ServiceConfig config;
  if (positional.size() > 2) {
    return absl::InvalidArgumentError("expected at most one command (migrate, bootstrap-admin)");
  }
  if (positional.size() == 2) {
    const std::string command = positional[1];
    if (command == "migrate") {
      config.command = Command::kMigrate;
    } else if (command == "bootstrap-admin") {
      config.command = Command::kBootstrapAdmin;
    } else if (command != "serve") {
      return absl::InvalidArgumentError("unknown command \"" + command +
                                        "\" (expected migrate or bootstrap-admin)");
    }
  }
  config.listen = absl::GetFlag(FLAGS_listen);
  config.database_url = absl::GetFlag(FLAGS_database_url);
  config.max_token_lifetime_days = absl::GetFlag(FLAGS_max_token_lifetime_days);
  config.token_prefix = absl::GetFlag(FLAGS_token_prefix);
  config.db_pool_size = absl::GetFlag(FLAGS_db_pool_size);
  config.log_level = absl::GetFlag(FLAGS_log_level);
  config.shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  config.bootstrap_user = absl::GetFlag(FLAGS_user);
  config.bootstrap_expires_on = absl::GetFlag(FLAGS_expires_on);

  if (config.database_url.empty()) {
    return Invalid("database_url",
                   "is required (or set DATABASE_URL), e.g. postgresql://user@host/db");
  }
  if (config.listen.empty() || config.listen.find(':') == std::string::npos) {
    return Invalid("listen", "must be host:port");
  }
  if (config.max_token_lifetime_days < 1 || config.max_token_lifetime_days > 3650) {
    return Invalid("max_token_lifetime_days", "must be between 1 and 3650");
  }
  if (!TokenCodec::IsValidPrefix(config.token_prefix)) {
    return Invalid("token_prefix", "must match [a-z][a-z0-9]{0,15}");
  }
  if (config.db_pool_size < 1 || config.db_pool_size > 256) {
    return Invalid("db_pool_size", "must be between 1 and 256");
  }
  if (config.shutdown_timeout < absl::ZeroDuration()) {
    return Invalid("shutdown_timeout", "must not be negative");
  }
  if (config.command == Command::kBootstrapAdmin && config.bootstrap_user.empty()) {
    return Invalid("user", "is required for bootstrap-admin");
  }
  return config;
}

}  // namespace tokens::service
