#include "services/token_service/storage/migrations.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "pqxx/pqxx"
#include "services/token_service/storage/pg_pool.h"

namespace tokens::service {
namespace {

// Any constant works as long as nothing else in the database uses it.
constexpr int64_t kMigrationLockKey = 0x746f6b656e73;  // "tokens"

constexpr absl::string_view kCreateMigrationsTable = R"sql(
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
  ))sql";

}  // namespace

const std::vector<Migration>& AllMigrations() {
  static const auto* migrations = new std::vector<Migration>{
#include "embedded_migrations.inc"
  };
  return *migrations;
}

absl::StatusOr<std::vector<int>> Migrate(const std::string& database_url) {
  static const auto log = Logger("migrate");
  std::vector<int> applied;
  try {
    pqxx::connection conn(database_url);
    pqxx::nontransaction session(conn);
    session.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    // CREATE TABLE IF NOT EXISTS is not race-free on its own; the lock makes it so.
    session.exec0(std::string(kCreateMigrationsTable));
    session.commit();
    for (const Migration& m : AllMigrations()) {
      pqxx::work txn(conn, "migrate");
      if (!txn.exec_params("SELECT 1 FROM schema_migrations WHERE version = $1", m.version)
               .empty()) {
        continue;
      }
      txn.exec0(std::string(m.sql));
      txn.exec_params0("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version,
                       std::string(m.name));
      txn.commit();
      log->info("applied migration {:04d}_{}", m.version, m.name);
      applied.push_back(m.version);
    }
    pqxx::nontransaction unlock(conn);
    unlock.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
  } catch (...) {
    return StatusFromCurrentException("migrate");
  }
  return applied;
}

absl::StatusOr<int> SchemaVersion(const std::string& database_url) {
  try {
    pqxx::connection conn(database_url);
    pqxx::read_transaction txn(conn);
    if (txn.exec1("SELECT to_regclass('schema_migrations') IS NULL")[0].as<bool>()) return 0;
    return txn.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
  } catch (...) {
    return StatusFromCurrentException("schema version");
  }
}

}  // namespace tokens::service
