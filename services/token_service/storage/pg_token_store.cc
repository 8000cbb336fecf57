#include "services/token_service/storage/pg_token_store.h"

#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/validation.h"
#include "services/token_service/storage/pg_values.h"
#include "services/token_service/storage/queries.h"

namespace tokens::service {
namespace {

using pg::DateOf;
using pg::HashHex;
using pg::Micros;
using pg::NonEmpty;
using pg::OrNull;
using pg::TimeOrNull;

User ReadUser(const pqxx::row& row, int first) {
  User user;
  user.user_id = row[first].as<std::string>();
  user.display_name = row[first + 1].as<std::string>();
  user.email = row[first + 2].as<std::string>();
  user.role = RoleFromName(row[first + 3].as<std::string>()).value_or(Role::kUser);
  user.disabled = row[first + 4].as<bool>();
  user.created_at = absl::FromUnixMicros(row[first + 5].as<int64_t>());
  return user;
}

TokenRecord ReadToken(const pqxx::row& row) {
  TokenRecord t;
  t.id = row[0].as<std::string>();
  t.name = row[1].as<std::string>();
  t.hint = row[2].as<std::string>();
  t.user_id = row[3].as<std::string>();
  t.user_display_name = row[4].as<std::string>();
  t.created_at = absl::FromUnixMicros(row[5].as<int64_t>());
  t.last_used_at = TimeOrNull(row[6]);
  t.expires_on = DateOf(row[7]);
  t.revoked_at = TimeOrNull(row[8]);
  return t;
}

absl::StatusOr<TokenRecord> SelectToken(pqxx::work& txn, const std::string& id) {
  pqxx::result r = txn.exec_params(std::string(sql::kGetToken), id);
  if (r.empty()) return absl::NotFoundError("no such token");
  return ReadToken(r[0]);
}

void InsertEvent(pqxx::work& txn, const TokenEvent& e) {
  txn.exec_params0(std::string(sql::kInsertEvent), std::string(EventKindName(e.kind)),
                   Micros(e.occurred_at), e.actor_user_id, e.subject_user_id,
                   OrNull(NonEmpty(e.token_id)), e.token_name,
                   OrNull(NonEmpty(e.previous_token_id)), e.detail);
}

// The search form is derived here, next to the name it comes from, so that
// no writer can store one without the other.
void InsertTokenRow(pqxx::work& txn, const NewToken& t, const std::optional<std::string>& from) {
  txn.exec_params0(std::string(sql::kInsertToken), t.id, t.user_id, t.name, HashHex(t.hash), t.hint,
                   Micros(t.created_at), FormatIsoDate(t.expires_on), OrNull(from),
                   FoldForSearch(t.name));
}

// OK if `user_id` has fewer than `max_live` live tokens at `now`; waits for
// the other inserts for that user first (kLockTokenOwner).
absl::Status CheckLiveTokenCap(pqxx::work& txn, const std::string& user_id, int max_live,
                               absl::Time now) {
  if (txn.exec_params(std::string(sql::kLockTokenOwner), user_id).empty()) {
    return absl::NotFoundError("no such user");
  }
  const int64_t live =
      txn.exec_params(std::string(sql::kCountLiveTokens), user_id, FormatIsoDate(UtcDay(now)))[0][0]
          .as<int64_t>();
  if (live < max_live) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("user ", user_id, " already has ", live,
                                                    " active tokens, the most allowed; revoke "
                                                    "one first"));
}

// The live-name unique index is the arbiter when two creates race.
absl::Status NameTakenOr(absl::Status status) {
  if (absl::IsAlreadyExists(status) &&
      absl::StrContains(status.message(), "tokens_live_name_key")) {
    return FieldError("name", "you already have a token with this name");
  }
  if (absl::IsAlreadyExists(status)) return absl::InternalError("token id collision");
  return status;
}

}  // namespace

