// AccessPolicy's table, cell by cell: every action, for callers USER, ADMIN
// and SERVICE on their own, another user's and all users' resources, and
// for the operator. The expected outcomes are written out here, not read
// back from the table; authorization_pgtest.cc checks the same rules over
// gRPC against the real binary.
#include "services/token_service/domain/access_policy.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace tokens::service {
namespace {

// One letter per scope (own, other, all): A allowed, D PERMISSION_DENIED,
// N NOT_FOUND.
struct Expected {
  Action action;
  std::string name;
  std::string user;
  std::string admin;
  std::string service;
  char operator_;
};

const std::vector<Expected>& Matrix() {
  static const std::vector<Expected> kMatrix = {
      //                                        USER   ADMIN  SERVICE operator
      {Action::kCreateToken, "CreateToken", "ADD", "AAD", "DDD", 'D'},
      {Action::kListTokens, "ListTokens", "ADD", "AAA", "DDD", 'D'},
      {Action::kGetToken, "GetToken", "AND", "AAD", "DDD", 'D'},
      {Action::kRevokeToken, "RevokeToken", "AND", "AAD", "DDD", 'D'},
      {Action::kRotateToken, "RotateToken", "AND", "AAD", "DDD", 'D'},
      {Action::kGetProfile, "GetProfile", "ADD", "ADD", "ADD", 'D'},
      {Action::kListTokenEvents, "ListTokenEvents", "ADD", "AAA", "DDD", 'D'},
      {Action::kListScopes, "ListScopes", "ADD", "ADD", "ADD", 'D'},
      {Action::kCreateUser, "CreateUser", "DDD", "AAA", "DDD", 'D'},
      {Action::kListUsers, "ListUsers", "DDD", "AAA", "DDD", 'D'},
      {Action::kUpdateUser, "UpdateUser", "DDD", "AAA", "DDD", 'D'},
      {Action::kSyncTokens, "SyncTokens", "DDD", "DDD", "AAA", 'D'},
      {Action::kReportUsage, "ReportUsage", "DDD", "DDD", "AAA", 'D'},
      {Action::kLookupToken, "LookupToken", "DDD", "DDD", "AAA", 'D'},
      {Action::kBootstrap, "Bootstrap", "DDD", "DDD", "DDD", 'A'},
  };
  return kMatrix;
}

constexpr Scope kScopes[] = {Scope::kOwn, Scope::kOther, Scope::kAll};

Principal Caller(const std::string& user_id, Role role) {
  return Principal{user_id, "Name of " + user_id, "", role, "token-of-" + user_id};
}

char Letter(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 'A';
    case absl::StatusCode::kPermissionDenied:
      return 'D';
    case absl::StatusCode::kNotFound:
      return 'N';
    default:
      return '?';
  }
}

std::string ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kOwn:
      return "own";
    case Scope::kOther:
      return "other";
    case Scope::kAll:
      return "all";
  }
  return "?";
}

TEST(AccessPolicyTest, EveryActionHasOneRowInOrder) {
  const absl::Span<const PolicyRow> table = AccessPolicy::Table();
  ASSERT_EQ(table.size(), Matrix().size());
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].action, Matrix()[i].action) << Matrix()[i].name;
    EXPECT_EQ(table[i].name, Matrix()[i].name);
  }
}

TEST(AccessPolicyTest, MatrixOfRolesActionsAndScopes) {
  const std::vector<std::pair<Role, std::string Expected::*>> roles = {
      {Role::kUser, &Expected::user},
      {Role::kAdmin, &Expected::admin},
      {Role::kService, &Expected::service}};
  for (const Expected& row : Matrix()) {
    for (const auto& [role, column] : roles) {
      const Principal caller = Caller("alice", role);
      for (size_t i = 0; i < 3; ++i) {
        const absl::Status status = AccessPolicy::Check(caller, row.action, kScopes[i]);
        EXPECT_EQ(Letter(status), (row.*column)[i])
            << row.name << " by " << RoleName(role) << " on " << ScopeName(kScopes[i]) << ": "
            << status;
        // Every refusal says why.
        if (!status.ok()) {
          EXPECT_FALSE(status.message().empty()) << row.name;
        }
      }
    }
    EXPECT_EQ(Letter(AccessPolicy::CheckOperator(row.action)), row.operator_) << row.name;
  }
}

