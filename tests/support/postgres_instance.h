#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tokens::testing {

// A private PostgreSQL server for integration tests: initdb into a fresh
// temporary data directory, started with pg_ctl, listening only on a unix
// socket inside that directory (listen_addresses=''), trust authentication,
// superuser "postgres". Stopped (pg_ctl stop -m immediate) and its directory
// removed on destruction.
//
// When TEST_DATABASE_URL is set, no server is started and that URL's server is
// used instead (it must allow CREATE DATABASE).
//
// When the process runs as root (PostgreSQL refuses to), the server commands
// run as the unprivileged system user "postgres" (falling back to "nobody")
// via runuser, and the directory is chowned to that user.
//
// The PostgreSQL binaries are found via PG_BINDIR if set, else the newest
// /usr/lib/postgresql/<N>/bin, else PATH.
class PostgresInstance {
 public:
  // Starts the server; an error says what failed and includes the tail of the
  // server log.
  static absl::StatusOr<std::unique_ptr<PostgresInstance>> Start();
  ~PostgresInstance();

  PostgresInstance(const PostgresInstance&) = delete;
  PostgresInstance& operator=(const PostgresInstance&) = delete;

  // A libpq URI for `dbname` on this server, e.g.
  //   postgresql://postgres@/mydb?host=%2Ftmp%2Fpg-XXXX
  std::string UrlFor(const std::string& dbname) const;

  // Creates a new empty database with a unique name and returns its URL.
  absl::StatusOr<std::string> CreateDatabase();

  // Stops the server (fast shutdown) / starts it again on the same data
  // directory and socket; for outage tests.
  absl::Status Stop();
  absl::Status Restart();

 private:
  PostgresInstance() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One PostgresInstance shared by every test in a test binary, started on first
// use. Fails the calling test (GTEST_SKIP is never used) if it cannot start.
PostgresInstance& SharedPostgres();

// Runs `query` on `database_url` (autocommit) and returns the first column
// of each row as text, NULL as "NULL". For tests that look at or arrange
// rows directly.
std::vector<std::string> SqlColumn(const std::string& database_url, const std::string& query);

}  // namespace tokens::testing
