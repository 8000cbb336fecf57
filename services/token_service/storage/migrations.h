#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tokens::service {

// One versioned schema change, compiled in from migrations/NNNN_name.sql.
struct Migration {
  int version;
  absl::string_view name;
  absl::string_view sql;
};

// Every migration, in version order.
const std::vector<Migration>& AllMigrations();

// Applies the migrations not yet recorded in schema_migrations, each in its
// own transaction together with its record. Holds a session advisory lock
// throughout, so concurrent runs (several replicas starting at once)
// serialize and the later ones find nothing to do. Returns the versions it
// applied (empty when the schema was current).
absl::StatusOr<std::vector<int>> Migrate(const std::string& database_url);

// The highest applied version, 0 for an empty database; for start-up checks.
absl::StatusOr<int> SchemaVersion(const std::string& database_url);

}  // namespace tokens::service
