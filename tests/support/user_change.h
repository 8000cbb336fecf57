#pragma once

#include <string>

#include "tokens/v1/tokens.pb.h"

namespace tokens::testing {

// An UpdateUserRequest (AIP-134) as tests write one: each setter sets that
// field of `user` and names it in update_mask.
//   users_->UpdateUser(ctx, UserChange("carol").Disabled(true), &user);
class UserChange {
 public:
  explicit UserChange(const std::string& user_id) { request_.mutable_user()->set_user_id(user_id); }

  UserChange& DisplayName(const std::string& display_name) {
    request_.mutable_user()->set_display_name(display_name);
    return Mask("display_name");
  }
  UserChange& Email(const std::string& email) {
    request_.mutable_user()->set_email(email);
    return Mask("email");
  }
  // An int, so that a test can send a number outside the enum.
  UserChange& Role(int role) {
    request_.mutable_user()->set_role(static_cast<v1::Role>(role));
    return Mask("role");
  }
  UserChange& Disabled(bool disabled) {
    request_.mutable_user()->set_disabled(disabled);
    return Mask("disabled");
  }
  // Names `path` in update_mask without setting anything.
  UserChange& Mask(const std::string& path) {
    request_.mutable_update_mask()->add_paths(path);
    return *this;
  }

  const v1::UpdateUserRequest& request() const { return request_; }
  operator const v1::UpdateUserRequest&() const { return request_; }  // NOLINT: a request

 private:
  v1::UpdateUserRequest request_;
};

}  // namespace tokens::testing
