#include "services/token_service/storage/pg_sync_store.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"
#include "services/token_service/storage/rows.h"

namespace tokens::service {
namespace {

using pg::Exec;

// Starts a feed read: REPEATABLE READ READ ONLY (must precede any query of
// the transaction) and the version of the view it sees.
int64_t BeginFeedRead(pqxx::work& txn) {
  Exec(txn, sql::kBeginFeedRead);
  return Exec(txn, sql::kFeedVersion)[0][0].as<int64_t>();
}

}  // namespace

absl::StatusOr<int64_t> PgSyncStore::Snapshot(absl::CivilDay today, const ChunkSink& sink) {
  bool delivered = false;
  return pool_.Run<int64_t>("feed snapshot", [&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    // PgPool re-runs a transaction whose connection broke. Once chunks have
    // gone out, a second pass from a later view could not take back rows
    // that changed in between; the caller must start the snapshot over.
    if (delivered) return absl::UnavailableError("database connection lost during a snapshot");
    const int64_t version = BeginFeedRead(txn);
    Exec(txn, sql::kDeclareSnapshot, FormatIsoDate(today));
    absl::flat_hash_set<std::string> owners_sent;
    for (;;) {
      const pqxx::result rows = Exec(txn, sql::kFetchSnapshot);
      if (rows.empty()) break;
      SnapshotChunk chunk;
      chunk.tokens.reserve(rows.size());
      for (const pqxx::row& row : rows) {
        absl::StatusOr<SyncedToken> token = pg::ReadSyncToken(row);
        if (!token.ok()) return token.status();
        if (owners_sent.insert(token->user_id).second) {
          absl::StatusOr<SyncedUser> user = pg::ReadSyncUser(row);
          if (!user.ok()) return user.status();
          chunk.users.push_back(*std::move(user));
        }
        chunk.tokens.push_back(*std::move(token));
      }
      delivered = true;
      if (absl::Status s = sink(std::move(chunk)); !s.ok()) return s;
      if (rows.size() < static_cast<size_t>(sql::kSnapshotFetchRows)) break;
    }
    return version;
  });
}

absl::StatusOr<ChangeBatch> PgSyncStore::ChangesSince(int64_t after_version, size_t max_rows) {
  // One row over the limit tells that the limit was exceeded.
  const std::optional<std::string> limit =
      max_rows > 0 ? std::optional<std::string>(absl::StrCat(max_rows + 1)) : std::nullopt;
  return pool_.Run<ChangeBatch>(
      "feed changes", [&](pqxx::work& txn) -> absl::StatusOr<ChangeBatch> {
        ChangeBatch batch{after_version, BeginFeedRead(txn), {}, {}};
        const pqxx::result tokens =
            Exec(txn, sql::kChangedTokens, after_version, pg::OrNull(limit));
        if (max_rows > 0 && tokens.size() > max_rows) {
          return absl::OutOfRangeError("too many changes since that version");
        }
        const pqxx::result users = Exec(txn, sql::kChangedUsers, after_version, pg::OrNull(limit));
        if (max_rows > 0 && tokens.size() + users.size() > max_rows) {
          return absl::OutOfRangeError("too many changes since that version");
        }
        absl::StatusOr<std::vector<SyncedToken>> token_rows =
            pg::ReadAll(tokens, &pg::ReadSyncToken);
        if (!token_rows.ok()) return token_rows.status();
        absl::StatusOr<std::vector<SyncedUser>> user_rows = pg::ReadAll(users, &pg::ReadSyncUser);
        if (!user_rows.ok()) return user_rows.status();
        batch.tokens = *std::move(token_rows);
        batch.users = *std::move(user_rows);
        return batch;
      });
}

absl::StatusOr<int64_t> PgSyncStore::CurrentVersion() {
  return pool_.Run<int64_t>("feed version", [&](pqxx::work& txn) -> absl::StatusOr<int64_t> {
    return Exec(txn, sql::kFeedVersion)[0][0].as<int64_t>();
  });
}

absl::StatusOr<std::optional<SyncLookup>> PgSyncStore::LookupToken(const TokenHash& hash) {
  return pool_.Run<std::optional<SyncLookup>>(
      "feed lookup", [&](pqxx::work& txn) -> absl::StatusOr<std::optional<SyncLookup>> {
        const pqxx::result r = Exec(txn, sql::kLookupSyncToken, pg::HashHex(hash));
        if (r.empty()) return std::optional<SyncLookup>();
        absl::StatusOr<SyncedToken> token = pg::ReadSyncToken(r[0]);
        if (!token.ok()) return token.status();
        absl::StatusOr<SyncedUser> user = pg::ReadSyncUser(r[0]);
        if (!user.ok()) return user.status();
        return std::optional<SyncLookup>(SyncLookup{*std::move(token), *std::move(user)});
      });
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
  return pool_.Run<int>("record usage", [&](pqxx::work& txn) -> absl::StatusOr<int> {
    return static_cast<int>(Exec(txn, sql::kRecordUsage, batch).affected_rows());
  });
}

}  // namespace tokens::service
