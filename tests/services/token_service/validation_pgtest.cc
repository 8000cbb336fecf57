// Every input rule of the management API (the proto comments), checked over
// real gRPC against the real token-service binary and a real PostgreSQL: each
// bad request is INVALID_ARGUMENT with a google.rpc.BadRequest naming exactly
// the offending field, and writes nothing at all (no partial write).
#include <cctype>
#include <functional>
#include <string>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/user_change.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

class ValidationTest : public TokenServiceTest {
 protected:
  // Everything a request could have written, seen two ways: SQL (row counts
  // and a digest of every row of every table) and the API (admin's view of
  // all tokens, events and users).
  std::string WrittenState() {
    std::string state = DatabaseDigest();

    v1::ListTokensRequest list_tokens;
    list_tokens.set_all_users(true);
    list_tokens.set_page_size(1000);
    v1::ListTokensResponse tokens;
    grpc::Status status = tokens_->ListTokens(As(admin_token_).get(), list_tokens, &tokens);
    EXPECT_TRUE(status.ok()) << status.error_message();

    v1::ListTokenEventsRequest list_events;
    list_events.set_page_size(1000);
    v1::ListTokenEventsResponse events;
    status = tokens_->ListTokenEvents(As(admin_token_).get(), list_events, &events);
    EXPECT_TRUE(status.ok()) << status.error_message();

    v1::ListUsersRequest list_users;
    list_users.set_page_size(1000);
    v1::ListUsersResponse users;
    status = users_->ListUsers(As(admin_token_).get(), list_users, &users);
    EXPECT_TRUE(status.ok()) << status.error_message();

    return state + " api_tokens=" + std::to_string(tokens.tokens_size()) +
           " api_events=" + std::to_string(events.events_size()) +
           " api_users=" + std::to_string(users.users_size());
  }

  grpc::Status Create(const std::string& caller, const std::string& name,
                      const std::string& expires_on, v1::CreateTokenResponse* out = nullptr) {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(expires_on);
    v1::CreateTokenResponse ignored;
    return tokens_->CreateToken(As(caller).get(), request, out != nullptr ? out : &ignored);
  }

  // Expects INVALID_ARGUMENT naming exactly `field`, and no write.
  void ExpectRejected(const grpc::Status& status, const std::string& field,
                      const std::string& state_before,
                      grpc::StatusCode code = grpc::StatusCode::INVALID_ARGUMENT) {
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    EXPECT_THAT(ViolatedFields(status), ElementsAre(field)) << status.error_message();
    EXPECT_EQ(WrittenState(), state_before) << "a rejected request wrote something";
  }
};

TEST_F(ValidationTest, CreateTokenRejectsInvalidNames) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string before = WrittenState();

  struct Case {
    std::string label;
    std::string name;
  };
  const std::vector<Case> cases = {
      {"empty", ""},
      {"whitespace only", "   \t  "},
      {"newline only", "\n"},
      {"101 characters", std::string(101, 'a')},
      {"101 two-byte characters", Repeat("\xC3\xA9", 101)},
      {"101 characters after trimming", "  " + std::string(101, 'x') + "  "},
      {"newline inside", "line\nbreak"},
      {"tab inside", "tab\there"},
      {"DEL inside", "del\x7f-char"},
      {"NUL inside", std::string("nul\0byte", 8)},
      {"C0 control", "bell\x07"},
      {"C1 control U+0085", "next\xC2\x85line"},
      {"line separator U+2028", "line\xE2\x80\xA8sep"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    ExpectRejected(Create(alice, c.name, DateFromToday(30)), "name", before);
  }
}

TEST_F(ValidationTest, CreateTokenRejectsInvalidUtf8Names) {
  // proto3 `string` fields must hold valid UTF-8. The C++ client only logs
  // an error and sends such a name anyway; token-service parses the request
  // itself (ParseRequest) and names the field, so the console can show the
  // message under it. Nothing is written, and the server keeps serving.
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string before = WrittenState();
  const std::vector<std::string> names = {
      "\xFF\xFE",             // not UTF-8 at all
      "trunc\xC3",            // truncated sequence
      "over\xC0\xAFlong",     // overlong '/'
      "sur\xED\xA0\x80",      // UTF-16 surrogate
      "big\xF4\x90\x80\x80",  // above U+10FFFF
  };
  for (const std::string& name : names) {
    SCOPED_TRACE(::testing::PrintToString(name));
    ExpectRejected(Create(alice, name, DateFromToday(30)), "name", before);
  }
  EXPECT_TRUE(Create(alice, "valid after invalid", DateFromToday(30)).ok());
}

