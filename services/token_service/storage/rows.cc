#include "services/token_service/storage/rows.h"

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scopes.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "services/token_service/storage/pg_values.h"

namespace tokens::service::pg {
namespace {

// `what` names the table and column; `value` is quoted only where it cannot
// be secret (a role or event kind, never a hash).
absl::Status Undecodable(absl::string_view what, absl::string_view value) {
  static const auto log = Logger("db");
  log->error("cannot decode {} '{}'; the row is refused", what, value);
  return absl::InternalError(absl::StrCat("cannot decode ", what));
}

absl::StatusOr<Role> RoleOf(const pqxx::field& f) {
  const std::string name = f.as<std::string>();
  std::optional<Role> role = RoleFromName(name);
  if (!role.has_value()) return Undecodable("users.role", name);
  return *role;
}

absl::StatusOr<absl::CivilDay> DayOf(const pqxx::field& f, absl::string_view what) {
  const std::string text = f.as<std::string>();
  absl::StatusOr<absl::CivilDay> day = ParseIsoDate(text);
  if (!day.ok()) return Undecodable(what, text);
  return *day;
}

absl::Time MicrosOf(const pqxx::field& f) { return absl::FromUnixMicros(f.as<int64_t>()); }

std::vector<std::string> ScopesOf(const pqxx::field& f) { return SplitScopes(f.as<std::string>()); }

}  // namespace

absl::StatusOr<User> ReadUser(const pqxx::row& row) {
  absl::StatusOr<Role> role = RoleOf(row["user_role"]);
  if (!role.ok()) return role.status();
  User user;
  user.user_id = row["user_id"].as<std::string>();
  user.display_name = row["user_display_name"].as<std::string>();
  user.email = row["user_email"].as<std::string>();
  user.role = *role;
  user.disabled = row["user_disabled"].as<bool>();
  user.created_at = MicrosOf(row["user_created_us"]);
  return user;
}

absl::StatusOr<TokenRecord> ReadToken(const pqxx::row& row) {
  absl::StatusOr<absl::CivilDay> expires_on = DayOf(row["token_expires_on"], "tokens.expires_on");
  if (!expires_on.ok()) return expires_on.status();
  TokenRecord t;
  t.id = row["token_id"].as<std::string>();
  t.name = row["token_name"].as<std::string>();
  t.hint = row["token_hint"].as<std::string>();
  t.user_id = row["token_user_id"].as<std::string>();
  t.user_display_name = row["user_display_name"].as<std::string>();
  t.created_at = MicrosOf(row["token_created_us"]);
  t.last_used_at = TimeOrNull(row["token_last_used_us"]);
  t.last_used_from = row["token_last_used_from"].as<std::string>();
  t.expires_on = *expires_on;
  t.revoked_at = TimeOrNull(row["token_revoked_us"]);
  t.scopes = ScopesOf(row["token_scopes"]);
  return t;
}

absl::StatusOr<TokenAuthRecord> ReadTokenAuth(const pqxx::row& row) {
  absl::StatusOr<absl::CivilDay> expires_on = DayOf(row["token_expires_on"], "tokens.expires_on");
  if (!expires_on.ok()) return expires_on.status();
  absl::StatusOr<User> user = ReadUser(row);
  if (!user.ok()) return user.status();
  return TokenAuthRecord{row["token_id"].as<std::string>(), *expires_on,
                         row["token_revoked"].as<bool>(), *std::move(user),
                         ScopesOf(row["token_scopes"])};
}

absl::StatusOr<TokenEvent> ReadEvent(const pqxx::row& row) {
  const std::string kind_name = row["event_kind"].as<std::string>();
  std::optional<EventKind> kind = EventKindFromName(kind_name);
  if (!kind.has_value()) return Undecodable("token_events.kind", kind_name);
  TokenEvent e;
  e.id = row["event_id"].as<int64_t>();
  e.kind = *kind;
  e.occurred_at = MicrosOf(row["event_occurred_us"]);
  e.actor_user_id = row["event_actor"].as<std::string>();
  e.subject_user_id = row["event_subject"].as<std::string>();
  e.token_id = row["event_token_id"].as<std::string>();
  e.token_name = row["event_token_name"].as<std::string>();
  e.previous_token_id = row["event_previous_token_id"].as<std::string>();
  e.detail = row["event_detail"].as<std::string>();
  return e;
}

absl::StatusOr<SyncedToken> ReadSyncToken(const pqxx::row& row) {
  std::optional<TokenHash> hash = HashOf(row["token_hash"]);
  // The hash is never quoted: it is what a sidecar matches secrets against.
  if (!hash.has_value()) return Undecodable("tokens.token_hash", "(not shown)");
  absl::StatusOr<absl::CivilDay> expires_on = DayOf(row["token_expires_on"], "tokens.expires_on");
  if (!expires_on.ok()) return expires_on.status();
  SyncedToken t;
  t.hash = *hash;
  t.token_id = row["token_id"].as<std::string>();
  t.user_id = row["token_user_id"].as<std::string>();
  t.expires_on = *expires_on;
  t.revoked = row["token_revoked"].as<bool>();
  t.version = row["token_version"].as<int64_t>();
  t.scopes = ScopesOf(row["token_scopes"]);
  return t;
}

absl::StatusOr<SyncedUser> ReadSyncUser(const pqxx::row& row) {
  absl::StatusOr<Role> role = RoleOf(row["user_role"]);
  if (!role.ok()) return role.status();
  SyncedUser u;
  u.user_id = row["user_id"].as<std::string>();
  u.role = *role;
  u.disabled = row["user_disabled"].as<bool>();
  u.version = row["user_version"].as<int64_t>();
  return u;
}

}  // namespace tokens::service::pg
