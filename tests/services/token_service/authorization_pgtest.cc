// Who may call what, over real gRPC against the real token-service binary
// and a real PostgreSQL: every RPC of TokenService, UserService and
// TokenSync, for callers USER, ADMIN and SERVICE, on their own and on
// another user's resources; and every way of not being authenticated. Every
// refusal comes from the row of AccessPolicy's table for its method
// (access_policy_test.cc checks that table cell by cell).
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "google/protobuf/descriptor.h"
#include "services/token_service/domain/access_policy.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/user_change.h"

namespace tokens::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr grpc::StatusCode kOk = grpc::StatusCode::OK;
constexpr grpc::StatusCode kDenied = grpc::StatusCode::PERMISSION_DENIED;
constexpr grpc::StatusCode kNotFound = grpc::StatusCode::NOT_FOUND;
constexpr grpc::StatusCode kUnauthenticated = grpc::StatusCode::UNAUTHENTICATED;

struct Stubs {
  v1::TokenService::Stub* tokens;
  v1::UserService::Stub* users;
  v1::TokenSync::Stub* sync;
};

// What a targeted RPC acts on: a user and three distinct ACTIVE tokens of
// theirs (revoking and rotating each consume one).
struct Target {
  std::string user_id;
  std::string get_id;
  std::string revoke_id;
  std::string rotate_id;
  std::vector<std::string> secrets;  // of the three tokens
};

using Invoker = std::function<grpc::Status(Stubs&, grpc::ClientContext*, const Target&)>;

// One row of the matrix: an RPC (with a request that is valid for an ADMIN)
// and the expected code per kind of caller.
struct Rpc {
  std::string name;
  // Whether the request names the target's user or tokens; untargeted RPCs
  // act on the caller and run only in the "own" column.
  bool targeted;
  Invoker call;
  grpc::StatusCode user_own;
  grpc::StatusCode user_other;  // only for targeted RPCs
  grpc::StatusCode admin;       // own and other alike
  grpc::StatusCode service;     // own and other alike
};

