#include "services/token_service/domain/user_manager.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/page_token.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::IsFieldError;
using test_support::IsTakenField;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

using CreateRequest = UserManager::CreateRequest;

const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone());

Principal Caller(const std::string& user_id, Role role) {
  return Principal{user_id, "Name of " + user_id, "", role, "token-of-" + user_id};
}

UserUpdate Update(const std::string& user_id) {
  UserUpdate update;
  update.user_id = user_id;
  return update;
}

// `update` as UpdateUser's request: its mask names the fields it sets.
UserManager::UpdateRequest Masked(const UserUpdate& update) {
  UserManager::UpdateRequest request;
  request.user_id = update.user_id;
  if (update.display_name.has_value()) {
    request.mask.push_back("display_name");
    request.display_name = *update.display_name;
  }
  if (update.email.has_value()) {
    request.mask.push_back("email");
    request.email = *update.email;
  }
  if (update.role.has_value()) {
    request.mask.push_back("role");
    request.role = update.role;
  }
  if (update.disabled.has_value()) {
    request.mask.push_back("disabled");
    request.disabled = *update.disabled;
  }
  return request;
}

class UserManagerTest : public ::testing::Test {
 protected:
  UserManagerTest() {
    store_.AddUser("root", Role::kAdmin);
    store_.AddUser("ops", Role::kAdmin);
    store_.AddUser("alice");
    store_.AddUser("sidecar", Role::kService);
  }

  // The one event recorded since the fixture was built.
  TokenEvent OnlyEvent() {
    const std::vector<TokenEvent> events = store_.events();
    EXPECT_THAT(events, SizeIs(1));
    return events.empty() ? TokenEvent{} : events.back();
  }

  FakeClock clock_{kNow};
  FakeTokenStore store_;
  UserManager users_{store_, clock_};

  const Principal root_ = Caller("root", Role::kAdmin);
  const Principal ops_ = Caller("ops", Role::kAdmin);
  const Principal alice_ = Caller("alice", Role::kUser);
  const Principal sidecar_ = Caller("sidecar", Role::kService);
};

TEST_F(UserManagerTest, OnlyAdminsMayManageUsers) {
  for (const Principal& caller : {alice_, sidecar_}) {
    SCOPED_TRACE(caller.user_id);
    EXPECT_THAT(users_.CreateUser(caller, {"carol", "", "", std::nullopt}),
                HasCode(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(users_.ListUsers(caller, 0, ""), HasCode(absl::StatusCode::kPermissionDenied));
    UserUpdate promote = Update(caller.user_id);
    promote.role = Role::kAdmin;
    EXPECT_THAT(users_.UpdateUser(caller, Masked(promote)),
                HasCode(absl::StatusCode::kPermissionDenied));
  }
  EXPECT_THAT(store_.events(), IsEmpty());
  EXPECT_THAT(store_.GetUser("carol"), HasCode(absl::StatusCode::kNotFound));
  EXPECT_EQ(store_.GetUser("alice")->role, Role::kUser);
}

// --- CreateUser --------------------------------------------------------------

TEST_F(UserManagerTest, CreateUserDefaults) {
  absl::StatusOr<User> carol = users_.CreateUser(root_, {"carol", "", "", std::nullopt});
  ASSERT_TRUE(carol.ok()) << carol.status();
  EXPECT_EQ(carol->user_id, "carol");
  EXPECT_EQ(carol->display_name, "carol");
  EXPECT_EQ(carol->email, "");
  EXPECT_EQ(carol->role, Role::kUser);
  EXPECT_FALSE(carol->disabled);
  EXPECT_EQ(carol->created_at, kNow);

  const TokenEvent event = OnlyEvent();
  EXPECT_EQ(event.kind, EventKind::kUserCreated);
  EXPECT_EQ(event.occurred_at, kNow);
  EXPECT_EQ(event.actor_user_id, "root");
  EXPECT_EQ(event.subject_user_id, "carol");
  EXPECT_EQ(event.token_id, "");
  EXPECT_EQ(event.detail, "role=USER");
}

TEST_F(UserManagerTest, CreateUserWithEverything) {
  absl::StatusOr<User> svc = users_.CreateUser(
      root_, {"svc.deploy", "  Deploy Service ", "deploy@example.com", Role::kService});
  ASSERT_TRUE(svc.ok()) << svc.status();
  EXPECT_EQ(svc->display_name, "Deploy Service");
  EXPECT_EQ(svc->email, "deploy@example.com");
  EXPECT_EQ(svc->role, Role::kService);
  EXPECT_EQ(OnlyEvent().detail, "role=SERVICE");
  EXPECT_EQ(store_.GetUser("svc.deploy")->role, Role::kService);
}

TEST_F(UserManagerTest, CreateUserValidatesEveryField) {
  EXPECT_THAT(users_.CreateUser(root_, {"", "", "", std::nullopt}), IsFieldError("user_id"));
  EXPECT_THAT(users_.CreateUser(root_, {"Carol", "", "", std::nullopt}), IsFieldError("user_id"));
  EXPECT_THAT(users_.CreateUser(root_, {std::string(65, 'c'), "", "", std::nullopt}),
              IsFieldError("user_id"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "   ", "", std::nullopt}),
              IsFieldError("display_name"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "Car\x7fol", "", std::nullopt}),
              IsFieldError("display_name"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "Ca\trol", "", std::nullopt}),
              IsFieldError("display_name"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", std::string(101, 'c'), "", std::nullopt}),
              IsFieldError("display_name"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "", "carol", std::nullopt}),
              IsFieldError("email"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "", "carol @example.com", std::nullopt}),
              IsFieldError("email"));
  EXPECT_THAT(store_.events(), IsEmpty());
  EXPECT_THAT(store_.GetUser("carol"), HasCode(absl::StatusCode::kNotFound));
}