absl::StatusOr<TokenAuthRecord> PgTokenStore::FindTokenForAuth(const TokenHash& hash) {
  TokenAuthRecord record;
  absl::Status status = pool_.Transact("find token", [&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(std::string(sql::kFindTokenForAuth), HashHex(hash));
    if (r.empty()) return absl::NotFoundError("no such token");
    record.token_id = r[0][0].as<std::string>();
    record.expires_on = DateOf(r[0][1]);
    record.revoked = r[0][2].as<bool>();
    record.user = ReadUser(r[0], 3);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return record;
}

absl::StatusOr<User> PgTokenStore::GetUser(const std::string& user_id) {
  User user;
  absl::Status status = pool_.Transact("get user", [&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(std::string(sql::kGetUser), user_id);
    if (r.empty()) return absl::NotFoundError("no such user");
    user = ReadUser(r[0], 0);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return user;
}

absl::StatusOr<User> PgTokenStore::CreateUser(const User& in, const TokenEvent& event) {
  User user;
  absl::Status status = pool_.Transact("create user", [&](pqxx::work& txn) {
    pqxx::result r =
        txn.exec_params(std::string(sql::kInsertUser), in.user_id, in.display_name, in.email,
                        std::string(RoleName(in.role)), Micros(in.created_at));
    user = ReadUser(r[0], 0);
    InsertEvent(txn, event);
    return absl::OkStatus();
  });
  if (absl::IsAlreadyExists(status)) {
    return FieldError("user_id", "a user with this id already exists",
                      absl::StatusCode::kAlreadyExists);
  }
  if (!status.ok()) return status;
  return user;
}

absl::StatusOr<User> PgTokenStore::UpdateUser(const UserUpdate& update, const TokenEvent& event) {
  User user;
  std::optional<std::string> role;
  if (update.role.has_value()) role = std::string(RoleName(*update.role));
  std::optional<std::string> disabled;
  if (update.disabled.has_value()) disabled = *update.disabled ? "true" : "false";
  absl::Status status = pool_.Transact("update user", [&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(std::string(sql::kUpdateUser), update.user_id,
                                     OrNull(update.display_name), OrNull(update.email),
                                     OrNull(role), OrNull(disabled), Micros(event.occurred_at));
    if (r.empty()) return absl::NotFoundError("no such user");
    user = ReadUser(r[0], 0);
    InsertEvent(txn, event);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return user;
}

absl::StatusOr<std::vector<User>> PgTokenStore::ListUsers(const UserQuery& query) {
  std::vector<User> users;
  absl::Status status = pool_.Transact("list users", [&](pqxx::work& txn) {
    pqxx::result r =
        txn.exec_params(std::string(sql::kListUsers), OrNull(query.after_user_id), query.limit);
    for (const pqxx::row& row : r) users.push_back(ReadUser(row, 0));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return users;
}

absl::StatusOr<TokenRecord> PgTokenStore::InsertToken(const NewToken& token,
                                                      const TokenEvent& event,
                                                      std::optional<int> max_live_tokens) {
  absl::StatusOr<TokenRecord> result;
  absl::Status status = pool_.Transact("insert token", [&](pqxx::work& txn) {
    if (max_live_tokens.has_value()) {
      absl::Status room = CheckLiveTokenCap(txn, token.user_id, *max_live_tokens, token.created_at);
      if (!room.ok()) return room;
    }
    try {
      InsertTokenRow(txn, token, std::nullopt);
    } catch (const pqxx::foreign_key_violation&) {
      // tokens.user_id references users: the owner does not exist.
      return absl::NotFoundError("no such user");
    }
    InsertEvent(txn, event);
    result = SelectToken(txn, token.id);
    return result.status();
  });
  if (!status.ok()) return NameTakenOr(status);
  return result;
}

absl::StatusOr<TokenRecord> PgTokenStore::GetToken(const std::string& id) {
  absl::StatusOr<TokenRecord> result;
  absl::Status status = pool_.Transact("get token", [&](pqxx::work& txn) {
    result = SelectToken(txn, id);
    return result.status();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<TokenRecord> PgTokenStore::RevokeToken(const std::string& id, absl::Time now,
                                                      const TokenEvent& event) {
  absl::StatusOr<TokenRecord> result;
  absl::Status status = pool_.Transact("revoke token", [&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(std::string(sql::kRevokeToken), id, Micros(now));
    // Zero rows: already revoked by someone else, or gone. Either way no event.
    if (r.affected_rows() == 1) InsertEvent(txn, event);
    result = SelectToken(txn, id);
    return result.status();
  });
  if (!status.ok()) return status;
  return result;
}

absl::StatusOr<TokenRecord> PgTokenStore::RotateToken(const std::string& old_id,
                                                      const NewToken& replacement, absl::Time now,
                                                      const TokenEvent& event) {
  absl::StatusOr<TokenRecord> result;
  absl::Status status = pool_.Transact("rotate token", [&](pqxx::work& txn) {
    pqxx::result lock = txn.exec_params(std::string(sql::kLockToken), old_id);
    if (lock.empty()) return absl::NotFoundError("no such token");
    const bool revoked = lock[0][0].as<bool>();
    if (revoked || now >= StartOfUtcDay(DateOf(lock[0][1]))) {
      return absl::FailedPreconditionError("only an ACTIVE token can be rotated");
    }
    txn.exec_params0(std::string(sql::kRevokeToken), old_id, Micros(now));
    InsertTokenRow(txn, replacement, old_id);
    InsertEvent(txn, event);
    result = SelectToken(txn, replacement.id);
    return result.status();
  });
  if (!status.ok()) return NameTakenOr(status);
  return result;
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
  std::vector<TokenRecord> tokens;
  absl::Status status = pool_.Transact("list tokens", [&](pqxx::work& txn) {
    pqxx::result r =
        txn.exec_params(std::string(sql::kListTokens), OrNull(query.user_id), OrNull(status_filter),
                        FormatIsoDate(query.today), OrNull(NonEmpty(folded_filter)), OrNull(before),
                        OrNull(cursor_micros), OrNull(cursor_id), query.limit, query.name_contains);
    tokens.reserve(r.size());
    for (const pqxx::row& row : r) tokens.push_back(ReadToken(row));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return tokens;
}

absl::StatusOr<std::vector<TokenEvent>> PgTokenStore::ListEvents(const EventQuery& query) {
  std::optional<std::string> before;
  if (query.before_id.has_value()) before = absl::StrCat(*query.before_id);
  std::vector<TokenEvent> events;
  absl::Status status = pool_.Transact("list events", [&](pqxx::work& txn) {
    pqxx::result r = txn.exec_params(std::string(sql::kListEvents), OrNull(query.subject_user_id),
                                     OrNull(query.token_id), OrNull(before), query.limit);
    for (const pqxx::row& row : r) {
      TokenEvent e;
      e.id = row[0].as<int64_t>();
      e.kind = EventKindFromName(row[1].as<std::string>()).value_or(EventKind::kTokenCreated);
      e.occurred_at = absl::FromUnixMicros(row[2].as<int64_t>());
      e.actor_user_id = row[3].as<std::string>();
      e.subject_user_id = row[4].as<std::string>();
      e.token_id = row[5].as<std::string>();
      e.token_name = row[6].as<std::string>();
      e.previous_token_id = row[7].as<std::string>();
      e.detail = row[8].as<std::string>();
      events.push_back(std::move(e));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return events;
}

}  // namespace tokens::service