std::vector<Rpc> AllRpcs() {
  auto counter = std::make_shared<int>(0);
  const auto unique = [counter](const std::string& base) {
    return base + "-" + std::to_string(++*counter);
  };
  return {
      {"CreateToken(user_id=target)", true,
       [unique](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::CreateTokenRequest request;
         request.set_name(unique("matrix"));
         request.set_expires_on(DateFromToday(30));
         request.set_user_id(t.user_id);
         v1::CreateTokenResponse response;
         return s.tokens->CreateToken(ctx, request, &response);
       },
       kOk, kDenied, kOk, kDenied},
      {"CreateToken(self)", false,
       [unique](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::CreateTokenRequest request;
         request.set_name(unique("matrix"));
         request.set_expires_on(DateFromToday(30));
         v1::CreateTokenResponse response;
         return s.tokens->CreateToken(ctx, request, &response);
       },
       kOk, kOk, kOk, kDenied},
      {"ListTokens(user_id=target)", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::ListTokensRequest request;
         request.set_user_id(t.user_id);
         v1::ListTokensResponse response;
         return s.tokens->ListTokens(ctx, request, &response);
       },
       kOk, kDenied, kOk, kDenied},
      {"ListTokens(all_users)", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ListTokensRequest request;
         request.set_all_users(true);
         v1::ListTokensResponse response;
         return s.tokens->ListTokens(ctx, request, &response);
       },
       kDenied, kDenied, kOk, kDenied},
      {"ListTokens(self)", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ListTokensResponse response;
         return s.tokens->ListTokens(ctx, v1::ListTokensRequest(), &response);
       },
       kOk, kOk, kOk, kDenied},
      {"GetToken", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::GetTokenRequest request;
         request.set_id(t.get_id);
         v1::Token response;
         return s.tokens->GetToken(ctx, request, &response);
       },
       kOk, kNotFound, kOk, kDenied},
      {"RevokeToken", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::RevokeTokenRequest request;
         request.set_id(t.revoke_id);
         v1::Token response;
         return s.tokens->RevokeToken(ctx, request, &response);
       },
       kOk, kNotFound, kOk, kDenied},
      {"RotateToken", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::RotateTokenRequest request;
         request.set_id(t.rotate_id);
         v1::RotateTokenResponse response;
         return s.tokens->RotateToken(ctx, request, &response);
       },
       kOk, kNotFound, kOk, kDenied},
      {"GetProfile", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::GetProfileResponse response;
         return s.tokens->GetProfile(ctx, v1::GetProfileRequest(), &response);
       },
       kOk, kOk, kOk, kOk},
      {"ListScopes", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ListScopesResponse response;
         return s.tokens->ListScopes(ctx, v1::ListScopesRequest(), &response);
       },
       kOk, kOk, kOk, kOk},
      {"ListTokenEvents(user_id=target)", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::ListTokenEventsRequest request;
         request.set_user_id(t.user_id);
         v1::ListTokenEventsResponse response;
         return s.tokens->ListTokenEvents(ctx, request, &response);
       },
       kOk, kDenied, kOk, kDenied},
      // A USER asking for another user's token's events gets an empty list
      // (checked in UsersSeeOnlyTheirOwnEvents), not an error.
      {"ListTokenEvents(token_id=target)", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::ListTokenEventsRequest request;
         request.set_token_id(t.get_id);
         v1::ListTokenEventsResponse response;
         return s.tokens->ListTokenEvents(ctx, request, &response);
       },
       kOk, kOk, kOk, kDenied},
      {"ListTokenEvents(self)", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ListTokenEventsResponse response;
         return s.tokens->ListTokenEvents(ctx, v1::ListTokenEventsRequest(), &response);
       },
       kOk, kOk, kOk, kDenied},
      {"CreateUser", false,
       [unique](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::CreateUserRequest request;
         request.set_user_id(unique("created-by-matrix"));
         request.set_role(v1::USER);
         v1::User response;
         return s.users->CreateUser(ctx, request, &response);
       },
       kDenied, kDenied, kOk, kDenied},
      {"ListUsers", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ListUsersResponse response;
         return s.users->ListUsers(ctx, v1::ListUsersRequest(), &response);
       },
       kDenied, kDenied, kOk, kDenied},
      {"UpdateUser(target)", true,
       [unique](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         v1::User response;
         return s.users->UpdateUser(ctx, UserChange(t.user_id).DisplayName(unique("Renamed")),
                                    &response);
       },
       kDenied, kDenied, kOk, kDenied},
      // A stream that delivers its first message counts as OK.
      {"SyncTokens", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         std::unique_ptr<grpc::ClientReader<v1::SyncTokensResponse>> reader =
             s.sync->SyncTokens(ctx, v1::SyncTokensRequest());
         v1::SyncTokensResponse first;
         const bool streaming = reader->Read(&first);
         if (streaming) ctx->TryCancel();
         while (reader->Read(&first)) {
         }
         const grpc::Status status = reader->Finish();
         return streaming ? grpc::Status::OK : status;
       },
       kDenied, kDenied, kDenied, kOk},
      {"LookupToken", true,
       [](Stubs& s, grpc::ClientContext* ctx, const Target& t) {
         const TokenHash hash = TokenCodec::Hash(t.secrets.empty() ? t.get_id : t.secrets[0]);
         v1::LookupTokenRequest request;
         request.set_token_hash(std::string(hash.begin(), hash.end()));
         v1::LookupTokenResponse response;
         return s.sync->LookupToken(ctx, request, &response);
       },
       kDenied, kDenied, kDenied, kOk},
      // An id no token has: the call is allowed and writes nothing.
      {"ReportUsage(unknown token)", false,
       [](Stubs& s, grpc::ClientContext* ctx, const Target&) {
         v1::ReportUsageRequest request;
         v1::TokenUsage* usage = request.add_usages();
         usage->set_token_id("00000000-0000-4000-8000-000000000000");
         usage->mutable_last_used_at()->set_seconds(1764351322);
         v1::ReportUsageResponse response;
         return s.sync->ReportUsage(ctx, request, &response);
       },
       kDenied, kDenied, kDenied, kOk},
  };
}

// The messages of the refusals in AccessPolicy's row for `rpc` (a name of
// the table above, the method's name up to any parenthesis).
std::vector<std::string> PolicyMessagesOf(const std::string& rpc) {
  const std::string method = rpc.substr(0, rpc.find('('));
  std::vector<std::string> messages;
  for (const service::PolicyRow& row : service::AccessPolicy::Table()) {
    if (row.name != method) continue;
    for (const auto* cells : {&row.user, &row.admin, &row.service}) {
      for (const service::Rule& rule : *cells) {
        if (rule.access != service::Access::kAllowed) messages.emplace_back(rule.message);
      }
    }
  }
  return messages;
}

