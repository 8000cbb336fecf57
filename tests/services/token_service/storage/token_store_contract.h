#pragma once

// The TokenStore contract (domain/ports/token_store.h) as one typed test
// suite, run against FakeTokenStore (token_store_contract_test.cc, no
// database) and PgTokenStore (token_store_contract_pgtest.cc). A fake that
// answers differently from PostgreSQL fails here, so the domain tests that
// use the fake test what production does.
//
// An Env supplies a fresh, empty store per test:
//   struct Env {
//     absl::Status SetUp();
//     TokenStore& store();
//   };

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/model.h"
#include "services/token_service/domain/ports/token_store.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service::test_support {

template <typename Env>
class TokenStoreContract : public ::testing::Test {
 protected:
  // A fixed clock: the stores take every instant and day from their callers.
  static constexpr absl::CivilDay kToday{2030, 1, 15};
  static absl::Time Now() { return StartOfUtcDay(kToday) + absl::Hours(12); }

  void SetUp() override {
    absl::Status ready = env_.SetUp();
    ASSERT_TRUE(ready.ok()) << ready;
    ASSERT_TRUE(CreateUser("alice").ok());
    ASSERT_TRUE(CreateUser("bob").ok());
  }

  TokenStore& store() { return env_.store(); }

  absl::StatusOr<User> CreateUser(const std::string& user_id, Role role = Role::kUser) {
    return store().CreateUser(
        User{user_id, "User " + user_id, user_id + "@example.com", role, false, Now()},
        TokenEvent{0, EventKind::kUserCreated, Now(), "admin", user_id, "", "", "", ""});
  }

  // Ids in a fixed order: Id(2) > Id(1), as text and as a uuid.
  static std::string Id(int n) { return absl::StrFormat("00000000-0000-4000-8000-%012d", n); }

  NewToken Token(const std::string& user_id, const std::string& name, absl::Time created_at = Now(),
                 absl::CivilDay expires_on = kToday + 30) {
    const std::string id = Id(++next_id_);
    return NewToken{
        id,         user_id,   name, TokenCodec::Hash("secret of " + id), "utk_…" + id.substr(32),
        created_at, expires_on};
  }

  static TokenEvent CreatedEvent(const NewToken& t) {
    return TokenEvent{
        0, EventKind::kTokenCreated, t.created_at, t.user_id, t.user_id, t.id, t.name, "", ""};
  }

  absl::StatusOr<TokenRecord> Insert(const NewToken& t, std::optional<int> cap = std::nullopt) {
    return store().InsertToken(t, CreatedEvent(t), cap);
  }

  absl::StatusOr<TokenRecord> Revoke(const std::string& id, absl::Time at = Now()) {
    return store().RevokeToken(
        id, at, TokenEvent{0, EventKind::kTokenRevoked, at, "alice", "alice", id, "", "", ""});
  }

  absl::StatusOr<TokenRecord> Rotate(const std::string& old_id, const NewToken& replacement,
                                     absl::Time at = Now()) {
    return store().RotateToken(
        old_id, replacement, at,
        TokenEvent{0, EventKind::kTokenRotated, at, replacement.user_id, replacement.user_id,
                   replacement.id, replacement.name, old_id, ""});
  }

  static TokenQuery Query() {
    TokenQuery query;
    query.today = kToday;
    query.limit = 100;
    return query;
  }

  // The ids ListTokens returns, in its order.
  std::vector<std::string> ListIds(const TokenQuery& query) {
    absl::StatusOr<std::vector<TokenRecord>> rows = store().ListTokens(query);
    EXPECT_TRUE(rows.ok()) << rows.status();
    std::vector<std::string> ids;
    if (rows.ok()) {
      for (const TokenRecord& r : *rows) ids.push_back(r.id);
    }
    return ids;
  }

  // Inserts a token and returns its id; fails the test if it cannot.
  std::string Put(const NewToken& t) {
    absl::StatusOr<TokenRecord> inserted = Insert(t);
    EXPECT_TRUE(inserted.ok()) << inserted.status();
    return t.id;
  }

