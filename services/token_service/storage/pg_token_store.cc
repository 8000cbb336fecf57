#include "services/token_service/storage/pg_token_store.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/auth/scopes.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/validation.h"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"
#include "services/token_service/storage/rows.h"

namespace tokens::service {
namespace {

using pg::Exec;
using pg::HashHex;
using pg::Micros;
using pg::NonEmpty;
using pg::OrNull;

absl::Status NameTaken() { return FieldError("name", "you already have a token with this name"); }

absl::StatusOr<TokenRecord> SelectToken(pqxx::work& txn, const std::string& id) {
  pqxx::result r = Exec(txn, sql::kGetToken, id);
  if (r.empty()) return absl::NotFoundError("no such token");
  return pg::ReadToken(r[0]);
}

void InsertEvent(pqxx::work& txn, const TokenEvent& e) {
  Exec(txn, sql::kInsertEvent, std::string(EventKindName(e.kind)), Micros(e.occurred_at),
       e.actor_user_id, e.subject_user_id, OrNull(NonEmpty(e.token_id)), e.token_name,
       OrNull(NonEmpty(e.previous_token_id)), e.detail);
}

// Inserts the row unless the owner has a live token of that name (then
// FieldError "name"). The search form is derived here, next to the name it
// comes from, so that no writer can store one without the other.
absl::Status InsertTokenRow(pqxx::work& txn, const NewToken& t,
                            const std::optional<std::string>& rotated_from) {
  pqxx::result inserted;
  try {
    inserted = Exec(txn, sql::kInsertToken, t.id, t.user_id, t.name, HashHex(t.hash), t.hint,
                    Micros(t.created_at), FormatIsoDate(t.expires_on), OrNull(rotated_from),
                    FoldForSearch(t.name), JoinScopes(t.scopes));
  } catch (const pqxx::foreign_key_violation&) {
    // tokens.user_id references users: the owner does not exist.
    return absl::NotFoundError("no such user");
  } catch (const pqxx::unique_violation&) {
    // Not the live name (kInsertToken's arbiter): the id or the hash, which
    // the domain draws at random.
    return absl::InternalError("token id or hash collision");
  }
  if (inserted.empty()) return NameTaken();
  return absl::OkStatus();
}

// OK if `user_id` has fewer than `max_live` live tokens at `now`; waits for
// the other inserts for that user first (kLockTokenOwner).
absl::Status CheckLiveTokenCap(pqxx::work& txn, const std::string& user_id, int max_live,
                               absl::Time now) {
  if (Exec(txn, sql::kLockTokenOwner, user_id).empty()) {
    return absl::NotFoundError("no such user");
  }
  const int64_t live =
      Exec(txn, sql::kCountLiveTokens, user_id, FormatIsoDate(UtcDay(now)))[0][0].as<int64_t>();
  if (live < max_live) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("user ", user_id, " already has ", live,
                                                    " active tokens, the most allowed; revoke "
                                                    "one first"));
}

}  // namespace

absl::StatusOr<TokenAuthRecord> PgTokenStore::FindTokenForAuth(const TokenHash& hash) {
  return pool_.Run<TokenAuthRecord>(
      "find token", [&](pqxx::work& txn) -> absl::StatusOr<TokenAuthRecord> {
        pqxx::result r = Exec(txn, sql::kFindTokenForAuth, HashHex(hash));
        if (r.empty()) return absl::NotFoundError("no such token");
        return pg::ReadTokenAuth(r[0]);
      });
}

absl::StatusOr<User> PgTokenStore::GetUser(const std::string& user_id) {
  return pool_.Run<User>("get user", [&](pqxx::work& txn) -> absl::StatusOr<User> {
    pqxx::result r = Exec(txn, sql::kGetUser, user_id);
    if (r.empty()) return absl::NotFoundError("no such user");
    return pg::ReadUser(r[0]);
  });
}

absl::StatusOr<User> PgTokenStore::CreateUser(const User& in, const TokenEvent& event) {
  return pool_.Run<User>("create user", [&](pqxx::work& txn) -> absl::StatusOr<User> {
    pqxx::result r = Exec(txn, sql::kInsertUser, in.user_id, in.display_name, in.email,
                          std::string(RoleName(in.role)), Micros(in.created_at));
    if (r.empty()) {
      return FieldError("user_id", "a user with this id already exists",
                        absl::StatusCode::kAlreadyExists);
    }
    absl::StatusOr<User> user = pg::ReadUser(r[0]);
    if (user.ok()) InsertEvent(txn, event);
    return user;
  });
}

absl::StatusOr<User> PgTokenStore::UpdateUser(const UserUpdate& update, const TokenEvent& event) {
  std::optional<std::string> role;
  if (update.role.has_value()) role = std::string(RoleName(*update.role));
  std::optional<std::string> disabled;
  if (update.disabled.has_value()) disabled = *update.disabled ? "true" : "false";
  return pool_.Run<User>("update user", [&](pqxx::work& txn) -> absl::StatusOr<User> {
    pqxx::result r =
        Exec(txn, sql::kUpdateUser, update.user_id, OrNull(update.display_name),
             OrNull(update.email), OrNull(role), OrNull(disabled), Micros(event.occurred_at));
    if (r.empty()) return absl::NotFoundError("no such user");
    absl::StatusOr<User> user = pg::ReadUser(r[0]);
    if (user.ok()) InsertEvent(txn, event);
    return user;
  });
}