// RPCs that never write, whoever calls them.
bool IsReadOnly(const std::string& rpc) {
  static const std::set<std::string> kReadOnly = {"GetProfile", "SyncTokens", "LookupToken",
                                                  "ReportUsage(unknown token)"};
  return kReadOnly.count(rpc) > 0 || rpc.rfind("List", 0) == 0;
}

// Every RPC method of the three services appears in the table.
TEST(RpcTableTest, CoversEveryMethod) {
  std::set<std::string> methods;
  const google::protobuf::FileDescriptor* tokens = v1::CreateTokenRequest::descriptor()->file();
  const google::protobuf::FileDescriptor* sync = v1::SyncTokensRequest::descriptor()->file();
  for (const auto& [file, name] :
       std::vector<std::pair<const google::protobuf::FileDescriptor*, const char*>>{
           {tokens, "TokenService"}, {tokens, "UserService"}, {sync, "TokenSync"}}) {
    const google::protobuf::ServiceDescriptor* service = file->FindServiceByName(name);
    ASSERT_NE(service, nullptr) << name;
    for (int i = 0; i < service->method_count(); ++i) methods.insert(service->method(i)->name());
  }
  std::set<std::string> covered;
  for (const Rpc& rpc : AllRpcs()) covered.insert(rpc.name.substr(0, rpc.name.find('(')));
  EXPECT_EQ(covered, methods);
}

class AuthorizationTest : public TokenServiceTest {
 protected:
  Stubs stubs() { return Stubs{tokens_.get(), users_.get(), sync_.get()}; }

  std::string WrittenState() { return DatabaseDigest(); }

  // Three fresh tokens of `user_id`, created by the admin.
  Target MakeTarget(const std::string& user_id) {
    Target target;
    target.user_id = user_id;
    std::string* ids[] = {&target.get_id, &target.revoke_id, &target.rotate_id};
    for (std::string* id : ids) {
      v1::CreateTokenRequest request;
      request.set_name("target " + std::to_string(++targets_made_));
      request.set_expires_on(DateFromToday(60));
      request.set_user_id(user_id);
      v1::CreateTokenResponse created;
      grpc::Status status = tokens_->CreateToken(As(admin_token_).get(), request, &created);
      EXPECT_TRUE(status.ok()) << status.error_message();
      *id = created.token().id();
      target.secrets.push_back(created.secret());
    }
    return target;
  }

  // The target's tokens are still ACTIVE, unrenamed, and their secrets work.
  void ExpectTargetUntouched(const Target& target) {
    for (const std::string& id : {target.get_id, target.revoke_id, target.rotate_id}) {
      v1::GetTokenRequest request;
      request.set_id(id);
      v1::Token token;
      grpc::Status status = tokens_->GetToken(As(admin_token_).get(), request, &token);
      ASSERT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(token.status(), v1::ACTIVE) << id;
      EXPECT_EQ(token.user_id(), target.user_id);
      EXPECT_FALSE(token.has_revoked_at());
    }
    for (const std::string& secret : target.secrets) {
      v1::GetProfileResponse profile;
      grpc::Status status =
          tokens_->GetProfile(As(secret).get(), v1::GetProfileRequest(), &profile);
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(profile.user_id(), target.user_id);
    }
  }