  Env env_;
  int next_id_ = 0;
};

TYPED_TEST_SUITE_P(TokenStoreContract);

// --- Users -------------------------------------------------------------------

TYPED_TEST_P(TokenStoreContract, CreateUserReturnsTheUserAndATakenIdIsAFieldError) {
  absl::StatusOr<User> carol = this->CreateUser("carol", Role::kAdmin);
  ASSERT_TRUE(carol.ok()) << carol.status();
  EXPECT_EQ(carol->user_id, "carol");
  EXPECT_EQ(carol->display_name, "User carol");
  EXPECT_EQ(carol->email, "carol@example.com");
  EXPECT_EQ(carol->role, Role::kAdmin);
  EXPECT_FALSE(carol->disabled);
  EXPECT_EQ(carol->created_at, this->Now());

  EXPECT_THAT(this->CreateUser("carol", Role::kUser), IsTakenField("user_id"));
  // The refused create changed nothing and recorded no event.
  absl::StatusOr<User> stored = this->store().GetUser("carol");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->role, Role::kAdmin);
  EventQuery events;
  events.subject_user_id = "carol";
  absl::StatusOr<std::vector<TokenEvent>> carol_events = this->store().ListEvents(events);
  ASSERT_TRUE(carol_events.ok()) << carol_events.status();
  EXPECT_EQ(carol_events->size(), 1u);
}

TYPED_TEST_P(TokenStoreContract, GetAndUpdateUser) {
  EXPECT_THAT(this->store().GetUser("nobody"), HasCode(absl::StatusCode::kNotFound));
  UserUpdate update;
  update.user_id = "alice";
  update.email = "a@example.org";
  update.role = Role::kService;
  update.disabled = true;
  const TokenEvent event{0,  EventKind::kUserUpdated, this->Now(), "admin", "alice", "", "",
                         "", "role=SERVICE"};
  absl::StatusOr<User> updated = this->store().UpdateUser(update, event);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->display_name, "User alice");  // not set: unchanged
  EXPECT_EQ(updated->email, "a@example.org");
  EXPECT_EQ(updated->role, Role::kService);
  EXPECT_TRUE(updated->disabled);
  absl::StatusOr<User> read = this->store().GetUser("alice");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->role, Role::kService);
  EXPECT_TRUE(read->disabled);

  update.user_id = "nobody";
  EXPECT_THAT(this->store().UpdateUser(update, event), HasCode(absl::StatusCode::kNotFound));
}

TYPED_TEST_P(TokenStoreContract, ListUsersPagesByUserId) {
  for (const char* id : {"dave", "carol", "erin"}) ASSERT_TRUE(this->CreateUser(id).ok());
  std::vector<std::string> walked;
  UserQuery query;
  query.limit = 2;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<std::vector<User>> users = this->store().ListUsers(query);
    ASSERT_TRUE(users.ok()) << users.status();
    ASSERT_LE(users->size(), 2u);
    for (const User& u : *users) walked.push_back(u.user_id);
    if (users->size() < 2) break;
    query.after_user_id = users->back().user_id;
  }
  EXPECT_THAT(walked, ::testing::ElementsAre("alice", "bob", "carol", "dave", "erin"));
}

// --- Inserting tokens --------------------------------------------------------

TYPED_TEST_P(TokenStoreContract, InsertReturnsTheRecord) {
  const NewToken t = this->Token("alice", "ci", this->Now(), this->kToday + 7);
  absl::StatusOr<TokenRecord> r = this->Insert(t);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->id, t.id);
  EXPECT_EQ(r->name, "ci");
  EXPECT_EQ(r->hint, t.hint);
  EXPECT_EQ(r->user_id, "alice");
  EXPECT_EQ(r->user_display_name, "User alice");
  EXPECT_EQ(r->created_at, this->Now());
  EXPECT_EQ(r->last_used_at, std::nullopt);
  EXPECT_EQ(r->expires_on, this->kToday + 7);
  EXPECT_EQ(r->revoked_at, std::nullopt);
  absl::StatusOr<TokenRecord> read = this->store().GetToken(t.id);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->name, "ci");
  EXPECT_THAT(this->store().GetToken(this->Id(999)), HasCode(absl::StatusCode::kNotFound));
}