// The messages callers read today, for every cell a request can reach.
TEST(AccessPolicyTest, RefusalsSayWhatWouldHaveBeenAllowed) {
  const Principal user = Caller("alice", Role::kUser);
  const Principal admin = Caller("root", Role::kAdmin);
  const Principal service = Caller("sidecar", Role::kService);
  const auto message = [](const Principal& caller, Action action, Scope scope) {
    return std::string(AccessPolicy::Check(caller, action, scope).message());
  };

  for (Action action : {Action::kCreateToken, Action::kListTokens, Action::kGetToken,
                        Action::kRevokeToken, Action::kRotateToken, Action::kListTokenEvents}) {
    EXPECT_EQ(message(service, action, Scope::kOwn),
              "SERVICE callers may only use the TokenSync API");
  }
  for (Action action : {Action::kCreateUser, Action::kListUsers, Action::kUpdateUser}) {
    for (const Principal* caller : {&user, &service}) {
      for (Scope scope : kScopes) {
        EXPECT_EQ(message(*caller, action, scope), "this method needs the ADMIN role");
      }
    }
  }
  for (Action action : {Action::kSyncTokens, Action::kReportUsage, Action::kLookupToken}) {
    for (const Principal* caller : {&user, &admin}) {
      EXPECT_EQ(message(*caller, action, Scope::kAll),
                "the TokenSync API is for SERVICE callers only");
    }
  }
  EXPECT_EQ(message(user, Action::kCreateToken, Scope::kOther),
            "only admins may create tokens for other users");
  EXPECT_EQ(message(user, Action::kListTokens, Scope::kOther),
            "only admins may list other users' tokens");
  EXPECT_EQ(message(user, Action::kListTokens, Scope::kAll),
            "only admins may list all users' tokens");
  EXPECT_EQ(message(user, Action::kListTokenEvents, Scope::kOther),
            "only admins may list other users' events");
  // Another user's token is indistinguishable from a missing one.
  for (Action action : {Action::kGetToken, Action::kRevokeToken, Action::kRotateToken}) {
    EXPECT_EQ(AccessPolicy::Check(user, action, Scope::kOther),
              absl::NotFoundError("no such token"));
  }
}

TEST(AccessPolicyTest, AnOwnerIsTheCallersScopeOnlyWhenItIsTheCaller) {
  const Principal alice = Caller("alice", Role::kUser);
  EXPECT_TRUE(AccessPolicy::Check(alice, Action::kGetToken, "alice").ok());
  EXPECT_EQ(AccessPolicy::Check(alice, Action::kGetToken, "bob").code(),
            absl::StatusCode::kNotFound);
  // No prefix or case games: "Alice" and "alice2" are other users.
  EXPECT_EQ(AccessPolicy::Check(alice, Action::kListTokens, "alice2").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(AccessPolicy::Check(alice, Action::kListTokens, "Alice").code(),
            absl::StatusCode::kPermissionDenied);
  const Principal root = Caller("root", Role::kAdmin);
  EXPECT_TRUE(AccessPolicy::Check(root, Action::kRotateToken, "alice").ok());
}

// CheckMethod admits a caller who may use the method on some scope, so that
// the token's owner can be read; it refuses with the caller's own-scope
// error otherwise.
TEST(AccessPolicyTest, CheckMethodAdmitsWhoeverMayUseTheMethodSomewhere) {
  EXPECT_TRUE(AccessPolicy::CheckMethod(Caller("alice", Role::kUser), Action::kGetToken).ok());
  EXPECT_TRUE(AccessPolicy::CheckMethod(Caller("root", Role::kAdmin), Action::kGetToken).ok());
  EXPECT_EQ(AccessPolicy::CheckMethod(Caller("sidecar", Role::kService), Action::kGetToken),
            absl::PermissionDeniedError("SERVICE callers may only use the TokenSync API"));
  EXPECT_TRUE(
      AccessPolicy::CheckMethod(Caller("sidecar", Role::kService), Action::kSyncTokens).ok());
  EXPECT_EQ(AccessPolicy::CheckMethod(Caller("alice", Role::kUser), Action::kListUsers),
            absl::PermissionDeniedError("this method needs the ADMIN role"));
}

TEST(AccessPolicyTest, OnlyTheOperatorBootstrapsAndTheOperatorCallsNoRpc) {
  EXPECT_TRUE(AccessPolicy::CheckOperator(Action::kBootstrap).ok());
  for (Role role : {Role::kUser, Role::kAdmin, Role::kService}) {
    EXPECT_FALSE(AccessPolicy::CheckMethod(Caller("x", role), Action::kBootstrap).ok())
        << RoleName(role);
  }
  EXPECT_EQ(AccessPolicy::CheckOperator(Action::kGetProfile).code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(AccessPolicyTest, ActorOfFollowsTheRole) {
  EXPECT_EQ(ActorOf(Caller("a", Role::kUser)), Actor::kUser);
  EXPECT_EQ(ActorOf(Caller("a", Role::kAdmin)), Actor::kAdmin);
  EXPECT_EQ(ActorOf(Caller("a", Role::kService)), Actor::kService);
}

}  // namespace
}  // namespace tokens::service