  // A context with the given `authorization` metadata, or none.
  static std::unique_ptr<grpc::ClientContext> WithAuthorization(
      const std::optional<std::string>& authorization) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (authorization.has_value()) ctx->AddMetadata("authorization", *authorization);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return ctx;
  }

  grpc::Status Get(const std::string& caller, const std::string& id, v1::Token* out = nullptr) {
    v1::GetTokenRequest request;
    request.set_id(id);
    v1::Token ignored;
    return tokens_->GetToken(As(caller).get(), request, out != nullptr ? out : &ignored);
  }

  v1::ListTokensResponse List(const std::string& caller, v1::ListTokensRequest request) {
    request.set_page_size(1000);
    v1::ListTokensResponse response;
    grpc::Status status = tokens_->ListTokens(As(caller).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::ListTokenEventsResponse Events(const std::string& caller,
                                     v1::ListTokenEventsRequest request) {
    request.set_page_size(1000);
    v1::ListTokenEventsResponse response;
    grpc::Status status = tokens_->ListTokenEvents(As(caller).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  int targets_made_ = 0;
};

TEST_F(AuthorizationTest, MatrixOfCallersRpcsAndResources) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);
  const std::string svc = NewUserWithToken("svc", v1::SERVICE);

  enum class Kind { kUser, kAdmin, kService };
  struct Caller {
    std::string user_id;
    std::string token;
    Kind kind;
    std::string other;  // whose resources are "another user's"
  };
  const std::vector<Caller> callers = {
      {"alice", alice, Kind::kUser, "bob"},
      {"bob", bob, Kind::kUser, "alice"},
      {"admin", admin_token_, Kind::kAdmin, "alice"},
      {"svc", svc, Kind::kService, "alice"},
  };
  const std::vector<Rpc> rpcs = AllRpcs();
  Stubs s = stubs();

  for (const Caller& caller : callers) {
    for (const bool own : {true, false}) {
      const std::string column = caller.user_id + (own ? " on own" : " on " + caller.other + "'s");
      SCOPED_TRACE(column);
      const Target target = MakeTarget(own ? caller.user_id : caller.other);
      const std::string before = WrittenState();
      bool may_write = false;
      for (const Rpc& rpc : rpcs) {
        if (!own && !rpc.targeted) continue;
        grpc::StatusCode expected;
        switch (caller.kind) {
          case Kind::kUser:
            expected = own ? rpc.user_own : rpc.user_other;
            break;
          case Kind::kAdmin:
            expected = rpc.admin;
            break;
          case Kind::kService:
            expected = rpc.service;
            break;
        }
        const grpc::Status status = rpc.call(s, As(caller.token).get(), target);
        EXPECT_EQ(status.error_code(), expected)
            << column << ": " << rpc.name << " -> " << status.error_message();
        EXPECT_THAT(ViolatedFields(status), IsEmpty()) << column << ": " << rpc.name;
        if (!status.ok()) {
          EXPECT_THAT(PolicyMessagesOf(rpc.name), Contains(status.error_message()))
              << column << ": " << rpc.name << " was not refused by its row of the policy";
        }
        if (status.ok() && !IsReadOnly(rpc.name)) may_write = true;
      }
      if (caller.kind == Kind::kService || (caller.kind == Kind::kUser && !own)) {
        // Every call was refused or read-only: nothing changed anywhere, and
        // the other user's tokens still work.
        EXPECT_FALSE(may_write);
        EXPECT_EQ(WrittenState(), before) << column << ": a refused call wrote something";
        ExpectTargetUntouched(target);
      } else {
        EXPECT_NE(WrittenState(), before) << column << ": the allowed calls wrote nothing";
      }
    }
  }

  // The SERVICE caller's profile says what it is.
  v1::GetProfileResponse profile;
  grpc::Status status = tokens_->GetProfile(As(svc).get(), v1::GetProfileRequest(), &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "svc");
  EXPECT_EQ(profile.role(), v1::SERVICE);
  status = tokens_->GetProfile(As(admin_token_).get(), v1::GetProfileRequest(), &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "admin");
  EXPECT_EQ(profile.role(), v1::ADMIN);
}

TEST_F(AuthorizationTest, UsersCannotSeeOrChangeOtherUsersTokens) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);
  const v1::CreateTokenResponse bobs = MustCreate(bob, "bob's deploy key");
  MustCreate(alice, "alice's key");
  const std::string before = WrittenState();

  // Another user's token looks exactly like one that does not exist.
  const std::string unknown = "00000000-0000-4000-8000-000000000000";
  const grpc::Status missing = Get(alice, unknown);
  ASSERT_EQ(missing.error_code(), kNotFound) << missing.error_message();
  const grpc::Status foreign = Get(alice, bobs.token().id());
  EXPECT_EQ(foreign.error_code(), kNotFound) << foreign.error_message();
  EXPECT_EQ(foreign.error_message(), missing.error_message());
  EXPECT_EQ(foreign.error_details(), missing.error_details());
  EXPECT_THAT(foreign.error_message(), Not(HasSubstr("bob")));

  v1::RevokeTokenRequest revoke;
  revoke.set_id(bobs.token().id());
  v1::Token token;
  grpc::Status status = tokens_->RevokeToken(As(alice).get(), revoke, &token);
  EXPECT_EQ(status.error_code(), kNotFound) << status.error_message();
  EXPECT_EQ(status.error_message(), missing.error_message());

  v1::RotateTokenRequest rotate;
  rotate.set_id(bobs.token().id());
  v1::RotateTokenResponse rotated;
  status = tokens_->RotateToken(As(alice).get(), rotate, &rotated);
  EXPECT_EQ(status.error_code(), kNotFound) << status.error_message();
  EXPECT_EQ(status.error_message(), missing.error_message());
  EXPECT_TRUE(rotated.secret().empty());

  v1::CreateTokenRequest create;
  create.set_name("planted for bob");
  create.set_expires_on(DateFromToday(30));
  create.set_user_id("bob");
  v1::CreateTokenResponse created;
  status = tokens_->CreateToken(As(alice).get(), create, &created);
  EXPECT_EQ(status.error_code(), kDenied) << status.error_message();
  EXPECT_TRUE(created.secret().empty());

  v1::ListTokensRequest list_bob;
  list_bob.set_user_id("bob");
  v1::ListTokensResponse listed;
  status = tokens_->ListTokens(As(alice).get(), list_bob, &listed);
  EXPECT_EQ(status.error_code(), kDenied) << status.error_message();
  EXPECT_EQ(listed.tokens_size(), 0);
  v1::ListTokensRequest list_all;
  list_all.set_all_users(true);
  status = tokens_->ListTokens(As(alice).get(), list_all, &listed);
  EXPECT_EQ(status.error_code(), kDenied) << status.error_message();
  EXPECT_EQ(listed.tokens_size(), 0);

  // Nothing changed: bob's token is still ACTIVE and still works; bob has no
  // planted token.
  EXPECT_EQ(WrittenState(), before);
  ASSERT_TRUE(Get(bob, bobs.token().id(), &token).ok());
  EXPECT_EQ(token.status(), v1::ACTIVE);
  EXPECT_EQ(token.name(), "bob's deploy key");
  v1::GetProfileResponse profile;
  status = tokens_->GetProfile(As(bobs.secret()).get(), v1::GetProfileRequest(), &profile);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "bob");

  // Each user's default list holds only their own tokens, even with filters
  // that would match the other's.
  for (const auto& [caller, owner] : {std::pair<std::string, std::string>{alice, "alice"},
                                      std::pair<std::string, std::string>{bob, "bob"}}) {
    v1::ListTokensRequest request;
    const v1::ListTokensResponse mine = List(caller, request);
    EXPECT_EQ(mine.tokens_size(), 2) << owner;
    for (const v1::Token& t : mine.tokens()) EXPECT_EQ(t.user_id(), owner);
    request.set_name_contains("key");
    const v1::ListTokensResponse filtered = List(caller, request);
    ASSERT_EQ(filtered.tokens_size(), 1) << owner;
    EXPECT_EQ(filtered.tokens(0).user_id(), owner);
    // Own user_id is the same as the default.
    request.Clear();
    request.set_user_id(owner);
    EXPECT_EQ(List(caller, request).tokens_size(), 2) << owner;
  }
}