TEST_F(UserManagerTest, DuplicateUserIdIsAlreadyExistsOnUserId) {
  absl::StatusOr<User> again = users_.CreateUser(root_, {"alice", "Alice 2", "", Role::kAdmin});
  EXPECT_THAT(again, IsTakenField("user_id"));
  EXPECT_THAT(store_.events(), IsEmpty());
  EXPECT_EQ(store_.GetUser("alice")->role, Role::kUser);
}

TEST_F(UserManagerTest, CreateUserPropagatesStoreOutage) {
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(users_.CreateUser(root_, {"carol", "", "", std::nullopt}),
              HasCode(absl::StatusCode::kUnavailable));
}

// --- UpdateUser --------------------------------------------------------------

TEST_F(UserManagerTest, UpdateChangesOnlyTheGivenFields) {
  UserUpdate rename = Update("alice");
  rename.display_name = "  Alice Liddell ";
  absl::StatusOr<User> alice = users_.UpdateUser(root_, Masked(rename));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->display_name, "Alice Liddell");
  EXPECT_EQ(alice->email, "alice@example.com");
  EXPECT_EQ(alice->role, Role::kUser);
  EXPECT_FALSE(alice->disabled);

  const TokenEvent event = OnlyEvent();
  EXPECT_EQ(event.kind, EventKind::kUserUpdated);
  EXPECT_EQ(event.occurred_at, kNow);
  EXPECT_EQ(event.actor_user_id, "root");
  EXPECT_EQ(event.subject_user_id, "alice");
  EXPECT_EQ(event.detail, "display_name");
}

TEST_F(UserManagerTest, UpdateEventDetailListsTheChanges) {
  struct Case {
    UserUpdate update;
    std::string detail;
  };
  std::vector<Case> cases(5, Case{Update("alice"), ""});
  cases[0].update.email = "liddell@example.com";
  cases[0].detail = "email";
  cases[1].update.role = Role::kAdmin;
  cases[1].detail = "role=ADMIN";
  cases[2].update.disabled = true;
  cases[2].detail = "disabled=true";
  cases[3].update.disabled = false;
  cases[3].detail = "disabled=false";
  cases[4].update.display_name = "Alice";
  cases[4].update.email = "";
  cases[4].update.role = Role::kService;
  cases[4].update.disabled = true;
  cases[4].detail = "display_name,email,role=SERVICE,disabled=true";
  for (const Case& c : cases) {
    ASSERT_TRUE(users_.UpdateUser(root_, Masked(c.update)).ok()) << c.detail;
    EXPECT_EQ(store_.events().back().detail, c.detail);
  }
  const absl::StatusOr<User> alice = store_.GetUser("alice");
  EXPECT_EQ(alice->display_name, "Alice");
  EXPECT_EQ(alice->email, "");
  EXPECT_EQ(alice->role, Role::kService);
  EXPECT_TRUE(alice->disabled);
}

