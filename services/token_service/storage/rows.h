#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pqxx/pqxx"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/sync_store.h"

// Each row type's SELECT list next to the function that reads it. Columns
// are found by their alias, never by position, so a statement may add or
// reorder columns without breaking a reader. Table aliases: tokens t,
// users u, token_events e. Scopes travel as one space-separated text
// (array_to_string): a scope name holds no space (common/auth/scopes.h).
//
// A value the code cannot decode (a role or event kind it does not know, a
// date that does not parse, a hash of the wrong length) is INTERNAL with a
// log line naming the table and column, never a default: serving a guess
// would hide a broken row, or a newer schema, behind a plausible answer.
namespace tokens::service::pg {

// A User, from users u.
inline constexpr absl::string_view kUserColumns =
    "u.user_id AS user_id, u.display_name AS user_display_name, u.email AS user_email,"
    " u.role AS user_role, u.disabled AS user_disabled,"
    " (extract(epoch FROM u.created_at) * 1000000)::bigint AS user_created_us";
absl::StatusOr<User> ReadUser(const pqxx::row& row);

// A TokenRecord, from tokens t JOIN users u.
inline constexpr absl::string_view kTokenColumns =
    "t.id::text AS token_id, t.name AS token_name, t.hint AS token_hint,"
    " t.user_id AS token_user_id, u.display_name AS user_display_name,"
    " (extract(epoch FROM t.created_at) * 1000000)::bigint AS token_created_us,"
    " (extract(epoch FROM t.last_used_at) * 1000000)::bigint AS token_last_used_us,"
    " coalesce(t.last_used_from, '') AS token_last_used_from,"
    " to_char(t.expires_on, 'YYYY-MM-DD') AS token_expires_on,"
    " (extract(epoch FROM t.revoked_at) * 1000000)::bigint AS token_revoked_us,"
    " array_to_string(t.scopes, ' ') AS token_scopes";
absl::StatusOr<TokenRecord> ReadToken(const pqxx::row& row);

// A TokenAuthRecord, from tokens t JOIN users u: these columns and kUserColumns.
inline constexpr absl::string_view kTokenAuthColumns =
    "t.id::text AS token_id, to_char(t.expires_on, 'YYYY-MM-DD') AS token_expires_on,"
    " t.revoked_at IS NOT NULL AS token_revoked, array_to_string(t.scopes, ' ') AS token_scopes";
absl::StatusOr<TokenAuthRecord> ReadTokenAuth(const pqxx::row& row);

// A TokenEvent, from token_events e.
inline constexpr absl::string_view kEventColumns =
    "e.id AS event_id, e.kind AS event_kind,"
    " (extract(epoch FROM e.occurred_at) * 1000000)::bigint AS event_occurred_us,"
    " e.actor_user_id AS event_actor, e.subject_user_id AS event_subject,"
    " coalesce(e.token_id::text, '') AS event_token_id, e.token_name AS event_token_name,"
    " coalesce(e.previous_token_id::text, '') AS event_previous_token_id,"
    " e.detail AS event_detail";
absl::StatusOr<TokenEvent> ReadEvent(const pqxx::row& row);

// A SyncedToken, from tokens t.
inline constexpr absl::string_view kSyncTokenColumns =
    "encode(t.token_hash, 'hex') AS token_hash, t.id::text AS token_id,"
    " t.user_id AS token_user_id, to_char(t.expires_on, 'YYYY-MM-DD') AS token_expires_on,"
    " t.revoked_at IS NOT NULL AS token_revoked, t.version AS token_version,"
    " array_to_string(t.scopes, ' ') AS token_scopes";
absl::StatusOr<SyncedToken> ReadSyncToken(const pqxx::row& row);

// A SyncedUser, from users u.
inline constexpr absl::string_view kSyncUserColumns =
    "u.user_id AS user_id, u.role AS user_role, u.disabled AS user_disabled,"
    " u.version AS user_version";
absl::StatusOr<SyncedUser> ReadSyncUser(const pqxx::row& row);

// Reads every row of `rows` with `read`; the first failure is the result.
template <typename T>
absl::StatusOr<std::vector<T>> ReadAll(const pqxx::result& rows,
                                       absl::StatusOr<T> (*read)(const pqxx::row&)) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const pqxx::row& row : rows) {
    absl::StatusOr<T> value = read(row);
    if (!value.ok()) return value.status();
    out.push_back(*std::move(value));
  }
  return out;
}

}  // namespace tokens::service::pg
