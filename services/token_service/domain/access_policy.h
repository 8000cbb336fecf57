#pragma once

#include <array>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "services/token_service/domain/model.h"

namespace tokens::service {

// What is asked for: an RPC of the three services, or the bootstrap commands.
enum class Action {
  // tokens.v1.TokenService
  kCreateToken,
  kListTokens,
  kGetToken,
  kRevokeToken,
  kRotateToken,
  kGetProfile,
  kListTokenEvents,
  kListScopes,
  // tokens.v1.UserService
  kCreateUser,
  kListUsers,
  kUpdateUser,
  // tokens.v1.TokenSync
  kSyncTokens,
  kReportUsage,
  kLookupToken,
  // `token-service bootstrap-admin` and `bootstrap-service`
  kBootstrap,
};

// Who asks: a caller of the API, by the role of the token they present; or
// an operator running a bootstrap command with the database's credentials,
// who presents no token and is no user.
enum class Actor { kUser, kAdmin, kService, kOperator };

// Whose resources a request touches, seen from the caller: their own (their
// tokens, their events, their profile), one other user's, or every user's.
enum class Scope { kOwn, kOther, kAll };

// The outcome of one cell: allowed; PERMISSION_DENIED; or NOT_FOUND, where
// even the existence of the resource is not the caller's business.
enum class Access { kAllowed, kDenied, kHidden };

struct Rule {
  Access access;
  absl::string_view message;  // of the error; empty when allowed
};

// One action: the rule per caller role and scope, and the operator's. A
// scope that no request of the action can ask for is denied all the same.
struct PolicyRow {
  Action action;
  absl::string_view name;       // as in the proto, or "Bootstrap"
  std::array<Rule, 3> user;     // own, other, all
  std::array<Rule, 3> admin;    // own, other, all
  std::array<Rule, 3> service;  // own, other, all
  Rule operator_;               // owns nothing, so one rule for any scope
};

// Who may call what on whose resources: one table (access_policy.cc), read
// by every use case before it touches anything. The use cases decide the
// scope of a request (a token's owner is known only once it is read); the
// table decides what that scope means for the caller. Business rules that
// are not about who is asking (an admin may not disable themselves, a
// disabled user gets no new secret) stay with the use cases.
class AccessPolicy {
 public:
  // Every action's row, in the order of Action.
  static absl::Span<const PolicyRow> Table();

  // The cell of `actor` for `action` on `scope`.
  static Rule Lookup(Actor actor, Action action, Scope scope);

  // OK, or the cell's error: PERMISSION_DENIED or NOT_FOUND.
  static absl::Status Check(const Principal& caller, Action action, Scope scope);
  // As above for a resource of `owner`: the caller's own or another user's.
  static absl::Status Check(const Principal& caller, Action action, absl::string_view owner);
  // Whether the caller may call `action` on some scope; if on none, the
  // error of their own scope. For a request whose scope is known only after
  // a read: the read is not made for a caller who could never see it.
  static absl::Status CheckMethod(const Principal& caller, Action action);
  // The operator's rule for `action`.
  static absl::Status CheckOperator(Action action);

  static bool Allows(const Principal& caller, Action action, Scope scope) {
    return Check(caller, action, scope).ok();
  }
};

// The column of a caller's role.
Actor ActorOf(const Principal& caller);

}  // namespace tokens::service