TEST_F(UserManagerTest, UpdateNeedsAMaskOfUpdatableFields) {
  EXPECT_THAT(users_.UpdateUser(root_, Masked(Update("alice"))), IsFieldError("update_mask"));
  for (const char* path : {"user_id", "created_at", "*", "nickname", "displayName", ""}) {
    UserManager::UpdateRequest request = Masked(Update("alice"));
    request.mask = {"email", path};
    EXPECT_THAT(users_.UpdateUser(root_, request), IsFieldError("update_mask")) << path;
  }
  EXPECT_THAT(store_.events(), IsEmpty());
}

TEST_F(UserManagerTest, UpdateTakesTheNamedFieldsOnly) {
  const std::string name_before = store_.GetUser("alice")->display_name;
  UserManager::UpdateRequest request;
  request.user_id = "alice";
  request.mask = {"email"};
  request.display_name = "Not Alice";
  request.role = Role::kAdmin;
  request.disabled = true;
  absl::StatusOr<User> alice = users_.UpdateUser(root_, request);
  ASSERT_TRUE(alice.ok()) << alice.status();
  // A named field takes even an empty value.
  EXPECT_EQ(alice->email, "");
  EXPECT_EQ(alice->display_name, name_before);
  EXPECT_EQ(alice->role, Role::kUser);
  EXPECT_FALSE(alice->disabled);
  EXPECT_EQ(OnlyEvent().detail, "email");
}

TEST_F(UserManagerTest, ARoleInTheMaskMustBeGiven) {
  UserManager::UpdateRequest request;
  request.user_id = "alice";
  request.mask = {"role"};
  EXPECT_THAT(users_.UpdateUser(root_, request), IsFieldError("user.role"));
  EXPECT_THAT(store_.events(), IsEmpty());
}