TYPED_TEST_P(TokenStoreContract, InsertForAMissingOwnerIsNotFound) {
  EXPECT_THAT(this->Insert(this->Token("nobody", "orphan")), HasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(this->Insert(this->Token("nobody", "orphan"), 5),
              HasCode(absl::StatusCode::kNotFound));
}

TYPED_TEST_P(TokenStoreContract, ALiveNameIsTakenARevokedOneIsFree) {
  const std::string first = this->Put(this->Token("alice", "deploy"));
  EXPECT_THAT(this->Insert(this->Token("alice", "deploy")), IsFieldError("name"));
  // Names are per owner, and compared exactly.
  EXPECT_TRUE(this->Insert(this->Token("bob", "deploy")).ok());
  EXPECT_TRUE(this->Insert(this->Token("alice", "Deploy")).ok());
  // An expired token still holds its name until it is revoked.
  this->Put(this->Token("alice", "old", this->Now() - absl::Hours(24 * 10), this->kToday - 1));
  EXPECT_THAT(this->Insert(this->Token("alice", "old")), IsFieldError("name"));

  ASSERT_TRUE(this->Revoke(first).ok());
  EXPECT_TRUE(this->Insert(this->Token("alice", "deploy")).ok());
}

TYPED_TEST_P(TokenStoreContract, TheCapCountsLiveTokensOnly) {
  const absl::Time long_ago = this->Now() - absl::Hours(24 * 30);
  this->Put(this->Token("alice", "live-1"));
  this->Put(this->Token("alice", "live-2"));
  const std::string revoked = this->Put(this->Token("alice", "revoked"));
  ASSERT_TRUE(this->Revoke(revoked).ok());
  // Expired on the day of the new token's created_at: its expires_on is today.
  this->Put(this->Token("alice", "expired", long_ago, this->kToday));
  this->Put(this->Token("bob", "bobs"));

  EXPECT_THAT(this->Insert(this->Token("alice", "third"), 2),
              HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_TRUE(this->Insert(this->Token("alice", "third"), 3).ok());
  EXPECT_THAT(this->Insert(this->Token("alice", "fourth"), 3),
              HasCode(absl::StatusCode::kFailedPrecondition));
  // Without a cap, no count.
  EXPECT_TRUE(this->Insert(this->Token("alice", "fourth")).ok());
}

// --- Revoking and rotating ---------------------------------------------------

TYPED_TEST_P(TokenStoreContract, RevokeOnceRecordsOneEvent) {
  const std::string id = this->Put(this->Token("alice", "ci"));
  absl::StatusOr<TokenRecord> revoked = this->Revoke(id, this->Now());
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoked_at, this->Now());
  // Again, later: unchanged, no second event.
  absl::StatusOr<TokenRecord> again = this->Revoke(id, this->Now() + absl::Hours(1));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->revoked_at, this->Now());
  EventQuery query;
  query.token_id = id;
  absl::StatusOr<std::vector<TokenEvent>> events = this->store().ListEvents(query);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, EventKind::kTokenRevoked);
  EXPECT_EQ((*events)[1].kind, EventKind::kTokenCreated);

  EXPECT_THAT(this->Revoke(this->Id(999)), HasCode(absl::StatusCode::kNotFound));
}