absl::StatusOr<std::vector<User>> PgTokenStore::ListUsers(const UserQuery& query) {
  return pool_.Run<std::vector<User>>(
      "list users", [&](pqxx::work& txn) -> absl::StatusOr<std::vector<User>> {
        return pg::ReadAll(Exec(txn, sql::kListUsers, OrNull(query.after_user_id), query.limit),
                           &pg::ReadUser);
      });
}

absl::StatusOr<TokenRecord> PgTokenStore::InsertToken(const NewToken& token,
                                                      const TokenEvent& event,
                                                      std::optional<int> max_live_tokens) {
  return pool_.Run<TokenRecord>(
      "insert token", [&](pqxx::work& txn) -> absl::StatusOr<TokenRecord> {
        if (max_live_tokens.has_value()) {
          absl::Status room =
              CheckLiveTokenCap(txn, token.user_id, *max_live_tokens, token.created_at);
          if (!room.ok()) return room;
        }
        if (absl::Status s = InsertTokenRow(txn, token, std::nullopt); !s.ok()) return s;
        InsertEvent(txn, event);
        return SelectToken(txn, token.id);
      });
}

absl::StatusOr<TokenRecord> PgTokenStore::GetToken(const std::string& id) {
  return pool_.Run<TokenRecord>("get token", [&](pqxx::work& txn) -> absl::StatusOr<TokenRecord> {
    return SelectToken(txn, id);
  });
}

absl::StatusOr<TokenRecord> PgTokenStore::RevokeToken(const std::string& id, absl::Time now,
                                                      const TokenEvent& event) {
  // Zero rows updated: already revoked by someone else, or gone. Either way
  // no event.
  return pool_.Run<TokenRecord>("revoke token",
                                [&](pqxx::work& txn) -> absl::StatusOr<TokenRecord> {
                                  pqxx::result r = Exec(txn, sql::kRevokeToken, id, Micros(now));
                                  if (r.affected_rows() == 1) InsertEvent(txn, event);
                                  return SelectToken(txn, id);
                                });
}

absl::StatusOr<TokenRecord> PgTokenStore::RotateToken(const std::string& old_id,
                                                      const NewToken& replacement, absl::Time now,
                                                      const TokenEvent& event) {
  return pool_.Run<TokenRecord>(
      "rotate token", [&](pqxx::work& txn) -> absl::StatusOr<TokenRecord> {
        pqxx::result lock = Exec(txn, sql::kLockToken, old_id);
        if (lock.empty()) return absl::NotFoundError("no such token");
        absl::StatusOr<TokenRecord> old = pg::ReadToken(lock[0]);
        if (!old.ok()) return old.status();
        // The domain's rule (StatusAt), applied to the row as it is under
        // the lock: a revoke or rotate that committed meanwhile is seen.
        if (StatusAt(*old, now) != TokenStatus::kActive) {
          return absl::FailedPreconditionError("only an ACTIVE token can be rotated");
        }
        Exec(txn, sql::kRevokeToken, old_id, Micros(now));
        if (absl::Status s = InsertTokenRow(txn, replacement, old_id); !s.ok()) return s;
        InsertEvent(txn, event);
        return SelectToken(txn, replacement.id);
      });
}

absl::StatusOr<std::vector<TokenRecord>> PgTokenStore::ListTokens(const TokenQuery& query) {
  std::optional<std::string> status_filter;
  if (query.status.has_value()) status_filter = std::string(TokenStatusName(*query.status));
  std::optional<std::string> before;
  if (query.expires_before.has_value()) before = FormatIsoDate(*query.expires_before);
  std::optional<std::string> cursor_micros, cursor_id;
  if (query.after.has_value()) {
    cursor_micros = Micros(query.after->created_at);
    cursor_id = query.after->id;
  }
  const std::string folded_filter = FoldForSearch(query.name_contains);
  return pool_.Run<std::vector<TokenRecord>>(
      "list tokens", [&](pqxx::work& txn) -> absl::StatusOr<std::vector<TokenRecord>> {
        return pg::ReadAll(
            Exec(txn, sql::kListTokens, OrNull(query.user_id), OrNull(status_filter),
                 FormatIsoDate(query.today), OrNull(NonEmpty(folded_filter)), OrNull(before),
                 OrNull(cursor_micros), OrNull(cursor_id), query.limit, query.name_contains),
            &pg::ReadToken);
      });
}

absl::StatusOr<std::vector<TokenEvent>> PgTokenStore::ListEvents(const EventQuery& query) {
  std::optional<std::string> before;
  if (query.before_id.has_value()) before = absl::StrCat(*query.before_id);
  return pool_.Run<std::vector<TokenEvent>>(
      "list events", [&](pqxx::work& txn) -> absl::StatusOr<std::vector<TokenEvent>> {
        return pg::ReadAll(Exec(txn, sql::kListEvents, OrNull(query.subject_user_id),
                                OrNull(query.token_id), OrNull(before), query.limit),
                           &pg::ReadEvent);
      });
}

}  // namespace tokens::service