TEST_F(UserManagerTest, ThePolicyIsAskedBeforeTheRequestIsRead) {
  UserManager::UpdateRequest request;
  request.user_id = "alice";
  request.mask = {"nickname"};
  EXPECT_THAT(users_.UpdateUser(alice_, request), HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(users_.UpdateUser(alice_, Masked(Update("alice"))),
              HasCode(absl::StatusCode::kPermissionDenied));
}

TEST_F(UserManagerTest, UpdateMissingUser) {
  UserUpdate update = Update("nobody");
  update.disabled = true;
  EXPECT_THAT(users_.UpdateUser(root_, Masked(update)), HasCode(absl::StatusCode::kNotFound));
}

TEST_F(UserManagerTest, UpdateValidates) {
  UserUpdate bad_id = Update("Alice");
  bad_id.disabled = true;
  EXPECT_THAT(users_.UpdateUser(root_, Masked(bad_id)), IsFieldError("user.user_id"));
  UserUpdate empty_name = Update("alice");
  empty_name.display_name = " ";
  EXPECT_THAT(users_.UpdateUser(root_, Masked(empty_name)), IsFieldError("user.display_name"));
  UserUpdate bad_email = Update("alice");
  bad_email.email = "not an email";
  EXPECT_THAT(users_.UpdateUser(root_, Masked(bad_email)), IsFieldError("user.email"));
  EXPECT_THAT(store_.events(), IsEmpty());
}

TEST_F(UserManagerTest, AdminsCannotDisableOrDemoteThemselves) {
  UserUpdate disable = Update("root");
  disable.disabled = true;
  EXPECT_THAT(users_.UpdateUser(root_, Masked(disable)),
              HasCode(absl::StatusCode::kFailedPrecondition));
  for (Role role : {Role::kUser, Role::kService}) {
    UserUpdate demote = Update("root");
    demote.role = role;
    EXPECT_THAT(users_.UpdateUser(root_, Masked(demote)),
                HasCode(absl::StatusCode::kFailedPrecondition));
  }
  EXPECT_THAT(store_.events(), IsEmpty());
  EXPECT_EQ(store_.GetUser("root")->role, Role::kAdmin);
  EXPECT_FALSE(store_.GetUser("root")->disabled);

  // Harmless changes to oneself are fine...
  UserUpdate harmless = Update("root");
  harmless.display_name = "Root";
  harmless.role = Role::kAdmin;
  harmless.disabled = false;
  EXPECT_TRUE(users_.UpdateUser(root_, Masked(harmless)).ok());
  // ...and another admin may do what one may not do to oneself.
  EXPECT_TRUE(users_.UpdateUser(ops_, Masked(disable)).ok());
  EXPECT_TRUE(store_.GetUser("root")->disabled);
}

// --- ListUsers ---------------------------------------------------------------

TEST_F(UserManagerTest, ListUsersPagesInUserIdOrder) {
  std::vector<std::string> expected = {"alice", "ops", "root", "sidecar"};
  for (int i = 0; i < 20; ++i) {
    const std::string id = absl::StrFormat("user%02d", i);
    store_.AddUser(id);
    expected.push_back(id);
  }
  std::sort(expected.begin(), expected.end());

  std::vector<std::string> listed;
  std::string page_token;
  int pages = 0;
  do {
    absl::StatusOr<UserManager::UserPage> page = users_.ListUsers(root_, 5, page_token);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LT(++pages, 100);
    EXPECT_LE(page->users.size(), 5u);
    for (const User& u : page->users) listed.push_back(u.user_id);
    page_token = page->next_page_token;
  } while (!page_token.empty());
  EXPECT_EQ(pages, 5);
  EXPECT_THAT(listed, ElementsAreArray(expected));
}

TEST_F(UserManagerTest, ListUsersRejectsBadPaging) {
  EXPECT_THAT(users_.ListUsers(root_, -1, ""), IsFieldError("page_size"));
  EXPECT_THAT(users_.ListUsers(root_, 0, "garbage"), IsFieldError("page_token"));
  // UserManager's codec without a key uses the process's key, as this one.
  const PageTokenCodec pages;
  const std::string tokens_cursor =
      pages.Encode("tokens", PageTokenCodec::Fingerprint({}), {"alice"});
  EXPECT_THAT(users_.ListUsers(root_, 0, tokens_cursor), IsFieldError("page_token"));
}

TEST_F(UserManagerTest, ListUsersRefusesACursorThatIsNoUserId) {
  // Sealed with the right key (a leaked one, say): the cursor still has to
  // be a user id before it goes into SQL.
  const PageTokenCodec pages;
  for (const std::string& cursor : {std::string("alice\0x", 7), std::string("\xff\xfe"),
                                    std::string("Alice"), std::string(5000, 'a')}) {
    const std::string token = pages.Encode("users", PageTokenCodec::Fingerprint({}), {cursor});
    EXPECT_THAT(users_.ListUsers(root_, 0, token), IsFieldError("page_token"));
  }
  const std::string fine = pages.Encode("users", PageTokenCodec::Fingerprint({}), {"alice"});
  EXPECT_TRUE(users_.ListUsers(root_, 0, fine).ok());
}

TEST_F(UserManagerTest, ListUsersTokensAreSealedWithTheGivenKey) {
  const std::string key(32, 'k');
  UserManager keyed(store_, clock_, key);
  absl::StatusOr<UserManager::UserPage> first = keyed.ListUsers(root_, 1, "");
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token.empty());
  // Another replica with the same key continues; one without it refuses.
  UserManager replica(store_, clock_, key);
  EXPECT_TRUE(replica.ListUsers(root_, 1, first->next_page_token).ok());
  EXPECT_THAT(users_.ListUsers(root_, 1, first->next_page_token), IsFieldError("page_token"));
}

TEST_F(UserManagerTest, ListUsersDefaultPageSize) {
  absl::StatusOr<UserManager::UserPage> page = users_.ListUsers(root_, 0, "");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->users, SizeIs(4));
  EXPECT_EQ(page->next_page_token, "");
}

}  // namespace
}  // namespace tokens::service
