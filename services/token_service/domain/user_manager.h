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

  // An update in the manner of AIP-134: `mask` names the fields to change,
  // among "display_name", "email", "role" and "disabled", and each named
  // field takes its value here, even an empty one; the others are ignored.
  // The mask is required (proto3 cannot tell `disabled: false` from
  // absent, so "every field that is set" could never enable a user).
  // FieldErrors name the request's paths: "update_mask", "user.email".
  struct UpdateRequest {
    std::string user_id;
    std::vector<std::string> mask;
    std::string display_name;
    std::string email;
    std::optional<Role> role;  // nullopt: no role given
    bool disabled = false;
  };
  absl::StatusOr<User> UpdateUser(const Principal& caller, const UpdateRequest& request);

 private:
  // Creates the bootstrap user through Create(), as its own actor.
  friend class Bootstrap;

  // The fields `request.mask` names, as the store's UserUpdate.
  static absl::StatusOr<UserUpdate> MaskedUpdate(const UpdateRequest& request);

  // Validates and stores a new user, recording `actor` as its creator.
  absl::StatusOr<User> Create(const std::string& actor, const CreateRequest& request);

  TokenStore& store_;
  const Clock& clock_;
  const PageTokenCodec page_tokens_;
};

}  // namespace tokens::service