TEST_F(AuthorizationTest, UsersSeeOnlyTheirOwnEvents) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);

  // Activity on both sides: created, rotated, revoked; plus account changes.
  const v1::CreateTokenResponse alices = MustCreate(alice, "alice one");
  const v1::CreateTokenResponse bobs = MustCreate(bob, "bob one");
  const v1::CreateTokenResponse bobs_second = MustCreate(bob, "bob two");
  v1::RotateTokenRequest rotate;
  rotate.set_id(bobs.token().id());
  v1::RotateTokenResponse rotated;
  ASSERT_TRUE(tokens_->RotateToken(As(bob).get(), rotate, &rotated).ok());
  v1::RevokeTokenRequest revoke;
  revoke.set_id(bobs_second.token().id());
  v1::Token revoked;
  ASSERT_TRUE(tokens_->RevokeToken(As(admin_token_).get(), revoke, &revoked).ok());
  rotate.set_id(alices.token().id());
  v1::RotateTokenResponse alice_rotated;
  ASSERT_TRUE(tokens_->RotateToken(As(alice).get(), rotate, &alice_rotated).ok());
  v1::User user;
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("bob").DisplayName("Robert"), &user)
          .ok());

  const std::set<std::string> bob_token_ids = {bobs.token().id(), bobs_second.token().id(),
                                               rotated.token().id()};

  // Alice: only events about alice, none mentioning bob's tokens.
  for (const v1::ListTokenEventsRequest& request : [&] {
         std::vector<v1::ListTokenEventsRequest> requests(2);
         requests[1].set_user_id("alice");
         return requests;
       }()) {
    const v1::ListTokenEventsResponse events = Events(alice, request);
    std::set<v1::TokenEvent::Kind> kinds;
    for (const v1::TokenEvent& e : events.events()) {
      EXPECT_EQ(e.subject_user_id(), "alice") << e.DebugString();
      EXPECT_EQ(bob_token_ids.count(e.token_id()), 0u) << e.DebugString();
      EXPECT_EQ(bob_token_ids.count(e.previous_token_id()), 0u) << e.DebugString();
      EXPECT_THAT(e.token_name(), Not(HasSubstr("bob"))) << e.DebugString();
      kinds.insert(e.kind());
    }
    EXPECT_EQ(kinds, (std::set<v1::TokenEvent::Kind>{v1::TokenEvent::USER_CREATED,
                                                     v1::TokenEvent::TOKEN_CREATED,
                                                     v1::TokenEvent::TOKEN_ROTATED}));
  }

  // Asking for bob's token's events directly yields nothing; asking for bob's
  // events is refused.
  for (const std::string& id : bob_token_ids) {
    v1::ListTokenEventsRequest request;
    request.set_token_id(id);
    EXPECT_EQ(Events(alice, request).events_size(), 0) << id;
    EXPECT_GT(Events(bob, request).events_size(), 0) << id;
  }
  v1::ListTokenEventsRequest about_bob;
  about_bob.set_user_id("bob");
  v1::ListTokenEventsResponse refused;
  grpc::Status status = tokens_->ListTokenEvents(As(alice).get(), about_bob, &refused);
  EXPECT_EQ(status.error_code(), kDenied) << status.error_message();
  EXPECT_EQ(refused.events_size(), 0);

  // Bob sees his own, including what the admin did to him.
  const v1::ListTokenEventsResponse bobs_events = Events(bob, v1::ListTokenEventsRequest());
  std::set<v1::TokenEvent::Kind> bob_kinds;
  for (const v1::TokenEvent& e : bobs_events.events()) {
    EXPECT_EQ(e.subject_user_id(), "bob") << e.DebugString();
    bob_kinds.insert(e.kind());
  }
  EXPECT_EQ(bob_kinds, (std::set<v1::TokenEvent::Kind>{
                           v1::TokenEvent::USER_CREATED, v1::TokenEvent::TOKEN_CREATED,
                           v1::TokenEvent::TOKEN_ROTATED, v1::TokenEvent::TOKEN_REVOKED,
                           v1::TokenEvent::USER_UPDATED}));

  // The admin sees everyone's; one user's on request.
  std::set<std::string> subjects;
  const v1::ListTokenEventsResponse everything = Events(admin_token_, v1::ListTokenEventsRequest());
  for (const v1::TokenEvent& e : everything.events()) {
    subjects.insert(e.subject_user_id());
  }
  EXPECT_EQ(subjects, (std::set<std::string>{"admin", "alice", "bob"}));
  const v1::ListTokenEventsResponse admin_about_bob = Events(admin_token_, about_bob);
  EXPECT_EQ(admin_about_bob.events_size(), bobs_events.events_size());
  for (const v1::TokenEvent& e : admin_about_bob.events()) EXPECT_EQ(e.subject_user_id(), "bob");
}

