#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/time/clock.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/token_manager.h"
#include "services/token_service/domain/user_manager.h"

namespace tokens::service {

// The use case behind `token-service bootstrap-admin` and
// `bootstrap-service`: the way in before any token exists. Its actor is the
// operator who runs the command with the database's credentials (see
// AccessPolicy's Bootstrap row), not a caller of the API: no Principal is
// made up for it.
//
// Ensures the user exists with the role asked for and is enabled (created
// if missing, recorded as the user's own creation), then issues a token of
// theirs named "bootstrap <UTC time>", also recorded as the user's own. The
// input rules of issuing apply; the caller-bound ones (the caller token's
// expiry, the cap on live tokens, the rate) do not, since whoever can run
// the command could write any row anyway.
class Bootstrap {
 public:
  // Issues through `tokens` and creates through `users`, which must share
  // one store; `clock` names the token and dates its default expiry.
  Bootstrap(TokenManager& tokens, UserManager& users, const Clock& clock)
      : tokens_(tokens), users_(users), clock_(clock) {}

  struct Request {
    Role role = Role::kAdmin;  // ADMIN or SERVICE
    std::string user_id;
    // YYYY-MM-DD; empty: 90 days from today, or the longest lifetime
    // allowed if that is shorter.
    std::string expires_on;
  };
  struct Result {
    User user;
    TokenManager::IssuedToken issued;
  };
  // FAILED_PRECONDITION if the user exists with another role or is
  // disabled; INVALID_ARGUMENT (a field error) for a bad user id, role or
  // expiry.
  absl::StatusOr<Result> Run(const Request& request);

 private:
  // The user `user_id` with `role`, created if missing.
  absl::StatusOr<User> EnsureUser(const std::string& user_id, Role role);

  TokenManager& tokens_;
  UserManager& users_;
  const Clock& clock_;
};

}  // namespace tokens::service
