#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/time/clock.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/page_token.h"
#include "services/token_service/domain/ports/token_store.h"

namespace tokens::service {

// The user administration use cases behind UserService; every method needs
// an ADMIN caller. Each change is recorded as an audit event.
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

  // For `token-service bootstrap-admin`: the ADMIN user `user_id`, created
  // if missing. FAILED_PRECONDITION if it exists but is not an enabled admin.
  absl::StatusOr<User> EnsureAdmin(const std::string& user_id);
  // Likewise for `token-service bootstrap-service`: the SERVICE user a
  // sidecar authenticates as.
  absl::StatusOr<User> EnsureService(const std::string& user_id);

 private:
  absl::StatusOr<User> Create(const std::string& actor, const CreateRequest& request);
  absl::StatusOr<User> EnsureUserWithRole(const std::string& user_id, Role role);

  TokenStore& store_;
  const Clock& clock_;
  const PageTokenCodec page_tokens_;
};

}  // namespace tokens::service
