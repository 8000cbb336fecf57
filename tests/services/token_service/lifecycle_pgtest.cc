// Token lifecycle through the real token-service binary over gRPC on a real
// PostgreSQL: revoke, rotate, the audit trail, list filters and keyset
// pagination under concurrent inserts.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/user_change.h"

namespace tokens::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

// The sort key of ListTokens: (created_at, id), compared newest first.
using SortKey = std::tuple<int64_t, int32_t, std::string>;
SortKey KeyOf(const v1::Token& t) {
  return {t.created_at().seconds(), t.created_at().nanos(), t.id()};
}

bool SameTime(const google::protobuf::Timestamp& a, const google::protobuf::Timestamp& b) {
  return a.seconds() == b.seconds() && a.nanos() == b.nanos();
}

std::vector<std::string> NamesOf(const v1::ListTokensResponse& response) {
  std::vector<std::string> names;
  for (const v1::Token& t : response.tokens()) names.push_back(t.name());
  return names;
}

// SQL for the UTC date of today; the session time zone of a test connection
// is whatever the server defaults to.
constexpr char kUtcToday[] = "(now() AT TIME ZONE 'UTC')::date";

class LifecycleTest : public TokenServiceTest {
 protected:
  // Every event the caller may see with `request`'s filters, newest first,
  // walking all pages.
  std::vector<v1::TokenEvent> Events(const std::string& token,
                                     v1::ListTokenEventsRequest request = {}) {
    std::vector<v1::TokenEvent> events;
    request.set_page_size(100);
    for (int page = 0; page < 1000; ++page) {
      v1::ListTokenEventsResponse response;
      grpc::Status status = tokens_->ListTokenEvents(As(token).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      events.insert(events.end(), response.events().begin(), response.events().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    return events;
  }

  std::vector<v1::TokenEvent> EventsOfToken(const std::string& token_id) {
    v1::ListTokenEventsRequest request;
    request.set_token_id(token_id);
    return Events(admin_token_, request);
  }

  grpc::Status Revoke(const std::string& token, const std::string& id, v1::Token* out) {
    v1::RevokeTokenRequest request;
    request.set_id(id);
    return tokens_->RevokeToken(As(token).get(), request, out);
  }

  grpc::Status Rotate(const std::string& token, const std::string& id,
                      v1::RotateTokenResponse* out) {
    v1::RotateTokenRequest request;
    request.set_id(id);
    return tokens_->RotateToken(As(token).get(), request, out);
  }

  grpc::Status Get(const std::string& token, const std::string& id, v1::Token* out) {
    v1::GetTokenRequest request;
    request.set_id(id);
    return tokens_->GetToken(As(token).get(), request, out);
  }

  v1::ListTokensResponse MustList(const std::string& token, const v1::ListTokensRequest& request) {
    v1::ListTokensResponse response;
    grpc::Status status = tokens_->ListTokens(As(token).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Calls every RPC of both services with `token` and returns the statuses,
  // keyed by method name.
  std::map<std::string, grpc::Status> CallEveryRpc(const std::string& token,
                                                   const std::string& some_token_id) {
    std::map<std::string, grpc::Status> out;
    {
      v1::CreateTokenRequest r;
      r.set_name("never created");
      r.set_expires_on(DateFromToday(10));
      v1::CreateTokenResponse resp;
      out["CreateToken"] = tokens_->CreateToken(As(token).get(), r, &resp);
    }
    {
      v1::ListTokensResponse resp;
      out["ListTokens"] = tokens_->ListTokens(As(token).get(), v1::ListTokensRequest(), &resp);
    }
    {
      v1::Token resp;
      out["GetToken"] = Get(token, some_token_id, &resp);
      out["RevokeToken"] = Revoke(token, some_token_id, &resp);
    }
    {
      v1::RotateTokenResponse resp;
      out["RotateToken"] = Rotate(token, some_token_id, &resp);
    }
    {
      v1::GetProfileResponse resp;
      out["GetProfile"] = tokens_->GetProfile(As(token).get(), v1::GetProfileRequest(), &resp);
    }
    {
      v1::ListTokenEventsResponse resp;
      out["ListTokenEvents"] =
          tokens_->ListTokenEvents(As(token).get(), v1::ListTokenEventsRequest(), &resp);
    }
    {
      v1::CreateUserRequest r;
      r.set_user_id("never-created");
      v1::User resp;
      out["CreateUser"] = users_->CreateUser(As(token).get(), r, &resp);
    }
    {
      v1::ListUsersResponse resp;
      out["ListUsers"] = users_->ListUsers(As(token).get(), v1::ListUsersRequest(), &resp);
    }
    {
      v1::User resp;
      out["UpdateUser"] = users_->UpdateUser(
          As(token).get(), UserChange("admin").DisplayName("never renamed"), &resp);
    }
    return out;
  }

  void ExpectRejectedEverywhere(const std::string& token, const std::string& some_token_id,
                                const std::string& reason) {
    for (const auto& [method, status] : CallEveryRpc(token, some_token_id)) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << method;
      EXPECT_EQ(status.error_message(), reason) << method;
    }
  }
};

TEST_F(LifecycleTest, RevokeMakesTheTokenRevokedEverywhereAndIsIdempotent) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse doomed = MustCreate(alice, "doomed", 40);
  const std::string id = doomed.token().id();

  // The doomed secret works before the revocation.
  v1::GetProfileResponse profile;
  ASSERT_TRUE(tokens_->GetProfile(As(doomed.secret()).get(), {}, &profile).ok());

  v1::Token revoked;
  grpc::Status status = Revoke(alice, id, &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(revoked.id(), id);
  EXPECT_EQ(revoked.status(), v1::REVOKED);
  ASSERT_TRUE(revoked.has_revoked_at());
  EXPECT_GE(revoked.revoked_at().seconds(), doomed.token().created_at().seconds());
  EXPECT_EQ(revoked.name(), "doomed");
  EXPECT_EQ(revoked.expires_on(), doomed.token().expires_on());

  // Read back: REVOKED with the same revoked_at, for the owner and for admins.
  for (const std::string& reader : {alice, admin_token_}) {
    v1::Token got;
    status = Get(reader, id, &got);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(got.status(), v1::REVOKED);
    EXPECT_TRUE(SameTime(got.revoked_at(), revoked.revoked_at()));
    EXPECT_FALSE(got.has_last_used_at());
  }

  // The revoked secret is refused by every RPC, with the reason.
  ExpectRejectedEverywhere(doomed.secret(), id, "token revoked");

  // Revoking again (owner, then admin) succeeds and changes nothing.
  for (const std::string& revoker : {alice, admin_token_}) {
    v1::Token again;
    status = Revoke(revoker, id, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(again.status(), v1::REVOKED);
    EXPECT_TRUE(SameTime(again.revoked_at(), revoked.revoked_at()));
  }

  std::vector<v1::TokenEvent> events = EventsOfToken(id);
  int revocations = 0;
  for (const v1::TokenEvent& e : events) {
    if (e.kind() != v1::TokenEvent::TOKEN_REVOKED) continue;
    ++revocations;
    EXPECT_EQ(e.actor_user_id(), "alice");
    EXPECT_EQ(e.subject_user_id(), "alice");
    EXPECT_EQ(e.token_name(), "doomed");
  }
  EXPECT_EQ(revocations, 1);
  EXPECT_THAT(Sql(absl::StrCat("SELECT count(*) FROM token_events WHERE kind = 'TOKEN_REVOKED' "
                               "AND token_id = '",
                               id, "'")),
              ElementsAre("1"));

  // A revoked token frees its name.
  const v1::CreateTokenResponse reborn = MustCreate(alice, "doomed", 40);
  EXPECT_NE(reborn.token().id(), id);

  // Other tokens of alice are unaffected.
  ASSERT_TRUE(tokens_->GetProfile(As(alice).get(), {}, &profile).ok());
}

TEST_F(LifecycleTest, AdminRevokingAnotherUsersTokenIsRecordedWithActorAndSubject) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse t = MustCreate(alice, "ci");

  v1::Token revoked;
  grpc::Status status = Revoke(admin_token_, t.token().id(), &revoked);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(revoked.status(), v1::REVOKED);
  EXPECT_EQ(revoked.user_id(), "alice");

  std::vector<v1::TokenEvent> events = EventsOfToken(t.token().id());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind(), v1::TokenEvent::TOKEN_REVOKED);
  EXPECT_EQ(events[0].actor_user_id(), "admin");
  EXPECT_EQ(events[0].subject_user_id(), "alice");
  EXPECT_EQ(events[0].token_id(), t.token().id());
  EXPECT_EQ(events[1].kind(), v1::TokenEvent::TOKEN_CREATED);
  EXPECT_EQ(events[1].actor_user_id(), "alice");
  EXPECT_EQ(events[1].subject_user_id(), "alice");

  // Alice sees the revocation of her token in her own trail too.
  v1::ListTokenEventsRequest mine;
  mine.set_token_id(t.token().id());
  std::vector<v1::TokenEvent> seen_by_alice = Events(alice, mine);
  ASSERT_EQ(seen_by_alice.size(), 2u);
  EXPECT_EQ(seen_by_alice[0].actor_user_id(), "admin");
}

TEST_F(LifecycleTest, RotateIssuesANewSecretUnderTheSameNameAndRevokesTheOld) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse old = MustCreate(alice, "deploy-bot", 77);

  v1::RotateTokenResponse rotated;
  grpc::Status status = Rotate(alice, old.token().id(), &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::Token& fresh = rotated.token();
  EXPECT_NE(fresh.id(), old.token().id());
  EXPECT_THAT(rotated.secret(), ::testing::MatchesRegex("utk_[0-9A-Za-z]{39}"));
  EXPECT_NE(rotated.secret(), old.secret());
  EXPECT_NE(fresh.hint(), old.token().hint());
  EXPECT_EQ(fresh.name(), "deploy-bot");
  EXPECT_EQ(fresh.expires_on(), old.token().expires_on());
  EXPECT_EQ(fresh.expires_on(), DateFromToday(77));
  EXPECT_EQ(fresh.user_id(), "alice");
  EXPECT_EQ(fresh.status(), v1::ACTIVE);
  EXPECT_FALSE(fresh.has_revoked_at());
  EXPECT_FALSE(fresh.has_last_used_at());

  v1::Token old_now;
  ASSERT_TRUE(Get(alice, old.token().id(), &old_now).ok());
  EXPECT_EQ(old_now.status(), v1::REVOKED);
  EXPECT_TRUE(old_now.has_revoked_at());

  // The old secret stops working; the new one works.
  ExpectRejectedEverywhere(old.secret(), fresh.id(), "token revoked");
  v1::GetProfileResponse profile;
  status = tokens_->GetProfile(As(rotated.secret()).get(), {}, &profile);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(profile.user_id(), "alice");

  // The trail: TOKEN_ROTATED about the new token, pointing at the old one;
  // it is found by either id.
  std::vector<v1::TokenEvent> events = EventsOfToken(fresh.id());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind(), v1::TokenEvent::TOKEN_ROTATED);
  EXPECT_EQ(events[0].token_id(), fresh.id());
  EXPECT_EQ(events[0].previous_token_id(), old.token().id());
  EXPECT_EQ(events[0].actor_user_id(), "alice");
  EXPECT_EQ(events[0].subject_user_id(), "alice");
  EXPECT_EQ(events[0].token_name(), "deploy-bot");
  std::vector<v1::TokenEvent> of_old = EventsOfToken(old.token().id());
  ASSERT_EQ(of_old.size(), 2u);
  EXPECT_EQ(of_old[0].kind(), v1::TokenEvent::TOKEN_ROTATED);
  EXPECT_EQ(of_old[1].kind(), v1::TokenEvent::TOKEN_CREATED);

  // Only an ACTIVE token can be rotated: not the rotated-away one, not one
  // revoked outright, not an expired one.
  v1::RotateTokenResponse again;
  status = Rotate(alice, old.token().id(), &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  const v1::CreateTokenResponse revoked = MustCreate(alice, "revoked-then-rotated");
  v1::Token ignored;
  ASSERT_TRUE(Revoke(alice, revoked.token().id(), &ignored).ok());
  status = Rotate(alice, revoked.token().id(), &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  status = Rotate(admin_token_, revoked.token().id(), &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  const v1::CreateTokenResponse expiring = MustCreate(alice, "expired-then-rotated");
  Sql(absl::StrCat("UPDATE tokens SET expires_on = ", kUtcToday, " WHERE id = '",
                   expiring.token().id(), "'"));
  status = Rotate(alice, expiring.token().id(), &again);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();

  // An admin may rotate alice's token; the owner stays alice.
  v1::RotateTokenResponse by_admin;
  status = Rotate(admin_token_, fresh.id(), &by_admin);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(by_admin.token().user_id(), "alice");
  EXPECT_EQ(by_admin.token().name(), "deploy-bot");
  std::vector<v1::TokenEvent> admin_rotation = EventsOfToken(by_admin.token().id());
  ASSERT_EQ(admin_rotation.size(), 1u);
  EXPECT_EQ(admin_rotation[0].actor_user_id(), "admin");
  EXPECT_EQ(admin_rotation[0].subject_user_id(), "alice");
  EXPECT_EQ(admin_rotation[0].previous_token_id(), fresh.id());

  // Exactly one live token carries the name.
  EXPECT_THAT(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice' AND name = 'deploy-bot' "
                  "AND revoked_at IS NULL"),
              ElementsAre("1"));
}

TEST_F(LifecycleTest, EventTrailRecordsWhoDidWhatToWhom) {
  const std::string alice = NewUserWithToken("alice", v1::USER);  // USER_CREATED + TOKEN_CREATED
  const std::string bob = NewUserWithToken("bob", v1::USER);
  const v1::CreateTokenResponse own = MustCreate(alice, "alice-own");  // by alice

  v1::User updated;
  grpc::Status status = users_->UpdateUser(
      As(admin_token_).get(), UserChange("alice").DisplayName("Alice Liddell"), &updated);
  ASSERT_TRUE(status.ok()) << status.error_message();

  v1::Token revoked;
  ASSERT_TRUE(Revoke(admin_token_, own.token().id(), &revoked).ok());
  const v1::CreateTokenResponse second = MustCreate(alice, "alice-second");
  v1::RotateTokenResponse rotated;
  ASSERT_TRUE(Rotate(alice, second.token().id(), &rotated).ok());
  MustCreate(bob, "bob-own");

  // Admin, about alice: everything, newest first, with actor and subject.
  v1::ListTokenEventsRequest about_alice;
  about_alice.set_user_id("alice");
  std::vector<v1::TokenEvent> events = Events(admin_token_, about_alice);
  struct Expected {
    v1::TokenEvent::Kind kind;
    std::string actor;
    std::string token_id;
    std::string token_name;
  };
  const std::vector<Expected> expected = {
      {v1::TokenEvent::TOKEN_ROTATED, "alice", rotated.token().id(), "alice-second"},
      {v1::TokenEvent::TOKEN_CREATED, "alice", second.token().id(), "alice-second"},
      {v1::TokenEvent::TOKEN_REVOKED, "admin", own.token().id(), "alice-own"},
      {v1::TokenEvent::USER_UPDATED, "admin", "", ""},
      {v1::TokenEvent::TOKEN_CREATED, "alice", own.token().id(), "alice-own"},
      {v1::TokenEvent::TOKEN_CREATED, "admin", "", "first token of alice"},
      {v1::TokenEvent::USER_CREATED, "admin", "", ""},
  };
  ASSERT_EQ(events.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("event #", i, ": ", events[i].ShortDebugString()));
    EXPECT_EQ(events[i].kind(), expected[i].kind);
    EXPECT_EQ(events[i].actor_user_id(), expected[i].actor);
    EXPECT_EQ(events[i].subject_user_id(), "alice");
    if (!expected[i].token_id.empty()) {
      EXPECT_EQ(events[i].token_id(), expected[i].token_id);
    }
    EXPECT_EQ(events[i].token_name(), expected[i].token_name);
    EXPECT_TRUE(events[i].has_occurred_at());
    if (i > 0) {
      const auto& newer = events[i - 1].occurred_at();
      const auto& older = events[i].occurred_at();
      EXPECT_GE(std::make_pair(newer.seconds(), newer.nanos()),
                std::make_pair(older.seconds(), older.nanos()));
      EXPECT_NE(events[i - 1].id(), events[i].id());
    }
  }
  EXPECT_EQ(events[0].previous_token_id(), second.token().id());
  EXPECT_THAT(events[3].detail(), ::testing::HasSubstr("display_name"));
  EXPECT_THAT(events[6].detail(), ::testing::HasSubstr("role=USER"));
  EXPECT_FALSE(events[5].token_id().empty());

  // Admin, everything: bob's and the bootstrap admin's events too.
  std::vector<v1::TokenEvent> all = Events(admin_token_);
  std::set<std::string> subjects;
  int user_created = 0;
  for (const v1::TokenEvent& e : all) {
    subjects.insert(e.subject_user_id());
    if (e.kind() == v1::TokenEvent::USER_CREATED) ++user_created;
  }
  EXPECT_EQ(subjects, (std::set<std::string>{"admin", "alice", "bob"}));
  EXPECT_EQ(user_created, 3);  // admin (bootstrap), alice, bob

  // Alice sees exactly her own trail, and may not ask for bob's.
  std::vector<v1::TokenEvent> own_trail = Events(alice);
  ASSERT_EQ(own_trail.size(), events.size());
  for (size_t i = 0; i < own_trail.size(); ++i) {
    EXPECT_EQ(own_trail[i].id(), events[i].id());
  }
  v1::ListTokenEventsRequest about_bob;
  about_bob.set_user_id("bob");
  v1::ListTokenEventsResponse denied;
  status = tokens_->ListTokenEvents(As(alice).get(), about_bob, &denied);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(LifecycleTest, ListFiltersByStatusNameAndExpiry) {
  const std::string alice = NewUserWithToken("alice", v1::USER);  // "first token of alice", +365
  const std::string bob = NewUserWithToken("bob", v1::USER);
  MustCreate(alice, "Alpha-Prod", 10);
  MustCreate(alice, "beta-staging", 100);
  MustCreate(alice, "gamma-PROD-2", 200);
  const v1::CreateTokenResponse delta = MustCreate(alice, "delta", 50);
  const v1::CreateTokenResponse epsilon = MustCreate(alice, "epsilon", 60);
  MustCreate(bob, "bob-prod", 20);

  v1::Token ignored;
  ASSERT_TRUE(Revoke(alice, delta.token().id(), &ignored).ok());
  Sql(absl::StrCat("UPDATE tokens SET expires_on = ", kUtcToday, " WHERE id = '",
                   epsilon.token().id(), "'"));

  v1::Token expired;
  ASSERT_TRUE(Get(alice, epsilon.token().id(), &expired).ok());
  EXPECT_EQ(expired.status(), v1::EXPIRED);
  EXPECT_EQ(expired.expires_on(), DateFromToday(0));
  v1::GetProfileResponse profile;
  grpc::Status status = tokens_->GetProfile(As(epsilon.secret()).get(), {}, &profile);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(status.error_message(), "token expired");

  auto list = [&](const std::function<void(v1::ListTokensRequest&)>& set_filters,
                  const std::string& caller) {
    v1::ListTokensRequest request;
    set_filters(request);
    v1::ListTokensResponse response = MustList(caller, request);
    for (int i = 0; i < response.tokens_size(); ++i) {
      const v1::Token& t = response.tokens(i);
      EXPECT_FALSE(t.has_last_used_at()) << t.name();
      EXPECT_EQ(t.has_revoked_at(), t.status() == v1::REVOKED) << t.name();
      if (i > 0) {
        EXPECT_GT(KeyOf(response.tokens(i - 1)), KeyOf(t)) << "not newest first";
      }
    }
    EXPECT_TRUE(response.next_page_token().empty());
    return response;
  };
  const auto none = [](v1::ListTokensRequest&) {};
  EXPECT_THAT(NamesOf(list(none, alice)),
              ElementsAre("epsilon", "delta", "gamma-PROD-2", "beta-staging", "Alpha-Prod",
                          "first token of alice"));

  v1::ListTokensResponse active =
      list([](v1::ListTokensRequest& r) { r.set_status(v1::ACTIVE); }, alice);
  EXPECT_THAT(NamesOf(active),
              ElementsAre("gamma-PROD-2", "beta-staging", "Alpha-Prod", "first token of alice"));
  for (const v1::Token& t : active.tokens()) EXPECT_EQ(t.status(), v1::ACTIVE);

  v1::ListTokensResponse only_expired =
      list([](v1::ListTokensRequest& r) { r.set_status(v1::EXPIRED); }, alice);
  ASSERT_THAT(NamesOf(only_expired), ElementsAre("epsilon"));
  EXPECT_EQ(only_expired.tokens(0).status(), v1::EXPIRED);

  v1::ListTokensResponse only_revoked =
      list([](v1::ListTokensRequest& r) { r.set_status(v1::REVOKED); }, alice);
  ASSERT_THAT(NamesOf(only_revoked), ElementsAre("delta"));
  EXPECT_EQ(only_revoked.tokens(0).status(), v1::REVOKED);
  EXPECT_TRUE(only_revoked.tokens(0).has_revoked_at());

  // name_contains is case-insensitive, either way round.
  for (const std::string fragment : {"prod", "PROD", "pRoD"}) {
    EXPECT_THAT(
        NamesOf(list([&](v1::ListTokensRequest& r) { r.set_name_contains(fragment); }, alice)),
        ElementsAre("gamma-PROD-2", "Alpha-Prod"))
        << fragment;
  }
  EXPECT_THAT(NamesOf(list([](v1::ListTokensRequest& r) { r.set_name_contains("ALPHA"); }, alice)),
              ElementsAre("Alpha-Prod"));
  EXPECT_THAT(NamesOf(list([](v1::ListTokensRequest& r) { r.set_name_contains("zzz"); }, alice)),
              ElementsAre());

  // expires_before is strict: beta-staging expires exactly on that day.
  const std::string day100 = DateFromToday(100);
  EXPECT_THAT(NamesOf(list([&](v1::ListTokensRequest& r) { r.set_expires_before(day100); }, alice)),
              ElementsAre("epsilon", "delta", "Alpha-Prod"));
  EXPECT_THAT(
      NamesOf(
          list([&](v1::ListTokensRequest& r) { r.set_expires_before(DateFromToday(0)); }, alice)),
      ElementsAre());

  // Filters combine.
  EXPECT_THAT(NamesOf(list(
                  [&](v1::ListTokensRequest& r) {
                    r.set_status(v1::ACTIVE);
                    r.set_name_contains("PROD");
                    r.set_expires_before(day100);
                  },
                  alice)),
              ElementsAre("Alpha-Prod"));

  // Admins: every user's, one user's, with filters.
  EXPECT_THAT(NamesOf(list(
                  [](v1::ListTokensRequest& r) {
                    r.set_all_users(true);
                    r.set_name_contains("prod");
                  },
                  admin_token_)),
              ElementsAre("bob-prod", "gamma-PROD-2", "Alpha-Prod"));
  EXPECT_THAT(NamesOf(list(
                  [](v1::ListTokensRequest& r) {
                    r.set_user_id("alice");
                    r.set_status(v1::REVOKED);
                  },
                  admin_token_)),
              ElementsAre("delta"));
  v1::ListTokensResponse everyone_expired = list(
      [](v1::ListTokensRequest& r) {
        r.set_all_users(true);
        r.set_status(v1::EXPIRED);
      },
      admin_token_);
  ASSERT_THAT(NamesOf(everyone_expired), ElementsAre("epsilon"));
  EXPECT_EQ(everyone_expired.tokens(0).user_id(), "alice");
  EXPECT_EQ(everyone_expired.tokens(0).user_display_name(), "User alice");
}

class PaginationTest : public LifecycleTest {
 protected:
  void SetUp() override {
    LifecycleTest::SetUp();
    // Thousands of one user's tokens, and creates as fast as the walk
    // allows: out of reach of the cap on live tokens and the rate limit.
    RestartService({"--max_live_tokens_per_user", "1000000", "--token_create_rate", "1000000",
                    "--token_create_burst", "1000000"});
  }

  // Bulk rows straight into the table (fast): created_at values with ties
  // (three rows per instant) so that the id tie-break matters on page
  // boundaries; every fifth row revoked.
  void BulkInsert(const std::string& user, int count) {
    Sql(absl::StrCat(
        "INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on, "
        "revoked_at) SELECT gen_random_uuid(), '",
        user, "', 'bulk-' || i, sha256(('bulk-", user,
        "-' || i)::bytea), 'utk_bulk…' || lpad(i::text, 4, '0'), "
        "now() - interval '1 hour' - (i / 3) * interval '1 second', ",
        kUtcToday, " + 1 + i % 300, CASE WHEN i % 5 = 0 THEN now() END ",
        "FROM generate_series(1, ", count, ") AS i"));
  }

  // Walks every page of `request` as `caller`, page_size 97, while another
  // thread keeps creating tokens through the API as `creator`. Checks: no
  // duplicates, strictly newest first, every id of `before` (the matching rows
  // that existed when the walk started) exactly once. Returns the walk.
  std::vector<v1::Token> WalkWhileCreating(const std::string& caller, v1::ListTokensRequest request,
                                           const std::string& creator,
                                           const std::vector<std::string>& before) {
    std::atomic<bool> done{false};
    std::atomic<int> created{0};
    std::atomic<int> create_failures{0};
    std::unique_ptr<v1::TokenService::Stub> stub =
        v1::TokenService::NewStub(service_->NewChannel());
    const int run = ++walks_;
    std::thread writer([&] {
      for (int i = 0; !done.load() && i < 100000; ++i) {
        v1::CreateTokenRequest create;
        create.set_name(absl::StrCat("during-walk-", run, "-", i));
        create.set_expires_on(DateFromToday(1 + i % 300));
        v1::CreateTokenResponse response;
        grpc::Status status = stub->CreateToken(As(creator).get(), create, &response);
        if (status.ok()) {
          ++created;
        } else {
          ++create_failures;
        }
      }
    });
    // Make sure the walk really overlaps with inserts.
    for (int i = 0; i < 3000 && created.load() == 0 && create_failures.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }

    std::vector<v1::Token> walk;
    request.set_page_size(97);
    int pages = 0;
    for (; pages < 1000; ++pages) {
      v1::ListTokensResponse response;
      grpc::Status status = tokens_->ListTokens(As(caller).get(), request, &response);
      EXPECT_TRUE(status.ok()) << status.error_message();
      if (!status.ok()) break;
      EXPECT_LE(response.tokens_size(), 97);
      if (!response.next_page_token().empty()) {
        EXPECT_EQ(response.tokens_size(), 97);
      }
      walk.insert(walk.end(), response.tokens().begin(), response.tokens().end());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    done = true;
    writer.join();
    EXPECT_GT(created.load(), 0) << "no token was created during the walk";
    EXPECT_EQ(create_failures.load(), 0);
    EXPECT_GE(static_cast<size_t>(pages) + 1, before.size() / 97) << "pages walked";

    std::set<std::string> seen;
    for (size_t i = 0; i < walk.size(); ++i) {
      EXPECT_TRUE(seen.insert(walk[i].id()).second) << "duplicate " << walk[i].id();
      if (i > 0 && !(KeyOf(walk[i - 1]) > KeyOf(walk[i]))) {
        ADD_FAILURE() << "not strictly newest first at #" << i << ": "
                      << walk[i - 1].ShortDebugString() << " then " << walk[i].ShortDebugString();
      }
    }
    size_t missing = 0;
    for (const std::string& id : before) {
      if (seen.count(id) == 0) ++missing;
    }
    EXPECT_EQ(missing, 0u) << "of " << before.size() << " tokens that existed before the walk";
    EXPECT_GE(walk.size(), before.size());
    return walk;
  }

  int walks_ = 0;
};

TEST_F(PaginationTest, KeysetPagesAreStableUnderConcurrentInserts) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string bob = NewUserWithToken("bob", v1::USER);
  BulkInsert("alice", 3000);
  BulkInsert("bob", 700);
  for (int i = 0; i < 15; ++i) MustCreate(alice, absl::StrCat("api-", i), 1 + i);
  for (int i = 0; i < 5; ++i) MustCreate(bob, absl::StrCat("api-", i), 1 + i);
  ASSERT_THAT(Sql("SELECT count(*) FROM tokens WHERE user_id = 'alice'"), ElementsAre("3016"));

  // Alice's own list, no filter.
  {
    SCOPED_TRACE("alice, own tokens");
    std::vector<std::string> before = Sql("SELECT id::text FROM tokens WHERE user_id = 'alice'");
    std::vector<v1::Token> walk = WalkWhileCreating(alice, {}, alice, before);
    for (const v1::Token& t : walk) EXPECT_EQ(t.user_id(), "alice");
  }

  // Admin, all users, while alice keeps creating.
  {
    SCOPED_TRACE("admin, all users");
    std::vector<std::string> before = Sql("SELECT id::text FROM tokens");
    v1::ListTokensRequest request;
    request.set_all_users(true);
    std::vector<v1::Token> walk = WalkWhileCreating(admin_token_, request, alice, before);
    std::set<std::string> owners;
    for (const v1::Token& t : walk) owners.insert(t.user_id());
    EXPECT_EQ(owners, (std::set<std::string>{"admin", "alice", "bob"}));
  }

  // Status filters, alice's own and admin's all-users view.
  {
    SCOPED_TRACE("alice, REVOKED");
    std::vector<std::string> before =
        Sql("SELECT id::text FROM tokens WHERE user_id = 'alice' AND revoked_at IS NOT NULL");
    ASSERT_EQ(before.size(), 600u);
    v1::ListTokensRequest request;
    request.set_status(v1::REVOKED);
    std::vector<v1::Token> walk = WalkWhileCreating(alice, request, alice, before);
    EXPECT_EQ(walk.size(), before.size());
    for (const v1::Token& t : walk) EXPECT_EQ(t.status(), v1::REVOKED);
  }
  {
    SCOPED_TRACE("admin, all users, ACTIVE");
    std::vector<std::string> before = Sql(absl::StrCat(
        "SELECT id::text FROM tokens WHERE revoked_at IS NULL AND expires_on > ", kUtcToday));
    v1::ListTokensRequest request;
    request.set_all_users(true);
    request.set_status(v1::ACTIVE);
    std::vector<v1::Token> walk = WalkWhileCreating(admin_token_, request, bob, before);
    for (const v1::Token& t : walk) EXPECT_EQ(t.status(), v1::ACTIVE);
  }
}

TEST_F(PaginationTest, TiesInCreatedAtAreBrokenByIdAcrossPageBoundaries) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  // 50 tokens sharing one created_at, plus neighbours on either side.
  Sql("INSERT INTO tokens (id, user_id, name, token_hash, hint, created_at, expires_on) "
      "SELECT gen_random_uuid(), 'alice', 'tie-' || i, sha256(('tie-' || i)::bytea), 'utk_tie…', "
      "timestamptz '2026-01-01 12:00:00.123456+00' + CASE WHEN i <= 50 THEN interval '0' "
      "WHEN i <= 55 THEN interval '1 microsecond' ELSE interval '-1 microsecond' END, "
      "(now() AT TIME ZONE 'UTC')::date + 30 FROM generate_series(1, 60) AS i");
  const std::vector<std::string> expected =
      Sql("SELECT id::text FROM tokens WHERE user_id = 'alice' ORDER BY created_at DESC, id DESC");
  ASSERT_EQ(expected.size(), 61u);

  for (int page_size : {1, 7, 50, 61, 1000}) {
    SCOPED_TRACE(absl::StrCat("page_size ", page_size));
    v1::ListTokensRequest request;
    request.set_page_size(page_size);
    std::vector<std::string> ids;
    for (int page = 0; page < 100; ++page) {
      v1::ListTokensResponse response = MustList(alice, request);
      for (const v1::Token& t : response.tokens()) ids.push_back(t.id());
      if (response.next_page_token().empty()) break;
      request.set_page_token(response.next_page_token());
    }
    EXPECT_EQ(ids, expected);
  }
}

TEST_F(PaginationTest, PageTokenFromOtherFiltersIsInvalidArgument) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  for (int i = 0; i < 5; ++i) MustCreate(alice, absl::StrCat("t", i));
  for (int i = 0; i < 3; ++i) MustCreate(admin_token_, absl::StrCat("admin-", i));

  auto first_page_token = [&](const std::string& caller, v1::ListTokensRequest request) {
    request.set_page_size(2);
    v1::ListTokensResponse response = MustList(caller, request);
    EXPECT_FALSE(response.next_page_token().empty());
    return response.next_page_token();
  };
  v1::ListTokensRequest active;
  active.set_status(v1::ACTIVE);
  v1::ListTokensRequest revoked;
  revoked.set_status(v1::REVOKED);
  v1::ListTokensRequest named;
  named.set_name_contains("t");
  v1::ListTokensRequest before;
  before.set_expires_before(DateFromToday(300));
  v1::ListTokensRequest everyone;
  everyone.set_all_users(true);
  v1::ListTokensRequest only_alice;
  only_alice.set_user_id("alice");

  struct Case {
    std::string label;
    std::string caller;
    v1::ListTokensRequest from;
    v1::ListTokensRequest with;
  };
  const std::vector<Case> cases = {
      {"ACTIVE -> REVOKED", alice, active, revoked},
      {"ACTIVE -> no filter", alice, active, {}},
      {"no filter -> name_contains", alice, {}, named},
      {"name_contains -> expires_before", alice, named, before},
      {"all_users -> own", admin_token_, everyone, {}},
      {"all_users -> user_id", admin_token_, everyone, only_alice},
      {"own -> all_users", admin_token_, {}, everyone},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    v1::ListTokensRequest request = c.with;
    request.set_page_size(2);
    request.set_page_token(first_page_token(c.caller, c.from));
    v1::ListTokensResponse response;
    grpc::Status status = tokens_->ListTokens(As(c.caller).get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    EXPECT_THAT(ViolatedFields(status), ElementsAre("page_token"));
    // The same token with its own filters works.
    v1::ListTokensRequest same = c.from;
    same.set_page_size(2);
    same.set_page_token(request.page_token());
    status = tokens_->ListTokens(As(c.caller).get(), same, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

}  // namespace
}  // namespace tokens::testing
