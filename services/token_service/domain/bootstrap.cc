#include "services/token_service/domain/bootstrap.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "services/token_service/domain/access_policy.h"
#include "services/token_service/domain/validation.h"

namespace tokens::service {
namespace {

// The default lifetime of a bootstrap token: long enough to set things up
// and issue proper tokens, short enough not to be forgotten for good.
constexpr int kDefaultLifetimeDays = 90;

}  // namespace

absl::StatusOr<Bootstrap::Result> Bootstrap::Run(const Request& request) {
  if (absl::Status s = AccessPolicy::CheckOperator(Action::kBootstrap); !s.ok()) return s;
  if (request.role != Role::kAdmin && request.role != Role::kService) {
    return FieldError("role", "bootstrap makes ADMIN or SERVICE users only");
  }
  absl::StatusOr<User> user = EnsureUser(request.user_id, request.role);
  if (!user.ok()) return user.status();

  const absl::Time now = clock_.Now();
  std::string expires_on = request.expires_on;
  if (expires_on.empty()) {
    expires_on = FormatIsoDate(
        UtcDay(now) + std::min(kDefaultLifetimeDays, tokens_.options_.max_token_lifetime_days));
  }
  const std::string name =
      absl::StrCat("bootstrap ", absl::FormatTime("%Y-%m-%d %H:%M:%E6S", now, absl::UTCTimeZone()));
  absl::StatusOr<TokenManager::IssuedToken> issued =
      tokens_.Issue(user->user_id, user->user_id, name, expires_on, {}, std::nullopt);
  if (!issued.ok()) return issued.status();
  return Result{*std::move(user), *std::move(issued)};
}

absl::StatusOr<User> Bootstrap::EnsureUser(const std::string& user_id, Role role) {
  if (absl::Status s = ValidateUserId("user_id", user_id); !s.ok()) return s;
  absl::StatusOr<User> user = users_.store_.GetUser(user_id);
  if (absl::IsNotFound(user.status())) {
    user = users_.Create(user_id, UserManager::CreateRequest{user_id, user_id, "", role});
    // Lost a race with a concurrent bootstrap: use the winner's row.
    if (absl::IsAlreadyExists(user.status())) user = users_.store_.GetUser(user_id);
  }
  if (!user.ok()) return user.status();
  if (user->role != role) {
    return absl::FailedPreconditionError(
        absl::StrCat("user ", user_id, " exists with role ", RoleName(user->role)));
  }
  if (user->disabled) {
    return absl::FailedPreconditionError(absl::StrCat("user ", user_id, " is disabled"));
  }
  return user;
}

}  // namespace tokens::service
