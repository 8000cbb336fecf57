#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/token/token_codec.h"
#include "services/token_service/domain/model.h"

// A port of the domain: the token-service's persistence boundary. The domain
// talks only to this interface; storage's PgTokenStore implements it over
// PostgreSQL and unit tests use fakes. Every change and its audit event commit in one transaction.
// Errors: NOT_FOUND, UNAVAILABLE (database unreachable), INTERNAL, and the
// FieldErrors named per method.
namespace tokens::service {

// A token to insert. The secret itself never reaches the store.
struct NewToken {
  std::string id;  // UUID chosen by the domain
  std::string user_id;
  std::string name;
  TokenHash hash;
  std::string hint;
  absl::Time created_at;
  absl::CivilDay expires_on;
  std::vector<std::string> scopes = {};  // sorted; empty: the owner's full access
};

// Keyset position: the (created_at, id) of the last row of the previous page.
struct TokenCursor {
  absl::Time created_at;
  std::string id;
};

struct TokenQuery {
  std::optional<std::string> user_id;  // nullopt: all users
  std::optional<TokenStatus> status;
  // A fragment of the name, matched after FoldForSearch on both sides (full
  // Unicode case folding); empty: no filter.
  std::string name_contains;
  std::optional<absl::CivilDay> expires_before;
  absl::CivilDay today;  // the UTC day that decides EXPIRED for the status filter
  std::optional<TokenCursor> after;
  int limit = 50;
};

struct EventQuery {
  std::optional<std::string> subject_user_id;
  std::optional<std::string> token_id;
  std::optional<int64_t> before_id;
  int limit = 50;
};

struct UserQuery {
  std::optional<std::string> after_user_id;
  int limit = 50;
};

struct UserUpdate {
  std::string user_id;
  std::optional<std::string> display_name;
  std::optional<std::string> email;
  std::optional<Role> role;
  std::optional<bool> disabled;
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // The token with this hash and its owner, for authentication.
  virtual absl::StatusOr<TokenAuthRecord> FindTokenForAuth(const TokenHash& hash) = 0;

  virtual absl::StatusOr<User> GetUser(const std::string& user_id) = 0;
  // ALREADY_EXISTS, as a FieldError on "user_id", if the user_id is taken.
  virtual absl::StatusOr<User> CreateUser(const User& user, const TokenEvent& event) = 0;
  // Applies the set fields; NOT_FOUND if there is no such user. `event.detail`
  // is filled in by the caller.
  virtual absl::StatusOr<User> UpdateUser(const UserUpdate& update, const TokenEvent& event) = 0;
  virtual absl::StatusOr<std::vector<User>> ListUsers(const UserQuery& query) = 0;

  // FieldError("name") if the owner already has a non-revoked token of that
  // name; NOT_FOUND if the owner does not exist. With `max_live_tokens`,
  // FAILED_PRECONDITION if the owner already has that many live tokens (not
  // revoked, expiring after the UTC day of `token.created_at`), counted under
  // a lock on the owner that concurrent inserts for the same owner wait for,
  // so that they cannot all pass one count.
  virtual absl::StatusOr<TokenRecord> InsertToken(const NewToken& token, const TokenEvent& event,
                                                  std::optional<int> max_live_tokens) = 0;
  virtual absl::StatusOr<TokenRecord> GetToken(const std::string& id) = 0;
  // Sets revoked_at if not yet revoked and records `event`; a token already
  // revoked is returned unchanged with no event.
  virtual absl::StatusOr<TokenRecord> RevokeToken(const std::string& id, absl::Time now,
                                                  const TokenEvent& event) = 0;
  // Atomically revokes `old_id` and inserts `replacement` (same owner, name
  // and expiry). FAILED_PRECONDITION if the old token is no longer ACTIVE at
  // `now` by the domain's rule (StatusAt), applied to the row under a row
  // lock, so that of two racing rotations one fails; FieldError("name") if
  // another live token of the owner holds the name.
  virtual absl::StatusOr<TokenRecord> RotateToken(const std::string& old_id,
                                                  const NewToken& replacement, absl::Time now,
                                                  const TokenEvent& event) = 0;
  // Newest first (created_at DESC, id DESC).
  virtual absl::StatusOr<std::vector<TokenRecord>> ListTokens(const TokenQuery& query) = 0;
  // Newest first (id DESC).
  virtual absl::StatusOr<std::vector<TokenEvent>> ListEvents(const EventQuery& query) = 0;
};

}  // namespace tokens::service
