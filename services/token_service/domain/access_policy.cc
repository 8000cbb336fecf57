#include "services/token_service/domain/access_policy.h"

#include <cstddef>

namespace tokens::service {
namespace {

// The cells. A message is what the caller reads, so it says what would have
// been allowed.
constexpr Rule kOk{Access::kAllowed, ""};
// The SERVICE role exists for the sidecars' feed; a sidecar learns who it is
// with GetProfile and may do nothing else with TokenService.
constexpr Rule kHumansOnly{Access::kDenied, "SERVICE callers may only use the TokenSync API"};
constexpr Rule kAdminsOnly{Access::kDenied, "this method needs the ADMIN role"};
constexpr Rule kServicesOnly{Access::kDenied, "the TokenSync API is for SERVICE callers only"};
constexpr Rule kAdminsCreateForOthers{Access::kDenied,
                                      "only admins may create tokens for other users"};
constexpr Rule kAdminsListOthersTokens{Access::kDenied, "only admins may list other users' tokens"};
constexpr Rule kAdminsListAllTokens{Access::kDenied, "only admins may list all users' tokens"};
constexpr Rule kAdminsListOthersEvents{Access::kDenied, "only admins may list other users' events"};
// A USER's events without a user filter are their own (TokenManager asks
// this cell to decide), so no USER ever reads this message.
constexpr Rule kAdminsListAllEvents{Access::kDenied, "only admins may list all users' events"};
// Another user's token is reported exactly like a missing one, so that ids
// cannot be probed.
constexpr Rule kHidden{Access::kHidden, "no such token"};
// A scope that no request of the method can name (a token belongs to one
// user; a profile is the caller's); denied should one ever be asked for.
constexpr Rule kNoSuchRequest{Access::kDenied, "this method does not act on that scope"};
// The operator presents no token, so never reaches an RPC; a caller with a
// token never reaches the bootstrap commands, which need the database.
constexpr Rule kNeedsToken{Access::kDenied, "the API is for callers with a token"};
constexpr Rule kOperatorsOnly{Access::kDenied,
                              "bootstrapping is for an operator with the database's credentials"};

constexpr std::array<Rule, 3> kAllowed = {kOk, kOk, kOk};
constexpr std::array<Rule, 3> kNotForService = {kHumansOnly, kHumansOnly, kHumansOnly};
constexpr std::array<Rule, 3> kNotForNonAdmins = {kAdminsOnly, kAdminsOnly, kAdminsOnly};
constexpr std::array<Rule, 3> kNotForHumans = {kServicesOnly, kServicesOnly, kServicesOnly};
constexpr std::array<Rule, 3> kNotForTokens = {kOperatorsOnly, kOperatorsOnly, kOperatorsOnly};

// clang-format off
constexpr PolicyRow kTable[] = {
    // action, name,
    //   USER                    own, other, all
    //   ADMIN                   own, other, all
    //   SERVICE                 own, other, all
    //   operator
    {Action::kCreateToken, "CreateToken",
        {kOk, kAdminsCreateForOthers, kNoSuchRequest},
        {kOk, kOk, kNoSuchRequest},
        kNotForService,
        kNeedsToken},
    {Action::kListTokens, "ListTokens",
        {kOk, kAdminsListOthersTokens, kAdminsListAllTokens},
        kAllowed,
        kNotForService,
        kNeedsToken},
    {Action::kGetToken, "GetToken",
        {kOk, kHidden, kNoSuchRequest},
        {kOk, kOk, kNoSuchRequest},
        kNotForService,
        kNeedsToken},
    {Action::kRevokeToken, "RevokeToken",
        {kOk, kHidden, kNoSuchRequest},
        {kOk, kOk, kNoSuchRequest},
        kNotForService,
        kNeedsToken},
    {Action::kRotateToken, "RotateToken",
        {kOk, kHidden, kNoSuchRequest},
        {kOk, kOk, kNoSuchRequest},
        kNotForService,
        kNeedsToken},
    {Action::kGetProfile, "GetProfile",
        {kOk, kNoSuchRequest, kNoSuchRequest},
        {kOk, kNoSuchRequest, kNoSuchRequest},
        {kOk, kNoSuchRequest, kNoSuchRequest},
        kNeedsToken},
    {Action::kListTokenEvents, "ListTokenEvents",
        {kOk, kAdminsListOthersEvents, kAdminsListAllEvents},
        kAllowed,
        kNotForService,
        kNeedsToken},
    // The catalogue is no secret: every caller with a token may read it.
    {Action::kListScopes, "ListScopes",
        {kOk, kNoSuchRequest, kNoSuchRequest},
        {kOk, kNoSuchRequest, kNoSuchRequest},
        {kOk, kNoSuchRequest, kNoSuchRequest},
        kNeedsToken},
    {Action::kCreateUser, "CreateUser",
        kNotForNonAdmins,
        kAllowed,
        kNotForNonAdmins,
        kNeedsToken},
    {Action::kListUsers, "ListUsers",
        kNotForNonAdmins,
        kAllowed,
        kNotForNonAdmins,
        kNeedsToken},
    {Action::kUpdateUser, "UpdateUser",
        kNotForNonAdmins,
        kAllowed,
        kNotForNonAdmins,
        kNeedsToken},
    // The feed carries every user's tokens; lookups and usage reports name
    // any user's.
    {Action::kSyncTokens, "SyncTokens",
        kNotForHumans,
        kNotForHumans,
        kAllowed,
        kNeedsToken},
    {Action::kReportUsage, "ReportUsage",
        kNotForHumans,
        kNotForHumans,
        kAllowed,
        kNeedsToken},
    {Action::kLookupToken, "LookupToken",
        kNotForHumans,
        kNotForHumans,
        kAllowed,
        kNeedsToken},
    // Whoever holds the database's credentials could write any row anyway;
    // these commands are the way in before any token exists.
    {Action::kBootstrap, "Bootstrap",
        kNotForTokens,
        kNotForTokens,
        kNotForTokens,
        kOk},
};
// clang-format on

constexpr bool InActionOrder() {
  for (size_t i = 0; i < std::size(kTable); ++i) {
    if (static_cast<size_t>(kTable[i].action) != i) return false;
  }
  return true;
}
static_assert(InActionOrder(), "one row per Action, in the order of the enum");
static_assert(std::size(kTable) == static_cast<size_t>(Action::kBootstrap) + 1,
              "every Action has a row");

absl::Status StatusOf(const Rule& rule) {
  switch (rule.access) {
    case Access::kAllowed:
      return absl::OkStatus();
    case Access::kDenied:
      return absl::PermissionDeniedError(rule.message);
    case Access::kHidden:
      return absl::NotFoundError(rule.message);
  }
  return absl::PermissionDeniedError(rule.message);
}

}  // namespace

Actor ActorOf(const Principal& caller) {
  switch (caller.role) {
    case Role::kUser:
      return Actor::kUser;
    case Role::kAdmin:
      return Actor::kAdmin;
    case Role::kService:
      return Actor::kService;
  }
  return Actor::kUser;  // the least of the roles, should a new one appear
}

absl::Span<const PolicyRow> AccessPolicy::Table() { return kTable; }

Rule AccessPolicy::Lookup(Actor actor, Action action, Scope scope) {
  const PolicyRow& row = kTable[static_cast<size_t>(action)];
  const size_t column = static_cast<size_t>(scope);
  switch (actor) {
    case Actor::kUser:
      return row.user[column];
    case Actor::kAdmin:
      return row.admin[column];
    case Actor::kService:
      return row.service[column];
    case Actor::kOperator:
      return row.operator_;
  }
  return kNeedsToken;
}

absl::Status AccessPolicy::Check(const Principal& caller, Action action, Scope scope) {
  return StatusOf(Lookup(ActorOf(caller), action, scope));
}

absl::Status AccessPolicy::Check(const Principal& caller, Action action, absl::string_view owner) {
  return Check(caller, action, owner == caller.user_id ? Scope::kOwn : Scope::kOther);
}

absl::Status AccessPolicy::CheckMethod(const Principal& caller, Action action) {
  for (Scope scope : {Scope::kOwn, Scope::kOther, Scope::kAll}) {
    if (Allows(caller, action, scope)) return absl::OkStatus();
  }
  return Check(caller, action, Scope::kOwn);
}

absl::Status AccessPolicy::CheckOperator(Action action) {
  return StatusOf(Lookup(Actor::kOperator, action, Scope::kOther));
}

}  // namespace tokens::service
