#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "services/token_service/domain/access_policy.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/page_token.h"
#include "services/token_service/domain/ports/token_store.h"

namespace tokens::service {

// The user administration use cases behind UserService; AccessPolicy lets
// only ADMIN callers in. Each change is recorded as an audit event.
class UserManager {
 public:
  // `page_token_key` seals the page tokens of ListUsers (see
  // PageTokenCodec); empty: this process's random key.
  UserManager(TokenStore& store, const Clock& clock, absl::string_view page_token_key = {})
      : store_(store), clock_(clock), page_tokens_(page_token_key) {}

  struct CreateRequest {
    std::string user_id;
    std::string display_name;
    std::string email;
    std::optional<Role> role;  // default USER
  };
  absl::StatusOr<User> CreateUser(const Principal& caller, const CreateRequest& request);

  struct UserPage {
    std::vector<User> users;
    std::string next_page_token;
  };
  absl::StatusOr<UserPage> ListUsers(const Principal& caller, int page_size,
                                     const std::string& page_token);

  absl::StatusOr<User> UpdateUser(const Principal& caller, const UserUpdate& update);

 private:
  // Creates the bootstrap user through Create(), as its own actor.
  friend class Bootstrap;

  // Validates and stores a new user, recording `actor` as its creator.
  absl::StatusOr<User> Create(const std::string& actor, const CreateRequest& request);

  TokenStore& store_;
  const Clock& clock_;
  const PageTokenCodec page_tokens_;
};

}  // namespace tokens::service
