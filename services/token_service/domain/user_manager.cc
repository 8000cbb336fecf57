#include "services/token_service/domain/user_manager.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "common/status/field_error.h"
#include "services/token_service/domain/page_token.h"
#include "services/token_service/domain/validation.h"

namespace tokens::service {

absl::StatusOr<User> UserManager::CreateUser(const Principal& caller,
                                             const CreateRequest& request) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kCreateUser, request.user_id); !s.ok()) {
    return s;
  }
  return Create(caller.user_id, request);
}

absl::StatusOr<User> UserManager::Create(const std::string& actor, const CreateRequest& request) {
  if (absl::Status s = ValidateUserId("user_id", request.user_id); !s.ok()) return s;
  absl::StatusOr<std::string> display_name = NormalizeName(
      "display_name", request.display_name.empty() ? request.user_id : request.display_name);
  if (!display_name.ok()) return display_name.status();
  if (absl::Status s = ValidateEmail("email", request.email); !s.ok()) return s;
  const absl::Time now = clock_.Now();
  User user{request.user_id, *display_name,
            request.email,   request.role.value_or(Role::kUser),
            false,           now};
  TokenEvent event{0,
                   EventKind::kUserCreated,
                   now,
                   actor,
                   user.user_id,
                   "",
                   "",
                   "",
                   absl::StrCat("role=", RoleName(user.role))};
  return store_.CreateUser(user, event);
}

absl::StatusOr<UserManager::UserPage> UserManager::ListUsers(const Principal& caller, int page_size,
                                                             const std::string& page_token) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kListUsers, Scope::kAll); !s.ok()) {
    return s;
  }
  absl::StatusOr<int> size = ValidatePageSize("page_size", page_size);
  if (!size.ok()) return size.status();
  UserQuery query;
  const uint64_t fingerprint = PageTokenCodec::Fingerprint({});
  if (!page_token.empty()) {
    absl::StatusOr<std::vector<std::string>> keys =
        page_tokens_.Decode("page_token", page_token, "users", fingerprint, 1);
    if (!keys.ok()) return keys.status();
    // Compared with user ids in SQL, where text that could be none (a NUL,
    // bytes that are not UTF-8) is a database error.
    if (!ValidateUserId("page_token", (*keys)[0]).ok()) {
      return FieldError("page_token", "is not a page token from this list");
    }
    query.after_user_id = (*keys)[0];
  }
  query.limit = *size + 1;
  absl::StatusOr<std::vector<User>> rows = store_.ListUsers(query);
  if (!rows.ok()) return rows.status();
  UserPage page;
  page.next_page_token = page_tokens_.TrimToPage(
      *rows, *size, "users", fingerprint,
      [](const User& last) { return std::vector<std::string>{last.user_id}; });
  page.users = *std::move(rows);
  return page;
}

absl::StatusOr<UserUpdate> UserManager::MaskedUpdate(const UpdateRequest& request) {
  constexpr absl::string_view kMask = "update_mask";
  constexpr absl::string_view kUpdatable = "display_name, email, role or disabled";
  if (request.mask.empty()) {
    return FieldError(kMask,
                      absl::StrCat("required: the fields of user to change (", kUpdatable, ")"));
  }
  UserUpdate update;
  update.user_id = request.user_id;
  for (const std::string& path : request.mask) {
    if (path == "display_name") {
      update.display_name = request.display_name;
    } else if (path == "email") {
      update.email = request.email;
    } else if (path == "role") {
      if (!request.role.has_value()) {
        return FieldError("user.role", "must be USER, ADMIN or SERVICE");
      }
      update.role = request.role;
    } else if (path == "disabled") {
      update.disabled = request.disabled;
    } else if (path == "user_id" || path == "created_at") {
      return FieldError(kMask, absl::StrCat("\"", path, "\" cannot be changed"));
    } else if (path == "*") {
      return FieldError(kMask,
                        absl::StrCat("\"*\" is not accepted: name the fields (", kUpdatable, ")"));
    } else {
      return FieldError(kMask,
                        absl::StrCat("no updatable field \"", path, "\" (", kUpdatable, ")"));
    }
  }
  return update;
}

absl::StatusOr<User> UserManager::UpdateUser(const Principal& caller,
                                             const UpdateRequest& request) {
  if (absl::Status s = AccessPolicy::Check(caller, Action::kUpdateUser, request.user_id); !s.ok()) {
    return s;
  }
  // The mask first: a request of UpdateUser's old form (fields 1-5, now
  // reserved) arrives empty, and "update_mask: required" says why.
  absl::StatusOr<UserUpdate> masked = MaskedUpdate(request);
  if (!masked.ok()) return masked.status();
  if (absl::Status s = ValidateUserId("user.user_id", request.user_id); !s.ok()) return s;
  const UserUpdate& update = *masked;
  UserUpdate clean = update;
  // Not empty: the mask named at least one field.
  std::vector<std::string> changes;
  if (update.display_name.has_value()) {
    absl::StatusOr<std::string> name = NormalizeName("user.display_name", *update.display_name);
    if (!name.ok()) return name.status();
    clean.display_name = *name;
    changes.push_back("display_name");
  }
  if (update.email.has_value()) {
    if (absl::Status s = ValidateEmail("user.email", *update.email); !s.ok()) return s;
    changes.push_back("email");
  }
  if (update.role.has_value()) changes.push_back(absl::StrCat("role=", RoleName(*update.role)));
  if (update.disabled.has_value()) {
    changes.push_back(absl::StrCat("disabled=", *update.disabled ? "true" : "false"));
  }
  // An admin locking themselves out (or demoting the last way in) is almost
  // always a mistake; another admin can still do it.
  if (update.user_id == caller.user_id &&
      ((update.disabled.has_value() && *update.disabled) ||
       (update.role.has_value() && *update.role != Role::kAdmin))) {
    return absl::FailedPreconditionError("admins cannot disable or demote themselves");
  }
  TokenEvent event{
      0,  EventKind::kUserUpdated,    clock_.Now(), caller.user_id, update.user_id, "", "",
      "", absl::StrJoin(changes, ",")};
  return store_.UpdateUser(clean, event);
}

}  // namespace tokens::service