TEST_F(ValidationTest, CreateTokenNamesRoundTripExactly) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::vector<std::string> names = {
      std::string(100, 'a'),                               // the maximum
      Repeat("\xC3\xA9", 100),                             // 100 x "é": 200 bytes, 100 characters
      Repeat("\xF0\x9F\x94\x91", 100),                     // 100 x U+1F511 (key emoji)
      "'); DROP TABLE tokens; --",                         // SQL
      "Robert'); DELETE FROM users; -- \\ % _ \"",         // SQL, LIKE wildcards, quotes
      "CI key \xF0\x9F\x9A\x80 deploy",                    // emoji
      "\xD9\x85\xD9\x81\xD8\xAA\xD8\xA7\xD8\xAD API",      // RTL: Arabic "key" then Latin
      "\xD7\xA9\xD7\x9C\xD7\x95\xD7\x9D",                  // RTL: Hebrew
      "\xE6\xB5\x8B\xE8\xAF\x95\xE4\xBB\xA4\xE7\x89\x8C",  // CJK
  };
  std::vector<std::string> ids;
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    v1::CreateTokenResponse created;
    grpc::Status status = Create(alice, name, DateFromToday(30), &created);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(created.token().name(), name);
    ids.push_back(created.token().id());

    v1::GetTokenRequest get;
    get.set_id(created.token().id());
    v1::Token got;
    status = tokens_->GetToken(As(alice).get(), get, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got.name(), name);
    EXPECT_EQ(Sql("SELECT name FROM tokens WHERE id = '" + got.id() + "'"),
              std::vector<std::string>{name});
  }

  // Surrounding whitespace is trimmed, and counts toward nothing.
  v1::CreateTokenResponse trimmed;
  grpc::Status status = Create(alice, " \t padded name \n ", DateFromToday(30), &trimmed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trimmed.token().name(), "padded name");
  status = Create(alice, "   " + std::string(99, 'b') + "c   ", DateFromToday(30), &trimmed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(trimmed.token().name(), std::string(99, 'b') + "c");

  // The SQL-looking name did nothing to the schema, and the list shows every
  // name exactly (newest first: reverse creation order, after the two
  // trimmed ones).
  EXPECT_EQ(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice'"),
            std::vector<std::string>{std::to_string(names.size() + 3)});
  v1::ListTokensResponse listed;
  v1::ListTokensRequest list;
  list.set_page_size(100);
  status = tokens_->ListTokens(As(alice).get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(listed.tokens_size(), static_cast<int>(names.size()) + 3);
  for (size_t i = 0; i < names.size(); ++i) {
    const v1::Token& token = listed.tokens(static_cast<int>(names.size() - 1 - i) + 2);
    EXPECT_EQ(token.id(), ids[i]);
    EXPECT_EQ(token.name(), names[i]);
  }

  // name_contains with SQL/LIKE metacharacters finds exactly the literal.
  list.set_name_contains("'); DROP");
  status = tokens_->ListTokens(As(alice).get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(listed.tokens_size(), 1);
  EXPECT_EQ(listed.tokens(0).name(), names[3]);
  list.set_name_contains("% _");
  status = tokens_->ListTokens(As(alice).get(), list, &listed);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(listed.tokens_size(), 1);
  EXPECT_EQ(listed.tokens(0).name(), names[4]);
}

TEST_F(ValidationTest, CreateTokenRejectsDuplicateActiveNames) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);

  v1::CreateTokenResponse first;
  grpc::Status status = Create(alice, "deploy", DateFromToday(30), &first);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // Same user, same name (also after trimming, also with another expiry).
  std::string before = WrittenState();
  ExpectRejected(Create(alice, "deploy", DateFromToday(30)), "name", before);
  ExpectRejected(Create(alice, "  deploy ", DateFromToday(90)), "name", before);
  // An admin creating it for alice hits the same rule.
  v1::CreateTokenRequest for_alice;
  for_alice.set_name("deploy");
  for_alice.set_expires_on(DateFromToday(30));
  for_alice.set_user_id("alice");
  v1::CreateTokenResponse ignored;
  ExpectRejected(tokens_->CreateToken(As(admin_token_).get(), for_alice, &ignored), "name", before);

  // Another user may use the same name.
  status = Create(bob, "deploy", DateFromToday(30));
  EXPECT_TRUE(status.ok()) << status.error_message();

  // After revoking, the name is free again; the revoked one stays listed.
  v1::RevokeTokenRequest revoke;
  revoke.set_id(first.token().id());
  v1::Token revoked;
  status = tokens_->RevokeToken(As(alice).get(), revoke, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::CreateTokenResponse again;
  status = Create(alice, "deploy", DateFromToday(30), &again);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_NE(again.token().id(), first.token().id());
  // ...and taken again by the new one.
  before = WrittenState();
  ExpectRejected(Create(alice, "deploy", DateFromToday(30)), "name", before);
  EXPECT_EQ(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice' AND name = 'deploy'"),
            std::vector<std::string>{"2"});
}

TEST_F(ValidationTest, CreateTokenRejectsInvalidExpiry) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string before = WrittenState();

  struct Case {
    std::string expires_on;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"2026-4-1", "YYYY-MM-DD"},
      {"2026-02-30", "not a calendar date"},
      {"2027-02-29", "not a calendar date"},
      {"2026-13-01", "not a calendar date"},
      {"tomorrow", "YYYY-MM-DD"},
      {"", "required"},
      {DateFromToday(1) + " ", "YYYY-MM-DD"},
      {DateFromToday(1) + "T00:00:00Z", "YYYY-MM-DD"},
      {DateFromToday(0), "expiry date must be after " + DateFromToday(0)},
      {DateFromToday(-1), "expiry date must be after " + DateFromToday(0)},
      {"1999-01-01", "expiry date must be after " + DateFromToday(0)},
      {DateFromToday(366), "at most 365 days"},
      {"9999-12-31", "at most 365 days"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("expires_on=\"" + c.expires_on + "\"");
    const grpc::Status status = Create(alice, "expiry test", c.expires_on);
    ExpectRejected(status, "expires_on", before);
    EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  }

  // The boundaries that are allowed.
  v1::CreateTokenResponse created;
  grpc::Status status = Create(alice, "max lifetime", DateFromToday(365), &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.token().expires_on(), DateFromToday(365));
  status = Create(alice, "shortest", DateFromToday(1), &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.token().expires_on(), DateFromToday(1));
  EXPECT_EQ(created.token().status(), v1::ACTIVE);
}