TYPED_TEST_P(TokenStoreContract, RotateReplacesAnActiveTokenOnly) {
  const NewToken old_row = this->Token("alice", "nightly", this->Now(), this->kToday + 5);
  const std::string old = this->Put(old_row);
  const absl::Time expiry = StartOfUtcDay(old_row.expires_on);
  // At 00:00 UTC of expires_on the token is EXPIRED: no rotation.
  EXPECT_THAT(this->Rotate(old, this->Token("alice", "nightly"), expiry),
              HasCode(absl::StatusCode::kFailedPrecondition));
  const NewToken replacement = this->Token("alice", "nightly", this->Now(), this->kToday + 5);
  absl::StatusOr<TokenRecord> rotated = this->Rotate(old, replacement, expiry - absl::Seconds(1));
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->id, replacement.id);
  EXPECT_EQ(rotated->name, "nightly");
  EXPECT_EQ(rotated->revoked_at, std::nullopt);
  absl::StatusOr<TokenRecord> old_after = this->store().GetToken(old);
  ASSERT_TRUE(old_after.ok()) << old_after.status();
  EXPECT_EQ(old_after->revoked_at, expiry - absl::Seconds(1));

  // The old token is revoked now: no second rotation.
  EXPECT_THAT(this->Rotate(old, this->Token("alice", "nightly")),
              HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(this->Rotate(this->Id(999), this->Token("alice", "nightly-2")),
              HasCode(absl::StatusCode::kNotFound));

  // The rotation event names both tokens; ListEvents by token id finds it
  // under either.
  for (const std::string& id : {old, replacement.id}) {
    EventQuery query;
    query.token_id = id;
    absl::StatusOr<std::vector<TokenEvent>> events = this->store().ListEvents(query);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_FALSE(events->empty());
    EXPECT_EQ(events->front().kind, EventKind::kTokenRotated);
    EXPECT_EQ(events->front().token_id, replacement.id);
    EXPECT_EQ(events->front().previous_token_id, old);
  }
}

TYPED_TEST_P(TokenStoreContract, RotateIntoANameHeldByAnotherLiveTokenIsAFieldError) {
  const std::string old = this->Put(this->Token("alice", "a"));
  this->Put(this->Token("alice", "b"));
  EXPECT_THAT(this->Rotate(old, this->Token("alice", "b")), IsFieldError("name"));
  // Nothing changed: the old token is still live.
  absl::StatusOr<TokenRecord> after = this->store().GetToken(old);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->revoked_at, std::nullopt);
}

// --- Authentication lookup ---------------------------------------------------

TYPED_TEST_P(TokenStoreContract, FindTokenForAuthByHash) {
  const NewToken row = this->Token("alice", "auth", this->Now(), this->kToday + 12);
  this->Put(row);
  absl::StatusOr<TokenAuthRecord> found = this->store().FindTokenForAuth(row.hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->token_id, row.id);
  EXPECT_EQ(found->expires_on, this->kToday + 12);
  EXPECT_FALSE(found->revoked);
  EXPECT_EQ(found->user.user_id, "alice");
  EXPECT_EQ(found->user.display_name, "User alice");
  EXPECT_EQ(found->user.role, Role::kUser);
  EXPECT_FALSE(found->user.disabled);
  EXPECT_THAT(this->store().FindTokenForAuth(TokenCodec::Hash("not a stored token")),
              HasCode(absl::StatusCode::kNotFound));

  UserUpdate disable;
  disable.user_id = "alice";
  disable.disabled = true;
  ASSERT_TRUE(this->store()
                  .UpdateUser(disable, TokenEvent{0, EventKind::kUserUpdated, this->Now(), "admin",
                                                  "alice", "", "", "", ""})
                  .ok());
  ASSERT_TRUE(this->Revoke(row.id).ok());
  found = this->store().FindTokenForAuth(row.hash);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->revoked);
  EXPECT_TRUE(found->user.disabled);
}

// --- Listing tokens ----------------------------------------------------------

