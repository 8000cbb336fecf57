#pragma once

#include "services/token_service/storage/pg_pool.h"
#include "services/token_service/domain/ports/sync_store.h"

namespace tokens::service {

// SyncStore over PostgreSQL (schema: migrations/), through a PgPool. Feed
// reads run in REPEATABLE READ READ ONLY transactions, so a version and the
// rows read with it come from one view of the database.
class PgSyncStore final : public SyncStore {
 public:
  explicit PgSyncStore(PgPool& pool) : pool_(pool) {}

  absl::StatusOr<int64_t> Snapshot(absl::CivilDay today, const ChunkSink& sink) override;
  absl::StatusOr<ChangeBatch> ChangesSince(int64_t after_version, size_t max_rows) override;
  absl::StatusOr<int64_t> CurrentVersion() override;
  absl::StatusOr<std::optional<SyncLookup>> LookupToken(const TokenHash& hash) override;
  absl::StatusOr<int> RecordUsage(const std::vector<TokenUsage>& usages) override;

 private:
  PgPool& pool_;
};

}  // namespace tokens::service
