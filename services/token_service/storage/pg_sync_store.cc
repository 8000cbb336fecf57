#include "services/token_service/storage/pg_sync_store.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"

namespace tokens::service {
namespace {

// Column offsets of the TOKENS_SYNC_* column lists in queries.h.
constexpr int kTokenColumns = 7;

SyncedToken ReadSyncToken(const pqxx::row& row) {
  SyncedToken t;
  t.hash = pg::HashOf(row[0]);
  t.token_id = row[1].as<std::string>();
  t.user_id = row[2].as<std::string>();
  t.expires_on = pg::DateOf(row[3]);
  t.revoked = row[4].as<bool>();
  t.version = row[5].as<int64_t>();
  t.rotated_from = row[6].as<std::string>();
  return t;
}

SyncedUser ReadSyncUser(const pqxx::row& row, int first) {
  SyncedUser u;
  u.user_id = row[first].as<std::string>();
  u.role = RoleFromName(row[first + 1].as<std::string>()).value_or(Role::kUser);
  u.disabled = row[first + 2].as<bool>();
  u.version = row[first + 3].as<int64_t>();
  return u;
}

// Starts a feed read: REPEATABLE READ READ ONLY (must precede any query of
// the transaction) and the version of the view it sees.
int64_t BeginFeedRead(pqxx::work& txn) {
  txn.exec0(std::string(sql::kBeginFeedRead));
  return txn.exec1(std::string(sql::kFeedVersion))[0].as<int64_t>();
}

}  // namespace

absl::StatusOr<int64_t> PgSyncStore::Snapshot(absl::CivilDay today, const ChunkSink& sink) {
  int64_t version = 0;
  bool delivered = false;
  absl::Status status = pool_.Transact("feed snapshot", [&](pqxx::work& txn) -> absl::Status {
    // PgPool re-runs a transaction whose connection broke. Once chunks have
    // gone out, a second pass from a later view could not take back rows
    // that changed in between; the caller must start the snapshot over.
    if (delivered) return absl::UnavailableError("database connection lost during a snapshot");
    version = BeginFeedRead(txn);
    txn.exec_params0(std::string(sql::kDeclareSnapshot), FormatIsoDate(today));
    absl::flat_hash_set<std::string> owners_sent;
    const std::string fetch(sql::kFetchSnapshot);
    for (;;) {
      const pqxx::result rows = txn.exec(fetch);
      if (rows.empty()) break;
      SnapshotChunk chunk;
      chunk.tokens.reserve(rows.size());
      for (const pqxx::row& row : rows) {
        chunk.tokens.push_back(ReadSyncToken(row));
        if (owners_sent.insert(chunk.tokens.back().user_id).second) {
          chunk.users.push_back(ReadSyncUser(row, kTokenColumns));
        }
      }
      delivered = true;
      if (absl::Status s = sink(std::move(chunk)); !s.ok()) return s;
      if (rows.size() < static_cast<size_t>(sql::kSnapshotFetchRows)) break;
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return version;
}

absl::StatusOr<ChangeBatch> PgSyncStore::ChangesSince(int64_t after_version, size_t max_rows) {
  ChangeBatch batch;
  // One row over the limit tells that the limit was exceeded.
  const std::optional<std::string> limit =
      max_rows > 0 ? std::optional<std::string>(absl::StrCat(max_rows + 1)) : std::nullopt;
  absl::Status status = pool_.Transact("feed changes", [&](pqxx::work& txn) -> absl::Status {
    batch = ChangeBatch{after_version, BeginFeedRead(txn), {}, {}};
    const pqxx::result tokens =
        txn.exec_params(std::string(sql::kChangedTokens), after_version, pg::OrNull(limit));
    if (max_rows > 0 && tokens.size() > max_rows) {
      return absl::OutOfRangeError("too many changes since that version");
    }
    const pqxx::result users =
        txn.exec_params(std::string(sql::kChangedUsers), after_version, pg::OrNull(limit));
    if (max_rows > 0 && tokens.size() + users.size() > max_rows) {
      return absl::OutOfRangeError("too many changes since that version");
    }
    batch.tokens.reserve(tokens.size());
    for (const pqxx::row& row : tokens) batch.tokens.push_back(ReadSyncToken(row));
    batch.users.reserve(users.size());
    for (const pqxx::row& row : users) batch.users.push_back(ReadSyncUser(row, 0));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return batch;
}

absl::StatusOr<int64_t> PgSyncStore::CurrentVersion() {
  int64_t version = 0;
  absl::Status status = pool_.Transact("feed version", [&](pqxx::work& txn) {
    version = txn.exec1(std::string(sql::kFeedVersion))[0].as<int64_t>();
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return version;
}

absl::StatusOr<std::optional<SyncLookup>> PgSyncStore::LookupToken(const TokenHash& hash) {
  std::optional<SyncLookup> found;
  absl::Status status = pool_.Transact("feed lookup", [&](pqxx::work& txn) {
    const pqxx::result r = txn.exec_params(std::string(sql::kLookupSyncToken), pg::HashHex(hash));
    if (!r.empty()) found = SyncLookup{ReadSyncToken(r[0]), ReadSyncUser(r[0], kTokenColumns)};
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return found;
}

absl::StatusOr<int> PgSyncStore::RecordUsage(const std::vector<TokenUsage>& usages) {
  if (usages.empty()) return 0;
  // The whole batch is one parameter; JSON keeps every value out of the SQL
  // text, whatever it contains.
  std::string batch = "[";
  for (size_t i = 0; i < usages.size(); ++i) {
    const TokenUsage& u = usages[i];
    absl::StrAppend(&batch, i == 0 ? "" : ",", R"({"id":")", JsonEscape(u.token_id), R"(","us":)",
                    absl::ToUnixMicros(u.last_used_at), R"(,"from":")",
                    JsonEscape(u.client_address), "\"}");
  }
  batch += "]";
  int updated = 0;
  absl::Status status = pool_.Transact("record usage", [&](pqxx::work& txn) {
    updated =
        static_cast<int>(txn.exec_params(std::string(sql::kRecordUsage), batch).affected_rows());
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return updated;
}

}  // namespace tokens::service