TYPED_TEST_P(TokenStoreContract, ScopesAreKeptEverywhereTheTokenIsRead) {
  NewToken scoped = this->Token("alice", "scoped");
  scoped.scopes = {"repo/status", "things:read", "things:write"};
  const NewToken full = this->Token("alice", "full");
  absl::StatusOr<TokenRecord> inserted = this->Insert(scoped);
  ASSERT_TRUE(inserted.ok()) << inserted.status();
  EXPECT_EQ(inserted->scopes, scoped.scopes);
  this->Put(full);

  absl::StatusOr<TokenRecord> got = this->store().GetToken(scoped.id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->scopes, scoped.scopes);
  absl::StatusOr<TokenAuthRecord> auth = this->store().FindTokenForAuth(scoped.hash);
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->scopes, scoped.scopes);
  absl::StatusOr<TokenAuthRecord> full_auth = this->store().FindTokenForAuth(full.hash);
  ASSERT_TRUE(full_auth.ok());
  EXPECT_THAT(full_auth->scopes, ::testing::IsEmpty());

  absl::StatusOr<std::vector<TokenRecord>> listed = this->store().ListTokens(this->Query());
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  for (const TokenRecord& row : *listed) {
    EXPECT_EQ(row.scopes, row.id == scoped.id ? scoped.scopes : std::vector<std::string>{});
  }

  NewToken replacement = this->Token("alice", "scoped");
  replacement.scopes = scoped.scopes;
  absl::StatusOr<TokenRecord> rotated = this->Rotate(scoped.id, replacement);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_EQ(rotated->scopes, scoped.scopes);
}

TYPED_TEST_P(TokenStoreContract, ListFiltersByUserAndStatus) {
  const absl::Time long_ago = this->Now() - absl::Hours(24 * 60);
  const std::string active = this->Put(this->Token("alice", "active", this->Now()));
  // Expires today: EXPIRED from 00:00 UTC today.
  const std::string expired = this->Put(this->Token("alice", "expired", long_ago, this->kToday));
  const std::string tomorrow =
      this->Put(this->Token("alice", "tomorrow", long_ago + absl::Seconds(1), this->kToday + 1));
  const std::string revoked =
      this->Put(this->Token("alice", "revoked", this->Now() - absl::Hours(1)));
  ASSERT_TRUE(this->Revoke(revoked).ok());
  // Revoked and expired: REVOKED wins.
  const std::string both =
      this->Put(this->Token("alice", "both", long_ago - absl::Seconds(1), this->kToday - 3));
  ASSERT_TRUE(this->Revoke(both).ok());
  const std::string bobs = this->Put(this->Token("bob", "bobs", this->Now() - absl::Hours(2)));

  TokenQuery query = this->Query();
  using ::testing::ElementsAre;
  EXPECT_THAT(this->ListIds(query), ElementsAre(active, revoked, bobs, tomorrow, expired, both));
  query.user_id = "bob";
  EXPECT_THAT(this->ListIds(query), ElementsAre(bobs));
  query.user_id = "alice";
  query.status = TokenStatus::kActive;
  EXPECT_THAT(this->ListIds(query), ElementsAre(active, tomorrow));
  query.status = TokenStatus::kExpired;
  EXPECT_THAT(this->ListIds(query), ElementsAre(expired));
  query.status = TokenStatus::kRevoked;
  EXPECT_THAT(this->ListIds(query), ElementsAre(revoked, both));
  // `today` decides: a day later, "tomorrow" has expired too.
  query.status = TokenStatus::kExpired;
  query.today = this->kToday + 1;
  EXPECT_THAT(this->ListIds(query), ElementsAre(tomorrow, expired));
  query.user_id = "nobody";
  EXPECT_THAT(this->ListIds(query), ElementsAre());
}

TYPED_TEST_P(TokenStoreContract, ListFiltersByNameIgnoringCaseInEveryScript) {
  const std::string ecole = this->Put(this->Token("alice", "École prod", this->Now()));
  const std::string strasse =
      this->Put(this->Token("alice", "Hauptstraße", this->Now() - absl::Seconds(1)));
  const std::string ci =
      this->Put(this->Token("alice", "CI deploy", this->Now() - absl::Seconds(2)));
  const std::string percent =
      this->Put(this->Token("alice", "100% off_", this->Now() - absl::Seconds(3)));
  TokenQuery query = this->Query();
  using ::testing::ElementsAre;
  query.name_contains = "école";
  EXPECT_THAT(this->ListIds(query), ElementsAre(ecole));
  query.name_contains = "STRASSE";
  EXPECT_THAT(this->ListIds(query), ElementsAre(strasse));
  query.name_contains = "ci DEP";
  EXPECT_THAT(this->ListIds(query), ElementsAre(ci));
  // A fragment, not a pattern: % and _ match only themselves.
  query.name_contains = "0% off_";
  EXPECT_THAT(this->ListIds(query), ElementsAre(percent));
  query.name_contains = "%";
  EXPECT_THAT(this->ListIds(query), ElementsAre(percent));
  query.name_contains = "e";
  EXPECT_THAT(this->ListIds(query), ElementsAre(ecole, strasse, ci));
  query.name_contains = "nothing like it";
  EXPECT_THAT(this->ListIds(query), ElementsAre());
}