TEST_F(ValidationTest, MaxTokenLifetimeFlagIsEnforced) {
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> short_lived =
      TokenServiceProcess::Start(database_url_, {"--max_token_lifetime_days", "30"});
  ASSERT_TRUE(short_lived.ok()) << short_lived.status();
  std::unique_ptr<v1::TokenService::Stub> stub =
      v1::TokenService::NewStub((*short_lived)->NewChannel());
  const std::string before = WrittenState();

  v1::CreateTokenRequest request;
  request.set_name("too far");
  request.set_expires_on(DateFromToday(31));
  v1::CreateTokenResponse created;
  grpc::Status status = stub->CreateToken(As(admin_token_).get(), request, &created);
  ExpectRejected(status, "expires_on", before);
  EXPECT_THAT(status.error_message(), HasSubstr("at most 30 days"));
  EXPECT_THAT(status.error_message(), HasSubstr(DateFromToday(30)));

  request.set_name("just right");
  request.set_expires_on(DateFromToday(30));
  status = stub->CreateToken(As(admin_token_).get(), request, &created);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(created.token().expires_on(), DateFromToday(30));

  // The default server on the same database still allows 365 days.
  request.set_name("default server");
  request.set_expires_on(DateFromToday(365));
  status = tokens_->CreateToken(As(admin_token_).get(), request, &created);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ValidationTest, ListRequestsRejectInvalidArguments) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  MustCreate(alice, "second");
  MustCreate(alice, "third");
  const std::string before = WrittenState();

  const auto list_tokens = [&](const v1::ListTokensRequest& request,
                               v1::ListTokensResponse* response = nullptr) {
    v1::ListTokensResponse ignored;
    return tokens_->ListTokens(As(alice).get(), request, response != nullptr ? response : &ignored);
  };

  {
    SCOPED_TRACE("page_size -1");
    v1::ListTokensRequest request;
    request.set_page_size(-1);
    ExpectRejected(list_tokens(request), "page_size", before);
  }
  for (const std::string& garbage : std::vector<std::string>{
           "garbage", "!!!not base64!!!", "dG9rZW5zfDB8MXwy", std::string(2000, 'A')}) {
    SCOPED_TRACE("page_token " + garbage.substr(0, 40));
    v1::ListTokensRequest request;
    request.set_page_token(garbage);
    ExpectRejected(list_tokens(request), "page_token", before);
  }
  {
    SCOPED_TRACE("page_token reused with other filters");
    v1::ListTokensRequest first_page;
    first_page.set_page_size(1);
    v1::ListTokensResponse page;
    grpc::Status status = list_tokens(first_page, &page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_EQ(page.tokens_size(), 1);
    ASSERT_FALSE(page.next_page_token().empty());

    v1::ListTokensRequest same = first_page;
    same.set_page_token(page.next_page_token());
    status = list_tokens(same);
    EXPECT_TRUE(status.ok()) << status.error_message();

    v1::ListTokensRequest other_name = same;
    other_name.set_name_contains("sec");
    ExpectRejected(list_tokens(other_name), "page_token", before);
    v1::ListTokensRequest other_status = same;
    other_status.set_status(v1::ACTIVE);
    ExpectRejected(list_tokens(other_status), "page_token", before);
    v1::ListTokensRequest other_expiry = same;
    other_expiry.set_expires_before(DateFromToday(100));
    ExpectRejected(list_tokens(other_expiry), "page_token", before);

    // A page token of another list is not one of this list.
    v1::ListUsersRequest users_request;
    users_request.set_page_size(1);
    v1::ListUsersResponse users_page;
    status = users_->ListUsers(As(admin_token_).get(), users_request, &users_page);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_FALSE(users_page.next_page_token().empty());
    v1::ListTokensRequest foreign;
    foreign.set_page_token(users_page.next_page_token());
    ExpectRejected(list_tokens(foreign), "page_token", before);
  }
  for (const std::string& bad_date :
       std::vector<std::string>{"2026-13-01", "2026-02-30", "soon", "2026/01/01"}) {
    SCOPED_TRACE("expires_before " + bad_date);
    v1::ListTokensRequest request;
    request.set_expires_before(bad_date);
    ExpectRejected(list_tokens(request), "expires_before", before);
  }
  {
    SCOPED_TRACE("status 42");
    v1::ListTokensRequest request;
    request.set_status(static_cast<v1::TokenStatus>(42));
    ExpectRejected(list_tokens(request), "status", before);
  }
  {
    SCOPED_TRACE("user_id with all_users");
    v1::ListTokensRequest request;
    request.set_all_users(true);
    request.set_user_id("alice");
    v1::ListTokensResponse ignored;
    ExpectRejected(tokens_->ListTokens(As(admin_token_).get(), request, &ignored), "user_id",
                   before);
  }

  // The events and users lists follow the same rules.
  {
    SCOPED_TRACE("ListTokenEvents page_size -1");
    v1::ListTokenEventsRequest request;
    request.set_page_size(-1);
    v1::ListTokenEventsResponse ignored;
    ExpectRejected(tokens_->ListTokenEvents(As(alice).get(), request, &ignored), "page_size",
                   before);
  }
  {
    SCOPED_TRACE("ListTokenEvents garbage page_token");
    v1::ListTokenEventsRequest request;
    request.set_page_token("garbage");
    v1::ListTokenEventsResponse ignored;
    ExpectRejected(tokens_->ListTokenEvents(As(alice).get(), request, &ignored), "page_token",
                   before);
  }
  {
    SCOPED_TRACE("ListTokenEvents token_id not a uuid");
    v1::ListTokenEventsRequest request;
    request.set_token_id("not-a-uuid");
    v1::ListTokenEventsResponse ignored;
    ExpectRejected(tokens_->ListTokenEvents(As(alice).get(), request, &ignored), "token_id",
                   before);
  }
  {
    SCOPED_TRACE("ListUsers page_size -1");
    v1::ListUsersRequest request;
    request.set_page_size(-1);
    v1::ListUsersResponse ignored;
    ExpectRejected(users_->ListUsers(As(admin_token_).get(), request, &ignored), "page_size",
                   before);
  }
  {
    SCOPED_TRACE("ListUsers garbage page_token");
    v1::ListUsersRequest request;
    request.set_page_token("garbage");
    v1::ListUsersResponse ignored;
    ExpectRejected(users_->ListUsers(As(admin_token_).get(), request, &ignored), "page_token",
                   before);
  }

  // Page sizes above the maximum are clamped, not rejected.
  v1::ListTokensRequest huge;
  huge.set_page_size(1000000);
  v1::ListTokensResponse all;
  grpc::Status status = list_tokens(huge, &all);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(all.tokens_size(), 3);
  EXPECT_THAT(all.next_page_token(), IsEmpty());
}