TEST_F(AuthorizationTest, AdminManagesEveryonesTokensAndUsers) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);
  const v1::CreateTokenResponse alices = MustCreate(alice, "alice's key");
  MustCreate(bob, "bob's key");

  // Get alice's token.
  v1::Token token;
  grpc::Status status = Get(admin_token_, alices.token().id(), &token);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(token.user_id(), "alice");
  EXPECT_EQ(token.name(), "alice's key");
  EXPECT_EQ(token.hint(), alices.token().hint());

  // Create a token for alice: it is hers and authenticates as her.
  v1::CreateTokenRequest create;
  create.set_name("issued by admin");
  create.set_expires_on(DateFromToday(30));
  create.set_user_id("alice");
  v1::CreateTokenResponse issued;
  status = tokens_->CreateToken(As(admin_token_).get(), create, &issued);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(issued.token().user_id(), "alice");
  v1::GetProfileResponse profile;
  status = tokens_->GetProfile(As(issued.secret()).get(), v1::GetProfileRequest(), &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "alice");
  EXPECT_EQ(profile.role(), v1::USER);
  ASSERT_TRUE(Get(alice, issued.token().id()).ok());
  // ...but not for a user that does not exist.
  create.set_user_id("nobody");
  status = tokens_->CreateToken(As(admin_token_).get(), create, &issued);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(ViolatedFields(status), ::testing::ElementsAre("user_id"));

  // Revoke alice's token: it stops working at once.
  v1::RevokeTokenRequest revoke;
  revoke.set_id(alices.token().id());
  status = tokens_->RevokeToken(As(admin_token_).get(), revoke, &token);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(token.status(), v1::REVOKED);
  status = tokens_->GetProfile(As(alices.secret()).get(), v1::GetProfileRequest(), &profile);
  EXPECT_EQ(status.error_code(), kUnauthenticated) << status.error_message();

  // Rotate alice's other token: the new one is alice's.
  v1::RotateTokenRequest rotate;
  rotate.set_id(issued.token().id());
  v1::RotateTokenResponse rotated;
  status = tokens_->RotateToken(As(admin_token_).get(), rotate, &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rotated.token().user_id(), "alice");
  EXPECT_EQ(rotated.token().name(), "issued by admin");

  // List all users' tokens, and one user's.
  v1::ListTokensRequest all;
  all.set_all_users(true);
  std::set<std::string> owners;
  const v1::ListTokensResponse all_tokens = List(admin_token_, all);
  for (const v1::Token& t : all_tokens.tokens()) owners.insert(t.user_id());
  EXPECT_EQ(owners, (std::set<std::string>{"admin", "alice", "bob"}));
  v1::ListTokensRequest one;
  one.set_user_id("alice");
  const v1::ListTokensResponse alice_tokens = List(admin_token_, one);
  EXPECT_EQ(alice_tokens.tokens_size(), 4);  // first, alice's key, issued, rotated
  for (const v1::Token& t : alice_tokens.tokens()) EXPECT_EQ(t.user_id(), "alice");
  // The admin's own default list is the admin's own tokens: the bootstrap one.
  const v1::ListTokensResponse admins_own = List(admin_token_, v1::ListTokensRequest());
  ASSERT_EQ(admins_own.tokens_size(), 1);
  EXPECT_EQ(admins_own.tokens(0).user_id(), "admin");

  // The audit trail names the admin as actor and alice as subject.
  v1::ListTokenEventsRequest about_alice;
  about_alice.set_user_id("alice");
  int by_admin = 0;
  const v1::ListTokenEventsResponse alice_events = Events(admin_token_, about_alice);
  for (const v1::TokenEvent& e : alice_events.events()) {
    EXPECT_EQ(e.subject_user_id(), "alice");
    if (e.actor_user_id() == "admin") ++by_admin;
  }
  EXPECT_EQ(by_admin, 5);  // user created, 2 tokens created, revoked, rotated

  // Role changes take effect on the next call: bob promoted may administer,
  // demoted may not.
  v1::User user;
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("bob").Role(v1::ADMIN), &user).ok());
  v1::ListUsersResponse users;
  status = users_->ListUsers(As(bob).get(), v1::ListUsersRequest(), &users);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(users.users_size(), 3);
  ASSERT_TRUE(Get(bob, issued.token().id()).ok());
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("bob").Role(v1::USER), &user).ok());
  status = users_->ListUsers(As(bob).get(), v1::ListUsersRequest(), &users);
  EXPECT_EQ(status.error_code(), kDenied) << status.error_message();
  EXPECT_EQ(Get(bob, rotated.token().id()).error_code(), kNotFound);

  // An admin may not lock themselves out.
  const std::string before = WrittenState();
  status = users_->UpdateUser(As(admin_token_).get(), UserChange("admin").Disabled(true), &user);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  status = users_->UpdateUser(As(admin_token_).get(), UserChange("admin").Role(v1::USER), &user);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(WrittenState(), before);
  status = users_->ListUsers(As(admin_token_).get(), v1::ListUsersRequest(), &users);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(AuthorizationTest, UnauthenticatedCallsAreRejectedEverywhere) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string carol = NewUserWithToken("carol", v1::USER);

  // A valid token with one character changed: the checksum no longer fits.
  std::string malformed = alice;
  malformed[4] = malformed[4] == 'A' ? 'B' : 'A';
  const TokenCodec codec;
  ASSERT_EQ(codec.Validate(malformed), TokenFormatError::kBadChecksum);
  // Well-formed, but never issued.
  SystemRandom random;
  const std::string unknown = codec.Generate(random);
  ASSERT_EQ(codec.Validate(unknown), TokenFormatError::kOk);

  // Revoked by its owner.
  const v1::CreateTokenResponse to_revoke = MustCreate(alice, "to revoke");
  v1::RevokeTokenRequest revoke;
  revoke.set_id(to_revoke.token().id());
  v1::Token token;
  ASSERT_TRUE(tokens_->RevokeToken(As(alice).get(), revoke, &token).ok());

  // Expired: time passes until its expiry date is today (UTC).
  const v1::CreateTokenResponse to_expire = MustCreate(alice, "to expire");
  ASSERT_EQ(Sql("UPDATE tokens SET expires_on = (now() AT TIME ZONE 'UTC')::date WHERE id = '" +
                to_expire.token().id() + "' RETURNING id"),
            std::vector<std::string>{to_expire.token().id()});
  ASSERT_TRUE(Get(alice, to_expire.token().id(), &token).ok());
  EXPECT_EQ(token.status(), v1::EXPIRED);

  // A disabled user's token.
  v1::User user;
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("carol").Disabled(true), &user).ok());

  struct Presentation {
    std::string label;
    std::optional<std::string> authorization;  // nullopt: no metadata at all
    std::string reason;
    std::string secret;  // must never be echoed
  };
  const std::vector<Presentation> presentations = {
      {"no metadata", std::nullopt, "missing bearer token", ""},
      {"empty header", "", "", ""},
      {"Basic scheme", "Basic abc", "malformed token", "abc"},
      {"Basic with a valid token", "Basic " + alice, "malformed token", alice},
      {"bare token without scheme", alice, "malformed token", alice},
      {"Bearer without token", "Bearer ", "", ""},
      {"Bearer + malformed", "Bearer " + malformed, "malformed token", malformed},
      {"Bearer + two tokens", "Bearer " + alice + " " + alice, "malformed token", alice},
      {"Bearer + unknown", "Bearer " + unknown, "unknown token", unknown},
      {"Bearer + revoked", "Bearer " + to_revoke.secret(), "token revoked", to_revoke.secret()},
      {"Bearer + expired", "Bearer " + to_expire.secret(), "token expired", to_expire.secret()},
      {"Bearer + disabled user", "Bearer " + carol, "user disabled", carol},
  };

  const Target target{
      "alice", to_revoke.token().id(), to_expire.token().id(), to_expire.token().id(), {}};
  const std::vector<Rpc> rpcs = AllRpcs();
  Stubs s = stubs();
  const std::string before = WrittenState();
  for (const Presentation& p : presentations) {
    SCOPED_TRACE(p.label);
    for (const Rpc& rpc : rpcs) {
      const grpc::Status status = rpc.call(s, WithAuthorization(p.authorization).get(), target);
      EXPECT_EQ(status.error_code(), kUnauthenticated)
          << rpc.name << ": " << status.error_message();
      EXPECT_THAT(status.error_message(), HasSubstr(p.reason)) << rpc.name;
      EXPECT_THAT(ViolatedFields(status), IsEmpty()) << rpc.name;
      if (!p.secret.empty()) {
        EXPECT_THAT(status.error_message(), Not(HasSubstr(p.secret))) << rpc.name;
        EXPECT_THAT(status.error_details(), Not(HasSubstr(p.secret))) << rpc.name;
        // Not even the random part without the prefix.
        if (p.secret.size() > 8) {
          EXPECT_THAT(status.error_message(), Not(HasSubstr(p.secret.substr(4, 12)))) << rpc.name;
        }
      }
    }
  }
  EXPECT_EQ(WrittenState(), before) << "an unauthenticated call wrote something";

  // No presented token reached the server's log either.
  const std::string log = service_->process().Stderr();
  for (const std::string& secret :
       {alice, malformed, unknown, to_revoke.secret(), to_expire.secret(), carol}) {
    EXPECT_THAT(log, Not(HasSubstr(secret)));
    EXPECT_THAT(log, Not(HasSubstr(secret.substr(4, 12))));
  }

  // Re-enabled, carol's token works again; the others stay refused.
  ASSERT_TRUE(
      users_->UpdateUser(As(admin_token_).get(), UserChange("carol").Disabled(false), &user).ok());
  v1::GetProfileResponse profile;
  grpc::Status status = tokens_->GetProfile(As(carol).get(), v1::GetProfileRequest(), &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "carol");
  v1::ListTokensResponse listed;
  status = tokens_->ListTokens(As(carol).get(), v1::ListTokensRequest(), &listed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(listed.tokens_size(), 1);
  for (const std::string& refused : {to_revoke.secret(), to_expire.secret()}) {
    status = tokens_->GetProfile(As(refused).get(), v1::GetProfileRequest(), &profile);
    EXPECT_EQ(status.error_code(), kUnauthenticated) << status.error_message();
  }
  // The scheme name is case-insensitive.
  status = tokens_->GetProfile(WithAuthorization("bearer " + alice).get(), v1::GetProfileRequest(),
                               &profile);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace tokens::testing