TYPED_TEST_P(TokenStoreContract, ListFiltersByExpiresBefore) {
  const std::string d5 = this->Put(this->Token("alice", "d5", this->Now(), this->kToday + 5));
  const std::string d6 =
      this->Put(this->Token("alice", "d6", this->Now() - absl::Seconds(1), this->kToday + 6));
  const std::string d9 =
      this->Put(this->Token("bob", "d9", this->Now() - absl::Seconds(2), this->kToday + 9));
  TokenQuery query = this->Query();
  using ::testing::ElementsAre;
  query.expires_before = this->kToday + 6;  // strictly before
  EXPECT_THAT(this->ListIds(query), ElementsAre(d5));
  query.expires_before = this->kToday + 10;
  EXPECT_THAT(this->ListIds(query), ElementsAre(d5, d6, d9));
  // With the other filters.
  query.user_id = "alice";
  query.name_contains = "6";
  EXPECT_THAT(this->ListIds(query), ElementsAre(d6));
}

TYPED_TEST_P(TokenStoreContract, ListPagesByCursorAndBreaksCreatedAtTiesById) {
  const absl::Time tie = this->Now() - absl::Seconds(1);
  std::vector<std::pair<absl::Time, std::string>> expected;  // alice's, newest first
  for (int i = 0; i < 23; ++i) {
    // 17 tokens share one instant; the others sit one microsecond either side.
    absl::Time at = tie;
    if (i >= 17) at += absl::Microseconds(i % 2 == 0 ? 1 : -1);
    const NewToken t = this->Token("alice", absl::StrCat("tie-", i), at);
    expected.emplace_back(at, this->Put(t));
    this->Put(this->Token("bob", absl::StrCat("tie-", i), at));
  }
  std::sort(expected.rbegin(), expected.rend());

  for (int limit : {1, 2, 3, 16, 17, 18, 100}) {
    SCOPED_TRACE(absl::StrCat("limit ", limit));
    TokenQuery query = this->Query();
    query.user_id = "alice";
    query.limit = limit;
    std::vector<std::pair<absl::Time, std::string>> walked;
    for (int page = 0; page < 100; ++page) {
      absl::StatusOr<std::vector<TokenRecord>> rows = this->store().ListTokens(query);
      ASSERT_TRUE(rows.ok()) << rows.status();
      ASSERT_LE(rows->size(), static_cast<size_t>(limit));
      for (const TokenRecord& r : *rows) walked.emplace_back(r.created_at, r.id);
      if (rows->size() < static_cast<size_t>(limit)) break;
      query.after = TokenCursor{rows->back().created_at, rows->back().id};
    }
    EXPECT_EQ(walked, expected);
  }

  // A cursor in the middle of the tie: strictly after it, the row itself
  // excluded, the rest of the tie (smaller ids) included.
  TokenQuery query = this->Query();
  query.user_id = "alice";
  query.after = TokenCursor{expected[8].first, expected[8].second};
  std::vector<std::string> rest;
  for (size_t i = 9; i < expected.size(); ++i) rest.push_back(expected[i].second);
  EXPECT_EQ(this->ListIds(query), rest);

  // Without a user filter both users' rows interleave by the same key.
  query = this->Query();
  query.limit = 1000;
  absl::StatusOr<std::vector<TokenRecord>> everyone = this->store().ListTokens(query);
  ASSERT_TRUE(everyone.ok()) << everyone.status();
  ASSERT_EQ(everyone->size(), 46u);
  for (size_t i = 1; i < everyone->size(); ++i) {
    const TokenRecord& a = (*everyone)[i - 1];
    const TokenRecord& b = (*everyone)[i];
    EXPECT_TRUE(a.created_at > b.created_at || (a.created_at == b.created_at && a.id > b.id)) << i;
  }
}