TEST_F(ValidationTest, TokenIdsAreValidated) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse mine = MustCreate(alice, "mine");
  const std::string before = WrittenState();

  std::string upper = mine.token().id();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> bad_ids = {
      "", "not-a-uuid", mine.token().id() + "0", " " + mine.token().id(), "' OR '1'='1",
  };
  for (const std::string& id : bad_ids) {
    SCOPED_TRACE("id=\"" + id + "\"");
    v1::GetTokenRequest get;
    get.set_id(id);
    v1::Token token;
    ExpectRejected(tokens_->GetToken(As(alice).get(), get, &token), "id", before);

    v1::RevokeTokenRequest revoke;
    revoke.set_id(id);
    ExpectRejected(tokens_->RevokeToken(As(alice).get(), revoke, &token), "id", before);

    v1::RotateTokenRequest rotate;
    rotate.set_id(id);
    v1::RotateTokenResponse rotated;
    ExpectRejected(tokens_->RotateToken(As(alice).get(), rotate, &rotated), "id", before);
  }

  // A well-formed id that names no token is NOT_FOUND, not a field error.
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  v1::GetTokenRequest get;
  get.set_id(unknown);
  v1::Token token;
  grpc::Status status = tokens_->GetToken(As(alice).get(), get, &token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(ViolatedFields(status), IsEmpty());
  v1::RevokeTokenRequest revoke;
  revoke.set_id(unknown);
  status = tokens_->RevokeToken(As(alice).get(), revoke, &token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  v1::RotateTokenRequest rotate;
  rotate.set_id(unknown);
  v1::RotateTokenResponse rotated;
  status = tokens_->RotateToken(As(alice).get(), rotate, &rotated);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(WrittenState(), before);
}

TEST_F(ValidationTest, UserServiceRejectsInvalidArguments) {
  const std::string before = WrittenState();
  const auto create = [&](const std::string& user_id, const std::string& email,
                          v1::Role role = v1::USER, const std::string& display_name = "") {
    v1::CreateUserRequest request;
    request.set_user_id(user_id);
    request.set_email(email);
    request.set_role(role);
    request.set_display_name(display_name);
    v1::User user;
    return users_->CreateUser(As(admin_token_).get(), request, &user);
  };

  struct Case {
    std::string label;
    grpc::Status status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"user_id empty", create("", ""), "user_id"},
      {"user_id upper case and space", create("Has Upper", ""), "user_id"},
      {"user_id upper case", create("Alice", ""), "user_id"},
      {"user_id 65 chars", create(std::string(65, 'a'), ""), "user_id"},
      {"user_id starts with -", create("-lead", ""), "user_id"},
      {"user_id starts with .", create(".lead", ""), "user_id"},
      {"user_id with /", create("a/b", ""), "user_id"},
      {"user_id non-ASCII", create("j\xC3\xBCrgen", ""), "user_id"},
      {"email without @", create("carol", "nope"), "email"},
      {"email with space", create("carol", "carol @example.com"), "email"},
      {"email two @", create("carol", "a@b@example.com"), "email"},
      {"email 255 chars", create("carol", std::string(243, 'a') + "@example.com"), "email"},
      {"role 42", create("carol", "", static_cast<v1::Role>(42)), "role"},
      {"display_name control char", create("carol", "", v1::USER, "Carol\nX"), "display_name"},
      {"display_name 101 chars", create("carol", "", v1::USER, std::string(101, 'c')),
       "display_name"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    ExpectRejected(c.status, c.field, before);
  }

  // The boundaries that are allowed: 64 characters, every allowed character.
  grpc::Status status = create(std::string(64, 'z'), "");
  EXPECT_TRUE(status.ok()) << status.error_message();
  status = create("0a.b_c@d-e", "x@y", v1::SERVICE);
  EXPECT_TRUE(status.ok()) << status.error_message();

  // A duplicate user id: ALREADY_EXISTS on user_id, and the original is untouched.
  status = create("carol", "carol@example.com", v1::USER, "Carol");
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::string after_carol = WrittenState();
  ExpectRejected(create("carol", "other@example.com", v1::ADMIN, "Not Carol"), "user_id",
                 after_carol, grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(Sql("SELECT display_name || ' ' || email || ' ' || role FROM users "
                "WHERE user_id = 'carol'"),
            std::vector<std::string>{"Carol carol@example.com USER"});

  // UpdateUser: an unknown user is NOT_FOUND and writes nothing.
  v1::User user;
  status =
      users_->UpdateUser(As(admin_token_).get(), UserChange("nobody").DisplayName("Nobody"), &user);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(WrittenState(), after_carol);

  // UpdateUser field rules.
  // The fields of `user` are named as paths from the request: "user.email".
  const auto update = [&](const UserChange& change) {
    v1::User ignored;
    return users_->UpdateUser(As(admin_token_).get(), change, &ignored);
  };
  ExpectRejected(update(UserChange("carol").Email("nope")), "user.email", after_carol);
  ExpectRejected(update(UserChange("carol").Role(42)), "user.role", after_carol);
  ExpectRejected(update(UserChange("carol").Role(v1::ROLE_UNSPECIFIED)), "user.role", after_carol);
  ExpectRejected(update(UserChange("carol").DisplayName("  ")), "user.display_name", after_carol);
  // A bad field next to a good one: nothing of the good one is written.
  ExpectRejected(update(UserChange("carol").Disabled(true).Email("still nope")), "user.email",
                 after_carol);
  ExpectRejected(update(UserChange("Has Upper").DisplayName("x")), "user.user_id", after_carol);
  // The mask: required, and only the updatable fields.
  ExpectRejected(update(UserChange("carol")), "update_mask", after_carol);
  for (const char* path : {"user_id", "created_at", "*", "nickname", "displayName", ""}) {
    ExpectRejected(update(UserChange("carol").DisplayName("Carol").Mask(path)), "update_mask",
                   after_carol);
  }
  // A request of UpdateUser's old form (user_id in field 1, disabled in 5,
  // numbers now reserved) is refused for want of a mask, never misread.
  v1::UpdateUserRequest old_form;
  google::protobuf::UnknownFieldSet* old_fields =
      old_form.GetReflection()->MutableUnknownFields(&old_form);
  old_fields->AddLengthDelimited(1, "carol");
  old_fields->AddVarint(5, 1);
  ExpectRejected(users_->UpdateUser(As(admin_token_).get(), old_form, &user), "update_mask",
                 after_carol);
  // A field set on `user` but not named in the mask changes nothing.
  v1::UpdateUserRequest email_only = UserChange("carol").Email("carol@example.com");
  email_only.mutable_user()->set_disabled(true);
  v1::User carol;
  status = users_->UpdateUser(As(admin_token_).get(), email_only, &carol);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(carol.disabled());
  EXPECT_EQ(carol.email(), "carol@example.com");
}

}  // namespace
}  // namespace tokens::testing