// --- Events ------------------------------------------------------------------

TYPED_TEST_P(TokenStoreContract, ListEventsNewestFirstWithFiltersAndPaging) {
  const std::string a1 = this->Put(this->Token("alice", "a1"));
  const std::string b1 = this->Put(this->Token("bob", "b1"));
  ASSERT_TRUE(this->Revoke(a1).ok());

  EventQuery query;
  absl::StatusOr<std::vector<TokenEvent>> all = this->store().ListEvents(query);
  ASSERT_TRUE(all.ok()) << all.status();
  // Two user creations (SetUp), two token creations, one revocation.
  ASSERT_EQ(all->size(), 5u);
  for (size_t i = 1; i < all->size(); ++i) EXPECT_GT((*all)[i - 1].id, (*all)[i].id);
  EXPECT_EQ((*all)[0].kind, EventKind::kTokenRevoked);
  EXPECT_EQ((*all)[0].token_id, a1);
  EXPECT_EQ((*all)[0].occurred_at, this->Now());
  EXPECT_EQ((*all)[1].kind, EventKind::kTokenCreated);
  EXPECT_EQ((*all)[1].token_id, b1);
  EXPECT_EQ((*all)[1].token_name, "b1");
  EXPECT_EQ((*all)[1].actor_user_id, "bob");
  EXPECT_EQ((*all)[1].previous_token_id, "");
  EXPECT_EQ((*all)[4].kind, EventKind::kUserCreated);
  EXPECT_EQ((*all)[4].token_id, "");

  query.subject_user_id = "bob";
  absl::StatusOr<std::vector<TokenEvent>> bobs = this->store().ListEvents(query);
  ASSERT_TRUE(bobs.ok()) << bobs.status();
  ASSERT_EQ(bobs->size(), 2u);
  EXPECT_EQ((*bobs)[0].token_id, b1);

  query = EventQuery{};
  query.token_id = a1;
  absl::StatusOr<std::vector<TokenEvent>> a1s = this->store().ListEvents(query);
  ASSERT_TRUE(a1s.ok()) << a1s.status();
  ASSERT_EQ(a1s->size(), 2u);

  // Pages by id: before_id excludes itself; limit bounds each page.
  query = EventQuery{};
  query.limit = 2;
  std::vector<int64_t> walked;
  for (int page = 0; page < 10; ++page) {
    absl::StatusOr<std::vector<TokenEvent>> rows = this->store().ListEvents(query);
    ASSERT_TRUE(rows.ok()) << rows.status();
    for (const TokenEvent& e : *rows) walked.push_back(e.id);
    if (rows->size() < 2) break;
    query.before_id = rows->back().id;
  }
  std::vector<int64_t> expected;
  for (const TokenEvent& e : *all) expected.push_back(e.id);
  EXPECT_EQ(walked, expected);
}

REGISTER_TYPED_TEST_SUITE_P(TokenStoreContract, CreateUserReturnsTheUserAndATakenIdIsAFieldError,
                            GetAndUpdateUser, ListUsersPagesByUserId, InsertReturnsTheRecord,
                            InsertForAMissingOwnerIsNotFound, ALiveNameIsTakenARevokedOneIsFree,
                            TheCapCountsLiveTokensOnly, RevokeOnceRecordsOneEvent,
                            RotateReplacesAnActiveTokenOnly,
                            RotateIntoANameHeldByAnotherLiveTokenIsAFieldError,
                            FindTokenForAuthByHash, ScopesAreKeptEverywhereTheTokenIsRead,
                            ListFiltersByUserAndStatus, ListFiltersByNameIgnoringCaseInEveryScript,
                            ListFiltersByExpiresBefore, ListPagesByCursorAndBreaksCreatedAtTiesById,
                            ListEventsNewestFirstWithFiltersAndPaging);

}  // namespace tokens::service::test_support
