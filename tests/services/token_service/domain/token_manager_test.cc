#include "services/token_service/domain/token_manager.h"

#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "common/time/clock.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/validation.h"
#include "tests/services/token_service/domain/fake_token_store.h"

namespace tokens::service {
namespace {

using test_support::FakeTokenStore;
using test_support::HasCode;
using test_support::IsFieldError;
using test_support::SeededRandom;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

using IssuedToken = TokenManager::IssuedToken;
using ListRequest = TokenManager::ListRequest;
using EventListRequest = TokenManager::EventListRequest;

// 2026-11-28 17:35:22 UTC.
const absl::Time kStart =
    absl::FromCivil(absl::CivilSecond(2026, 11, 28, 17, 35, 22), absl::UTCTimeZone());
constexpr char kExpiry[] = "2027-04-11";
constexpr char kMissingId[] = "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a";

// A caller authenticated by a token that outlives anything these tests
// issue (the bound a caller's token sets is tested on its own).
Principal Caller(const std::string& user_id, Role role) {
  Principal caller{user_id, "Name of " + user_id, user_id + "@example.com", role,
                   "token-of-" + user_id};
  caller.token_expires_on = absl::CivilDay(2030, 1, 1);
  return caller;
}

std::vector<std::string> IdsOf(const std::vector<TokenRecord>& tokens) {
  std::vector<std::string> ids;
  for (const TokenRecord& t : tokens) ids.push_back(t.id);
  return ids;
}

std::vector<std::string> NamesOf(const std::vector<TokenRecord>& tokens) {
  std::vector<std::string> names;
  for (const TokenRecord& t : tokens) names.push_back(t.name);
  return names;
}

class TokenManagerTest : public ::testing::Test {
 protected:
  TokenManagerTest() {
    store_.AddUser("alice");
    store_.AddUser("bob");
    store_.AddUser("root", Role::kAdmin);
    store_.AddUser("sidecar", Role::kService);
    store_.AddUser("gone", Role::kUser, /*disabled=*/true);
  }

  // Creates a token that must succeed.
  IssuedToken Create(const Principal& caller, const std::string& name,
                     const std::string& expires_on = kExpiry, const std::string& user_id = "") {
    absl::StatusOr<IssuedToken> issued = manager_.CreateToken(caller, {name, expires_on, user_id});
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *issued : IssuedToken{};
  }

  // Every token `request` selects, page after page; fails the test on an
  // error or a page larger than asked for.
  std::vector<TokenRecord> ListAll(const Principal& caller, ListRequest request,
                                   int* pages = nullptr) {
    std::vector<TokenRecord> all;
    int count = 0;
    do {
      absl::StatusOr<TokenManager::TokenPage> page = manager_.ListTokens(caller, request);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok() || ++count > 1000) break;
      EXPECT_LE(page->tokens.size(), static_cast<size_t>(request.page_size));
      all.insert(all.end(), page->tokens.begin(), page->tokens.end());
      request.page_token = page->next_page_token;
    } while (!request.page_token.empty());
    if (pages != nullptr) *pages = count;
    return all;
  }

  std::vector<TokenRecord> List(const Principal& caller, ListRequest request) {
    absl::StatusOr<TokenManager::TokenPage> page = manager_.ListTokens(caller, request);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return {};
    EXPECT_THAT(page->next_page_token, IsEmpty());
    return page->tokens;
  }

  std::vector<TokenEvent> Events(const Principal& caller, EventListRequest request = {}) {
    absl::StatusOr<TokenManager::EventPage> page = manager_.ListEvents(caller, request);
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->events : std::vector<TokenEvent>{};
  }

  std::vector<TokenEvent> EventsOfKind(EventKind kind) {
    std::vector<TokenEvent> out;
    for (const TokenEvent& e : store_.events()) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  FakeClock clock_{kStart};
  FakeTokenStore store_;
  TokenCodec codec_;
  SeededRandom random_{42};
  // The cap and the rate limit have tests of their own (issuance_policy_test);
  // here they are out of the way of tests that create hundreds of tokens.
  TokenManager manager_{store_, codec_, clock_, random_,
                        TokenManagerOptions{365, 100000, 1e9, 1e9}};

  const Principal alice_ = Caller("alice", Role::kUser);
  const Principal bob_ = Caller("bob", Role::kUser);
  const Principal root_ = Caller("root", Role::kAdmin);
  const Principal sidecar_ = Caller("sidecar", Role::kService);
};

// --- CreateToken -------------------------------------------------------------

TEST_F(TokenManagerTest, CreateIssuesAWellFormedSecretOnce) {
  const IssuedToken issued = Create(alice_, "QA-Test-Token");
  const std::string& secret = issued.secret;
  EXPECT_EQ(codec_.Validate(secret), TokenFormatError::kOk) << secret;

  const TokenRecord& token = issued.token;
  EXPECT_TRUE(ValidateTokenId("id", token.id).ok()) << token.id;
  EXPECT_EQ(token.name, "QA-Test-Token");
  EXPECT_EQ(token.user_id, "alice");
  EXPECT_EQ(token.user_display_name, "Name of alice");
  EXPECT_EQ(token.created_at, kStart);
  EXPECT_EQ(token.expires_on, absl::CivilDay(2027, 4, 11));
  EXPECT_EQ(token.status, TokenStatus::kActive);
  EXPECT_EQ(token.last_used_at, std::nullopt);
  EXPECT_EQ(token.revoked_at, std::nullopt);
  // utk_ + first 4 random characters + "…" + last 4 characters.
  EXPECT_EQ(token.hint, "utk_" + secret.substr(4, 4) + "\xE2\x80\xA6" + secret.substr(39));
}

TEST_F(TokenManagerTest, CreateStoresOnlyTheHashOfTheSecret) {
  const IssuedToken issued = Create(alice_, "ci");
  std::optional<FakeTokenStore::StoredToken> stored = store_.Stored(issued.token.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->hash, TokenCodec::Hash(issued.secret));
  EXPECT_EQ(stored->record.hint, codec_.Hint(issued.secret));

  // No stored or returned text carries more of the secret than the hint's
  // four leading random characters.
  const std::string fragment = issued.secret.substr(4, 8);
  for (const TokenRecord& record : {issued.token, stored->record}) {
    for (const std::string& text :
         {record.id, record.name, record.hint, record.user_id, record.user_display_name}) {
      EXPECT_THAT(text, Not(HasSubstr(fragment)));
    }
  }
  for (const TokenEvent& e : store_.events()) {
    for (const std::string& text : {e.actor_user_id, e.subject_user_id, e.token_id, e.token_name,
                                    e.previous_token_id, e.detail}) {
      EXPECT_THAT(text, Not(HasSubstr(fragment)));
    }
  }
}

TEST_F(TokenManagerTest, CreateRecordsAnEvent) {
  const IssuedToken issued = Create(alice_, "ci");
  ASSERT_THAT(store_.events(), SizeIs(1));
  const TokenEvent event = store_.events()[0];
  EXPECT_EQ(event.kind, EventKind::kTokenCreated);
  EXPECT_EQ(event.occurred_at, kStart);
  EXPECT_EQ(event.actor_user_id, "alice");
  EXPECT_EQ(event.subject_user_id, "alice");
  EXPECT_EQ(event.token_id, issued.token.id);
  EXPECT_EQ(event.token_name, "ci");
  EXPECT_EQ(event.previous_token_id, "");
}

TEST_F(TokenManagerTest, SecretsAndIdsComeFromTheInjectedRandomSource) {
  const IssuedToken first = Create(alice_, "one");
  const IssuedToken second = Create(alice_, "two");
  EXPECT_NE(first.secret, second.secret);
  EXPECT_NE(first.token.id, second.token.id);

  FakeTokenStore other_store;
  other_store.AddUser("alice");
  SeededRandom same_seed(42);
  TokenManager replay(other_store, codec_, clock_, same_seed, TokenManagerOptions{});
  absl::StatusOr<IssuedToken> again = replay.CreateToken(alice_, {"one", kExpiry, ""});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->secret, first.secret);
  EXPECT_EQ(again->token.id, first.token.id);
}

TEST_F(TokenManagerTest, OwnerDefaultsToTheCaller) {
  EXPECT_EQ(Create(bob_, "mine").token.user_id, "bob");
  EXPECT_EQ(Create(bob_, "also mine", kExpiry, "bob").token.user_id, "bob");
  EXPECT_EQ(Create(root_, "admin's own").token.user_id, "root");
}

TEST_F(TokenManagerTest, AdminCreatesForAnotherUser) {
  const IssuedToken issued = Create(root_, "for bob", kExpiry, "bob");
  EXPECT_EQ(issued.token.user_id, "bob");
  EXPECT_EQ(issued.token.user_display_name, "Name of bob");
  const TokenEvent event = store_.events().back();
  EXPECT_EQ(event.actor_user_id, "root");
  EXPECT_EQ(event.subject_user_id, "bob");
  // It is bob's: listed for him, authenticates as him.
  EXPECT_THAT(IdsOf(List(bob_, {})), ElementsAre(issued.token.id));
  absl::StatusOr<TokenAuthRecord> auth = store_.FindTokenForAuth(TokenCodec::Hash(issued.secret));
  ASSERT_TRUE(auth.ok());
  EXPECT_EQ(auth->user.user_id, "bob");
}

TEST_F(TokenManagerTest, UserMayNotCreateForAnotherUser) {
  EXPECT_THAT(manager_.CreateToken(alice_, {"sneaky", kExpiry, "bob"}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.CreateToken(alice_, {"sneaky", kExpiry, "nobody"}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(store_.token_count(), 0u);
  EXPECT_THAT(store_.events(), IsEmpty());
}

TEST_F(TokenManagerTest, ServiceCallersMayNotCreateTokens) {
  EXPECT_THAT(manager_.CreateToken(sidecar_, {"svc", kExpiry, ""}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.CreateToken(sidecar_, {"svc", kExpiry, "alice"}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(store_.token_count(), 0u);
}

TEST_F(TokenManagerTest, AdminTargetMustBeAnExistingEnabledUser) {
  EXPECT_THAT(manager_.CreateToken(root_, {"x", kExpiry, "nobody"}), IsFieldError("user_id"));
  EXPECT_THAT(manager_.CreateToken(root_, {"x", kExpiry, "gone"}), IsFieldError("user_id"));
  EXPECT_THAT(manager_.CreateToken(root_, {"x", kExpiry, "Not An Id"}), IsFieldError("user_id"));
  EXPECT_EQ(store_.token_count(), 0u);
}

TEST_F(TokenManagerTest, NameIsTrimmedAndValidated) {
  EXPECT_EQ(Create(alice_, "  CI token \t").token.name, "CI token");
  EXPECT_THAT(manager_.CreateToken(alice_, {"", kExpiry, ""}), IsFieldError("name"));
  EXPECT_THAT(manager_.CreateToken(alice_, {"   ", kExpiry, ""}), IsFieldError("name"));
  EXPECT_THAT(manager_.CreateToken(alice_, {std::string(101, 'n'), kExpiry, ""}),
              IsFieldError("name"));
  EXPECT_THAT(manager_.CreateToken(alice_, {"a\nb", kExpiry, ""}), IsFieldError("name"));
  EXPECT_THAT(manager_.CreateToken(alice_, {"\xC0\xAF", kExpiry, ""}), IsFieldError("name"));
}

TEST_F(TokenManagerTest, NameIsUniqueAmongTheOwnersLiveTokens) {
  Create(alice_, "ci");
  EXPECT_THAT(manager_.CreateToken(alice_, {"ci", kExpiry, ""}), IsFieldError("name"));
  EXPECT_THAT(manager_.CreateToken(alice_, {"  ci  ", kExpiry, ""}), IsFieldError("name"));
  // An admin creating one for alice collides too.
  EXPECT_THAT(manager_.CreateToken(root_, {"ci", kExpiry, "alice"}), IsFieldError("name"));
  // Another user, or another spelling, is a different name.
  Create(bob_, "ci");
  Create(alice_, "CI");
  EXPECT_EQ(store_.token_count(), 3u);
}

TEST_F(TokenManagerTest, NameCanBeReusedAfterRevocation) {
  const IssuedToken first = Create(alice_, "ci");
  ASSERT_TRUE(manager_.RevokeToken(alice_, first.token.id).ok());
  const IssuedToken second = Create(alice_, "ci");
  EXPECT_NE(second.token.id, first.token.id);
  EXPECT_EQ(second.token.name, "ci");
}

TEST_F(TokenManagerTest, ExpiryMustBeAfterTodayUtc) {
  absl::StatusOr<IssuedToken> today = manager_.CreateToken(alice_, {"t", "2026-11-28", ""});
  EXPECT_THAT(today, IsFieldError("expires_on"));
  EXPECT_EQ(DescriptionOf(today.status()), "expiry date must be after 2026-11-28");
  EXPECT_THAT(manager_.CreateToken(alice_, {"t", "2026-11-27", ""}), IsFieldError("expires_on"));
  EXPECT_EQ(Create(alice_, "tomorrow", "2026-11-29").token.expires_on,
            absl::CivilDay(2026, 11, 29));

  // The last microsecond of 2026-11-28 UTC is still "today"...
  clock_.Set(StartOfUtcDay(absl::CivilDay(2026, 11, 29)) - absl::Microseconds(1));
  EXPECT_TRUE(manager_.CreateToken(alice_, {"late", "2026-11-29", ""}).ok());
  // ...and from midnight UTC, 2026-11-29 is today.
  clock_.Set(StartOfUtcDay(absl::CivilDay(2026, 11, 29)));
  absl::StatusOr<IssuedToken> midnight = manager_.CreateToken(alice_, {"t", "2026-11-29", ""});
  EXPECT_THAT(midnight, IsFieldError("expires_on"));
  EXPECT_EQ(DescriptionOf(midnight.status()), "expiry date must be after 2026-11-29");
}

TEST_F(TokenManagerTest, ExpiryAtMostTheConfiguredLifetimeAhead) {
  EXPECT_TRUE(manager_.CreateToken(alice_, {"a", "2027-11-28", ""}).ok());  // today + 365
  EXPECT_THAT(manager_.CreateToken(alice_, {"b", "2027-11-29", ""}), IsFieldError("expires_on"));

  TokenManager short_lived(store_, codec_, clock_, random_, TokenManagerOptions{30});
  EXPECT_TRUE(short_lived.CreateToken(alice_, {"c", "2026-12-28", ""}).ok());
  absl::StatusOr<IssuedToken> too_far = short_lived.CreateToken(alice_, {"d", "2026-12-29", ""});
  EXPECT_THAT(too_far, IsFieldError("expires_on"));
  EXPECT_THAT(DescriptionOf(too_far.status()), HasSubstr("30 days"));
}

// GetProfile's latest_expires_on: the date CreateToken still accepts, and
// the day after it refuses, from whichever bound is nearer.
TEST_F(TokenManagerTest, LatestExpiryIsTheNearerOfTheLifetimeLimitAndTheCallersToken) {
  TokenManager short_lived(store_, codec_, clock_, random_, TokenManagerOptions{30});
  EXPECT_EQ(short_lived.LatestExpiryFor(alice_), absl::CivilDay(2026, 12, 28));
  EXPECT_TRUE(short_lived.CreateToken(alice_, {"c", "2026-12-28", ""}).ok());
  EXPECT_THAT(short_lived.CreateToken(alice_, {"d", "2026-12-29", ""}), IsFieldError("expires_on"));

  Principal soon = alice_;
  soon.token_expires_on = absl::CivilDay(2026, 12, 10);
  EXPECT_EQ(short_lived.LatestExpiryFor(soon), absl::CivilDay(2026, 12, 10));
  EXPECT_TRUE(short_lived.CreateToken(soon, {"e", "2026-12-10", ""}).ok());
  EXPECT_THAT(short_lived.CreateToken(soon, {"f", "2026-12-11", ""}), IsFieldError("expires_on"));

  // A day later, a day further.
  clock_.Advance(absl::Hours(24));
  EXPECT_EQ(short_lived.LatestExpiryFor(alice_), absl::CivilDay(2026, 12, 29));
}

TEST_F(TokenManagerTest, ExpiryMustBeADate) {
  for (const char* bad : {"", "2027-4-1", "2027-02-30", "tomorrow", "11/04/2027"}) {
    EXPECT_THAT(manager_.CreateToken(alice_, {"t", bad, ""}), IsFieldError("expires_on")) << bad;
  }
}

TEST_F(TokenManagerTest, CreatePropagatesStoreOutage) {
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(manager_.CreateToken(alice_, {"t", kExpiry, ""}),
              HasCode(absl::StatusCode::kUnavailable));
  EXPECT_THAT(manager_.CreateToken(root_, {"t", kExpiry, "bob"}),
              HasCode(absl::StatusCode::kUnavailable));
}

// --- ListTokens --------------------------------------------------------------

TEST_F(TokenManagerTest, ListsOwnTokensNewestFirst) {
  Create(alice_, "first");
  clock_.Advance(absl::Minutes(1));
  Create(bob_, "bob's");
  Create(alice_, "second");
  clock_.Advance(absl::Minutes(1));
  Create(alice_, "third");
  EXPECT_THAT(NamesOf(List(alice_, {})), ElementsAre("third", "second", "first"));
  ListRequest own;
  own.user_id = "alice";
  EXPECT_THAT(NamesOf(List(alice_, own)), ElementsAre("third", "second", "first"));
  EXPECT_THAT(NamesOf(List(bob_, {})), ElementsAre("bob's"));
}

TEST_F(TokenManagerTest, UsersMayListOnlyTheirOwnTokens) {
  ListRequest all_users;
  all_users.all_users = true;
  EXPECT_THAT(manager_.ListTokens(alice_, all_users), HasCode(absl::StatusCode::kPermissionDenied));
  ListRequest bobs;
  bobs.user_id = "bob";
  EXPECT_THAT(manager_.ListTokens(alice_, bobs), HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.ListTokens(sidecar_, {}), HasCode(absl::StatusCode::kPermissionDenied));
}

// Who may ask is settled before what is asked: a request both forbidden and
// malformed is refused for the former, without a read. (ListTokens and
// ListTokenEvents used to check the page size, and ListTokens its
// user_id/all_users conflict, before the caller's role.)
TEST_F(TokenManagerTest, TheAccessPolicyIsAskedBeforeTheInputIsValidated) {
  const int calls = store_.calls();
  ListRequest bad_page;
  bad_page.user_id = "bob";
  bad_page.page_size = -1;
  EXPECT_THAT(manager_.ListTokens(alice_, bad_page), HasCode(absl::StatusCode::kPermissionDenied));
  ListRequest both;
  both.user_id = "bob";
  both.all_users = true;
  EXPECT_THAT(manager_.ListTokens(alice_, both), HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.ListEvents(alice_, {-1, "", "bob", ""}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.GetToken(sidecar_, "not an id"),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(store_.calls(), calls);
  // Callers who may ask get the field errors as before.
  EXPECT_THAT(manager_.ListTokens(root_, bad_page), IsFieldError("page_size"));
  EXPECT_THAT(manager_.ListTokens(root_, both), IsFieldError("user_id"));
  EXPECT_THAT(manager_.GetToken(alice_, "not an id"), IsFieldError("id"));
}

TEST_F(TokenManagerTest, AdminsListAllUsersOrOne) {
  Create(alice_, "a");
  Create(bob_, "b");
  Create(root_, "r");
  Create(root_, "for bob", kExpiry, "bob");

  ListRequest all_users;
  all_users.all_users = true;
  EXPECT_THAT(List(root_, all_users), SizeIs(4));
  ListRequest bobs;
  bobs.user_id = "bob";
  EXPECT_THAT(NamesOf(List(root_, bobs)), ::testing::UnorderedElementsAre("b", "for bob"));
  // Without either, an admin sees their own, like everyone.
  EXPECT_THAT(NamesOf(List(root_, {})), ElementsAre("r"));

  ListRequest both = all_users;
  both.user_id = "bob";
  EXPECT_THAT(manager_.ListTokens(root_, both), IsFieldError("user_id"));
  ListRequest bad_id;
  bad_id.user_id = "Bob!";
  EXPECT_THAT(manager_.ListTokens(root_, bad_id), IsFieldError("user_id"));
}

TEST_F(TokenManagerTest, PagesCoverEveryTokenOnceInOrder) {
  // 250 tokens, ten per instant, so many share created_at and only the id
  // breaks the tie; sub-microsecond steps are lost in storage like in
  // PostgreSQL.
  std::set<std::string> created;
  for (int i = 0; i < 250; ++i) {
    if (i % 10 == 0) clock_.Advance(absl::Seconds(1) + absl::Nanoseconds(1500));
    created.insert(Create(alice_, absl::StrFormat("token-%03d", i)).token.id);
  }
  ListRequest request;
  request.page_size = 7;
  int pages = 0;
  const std::vector<TokenRecord> listed = ListAll(alice_, request, &pages);
  EXPECT_EQ(pages, 36);  // ceil(250 / 7)
  ASSERT_THAT(listed, SizeIs(250));
  const std::vector<std::string> ids = IdsOf(listed);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()), created);
  for (size_t i = 1; i < listed.size(); ++i) {
    EXPECT_GT(std::tie(listed[i - 1].created_at, listed[i - 1].id),
              std::tie(listed[i].created_at, listed[i].id))
        << "at " << i;
  }
}

TEST_F(TokenManagerTest, PagingIsStableUnderInserts) {
  for (int i = 0; i < 20; ++i) {
    clock_.Advance(absl::Seconds(1));
    Create(alice_, absl::StrFormat("old-%02d", i));
  }
  ListRequest request;
  request.page_size = 7;
  absl::StatusOr<TokenManager::TokenPage> first = manager_.ListTokens(alice_, request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_THAT(first->tokens, SizeIs(7));
  ASSERT_FALSE(first->next_page_token.empty());

  // Newer tokens arrive between pages; they belong before page one.
  for (int i = 0; i < 5; ++i) Create(alice_, absl::StrFormat("new-%02d", i));
  request.page_token = first->next_page_token;
  std::vector<TokenRecord> rest = ListAll(alice_, request);
  std::vector<std::string> names = NamesOf(first->tokens);
  for (const std::string& name : NamesOf(rest)) names.push_back(name);
  std::vector<std::string> expected;
  for (int i = 19; i >= 0; --i) expected.push_back(absl::StrFormat("old-%02d", i));
  EXPECT_EQ(names, expected);
}

TEST_F(TokenManagerTest, PageSizeDefaultsAndMustNotBeNegative) {
  for (int i = 0; i < kDefaultPageSize + 1; ++i) Create(alice_, absl::StrFormat("t%d", i));
  absl::StatusOr<TokenManager::TokenPage> page = manager_.ListTokens(alice_, {});
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_THAT(page->tokens, SizeIs(kDefaultPageSize));
  EXPECT_FALSE(page->next_page_token.empty());

  ListRequest negative;
  negative.page_size = -1;
  EXPECT_THAT(manager_.ListTokens(alice_, negative), IsFieldError("page_size"));
}

TEST_F(TokenManagerTest, PageTokenIsBoundToTheFilters) {
  for (int i = 0; i < 5; ++i) Create(root_, absl::StrFormat("ci-%d", i), kExpiry, "bob");
  ListRequest request;
  request.page_size = 2;
  request.user_id = "bob";
  request.name_contains = "ci";
  absl::StatusOr<TokenManager::TokenPage> first = manager_.ListTokens(root_, request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_FALSE(first->next_page_token.empty());

  ListRequest same = request;
  same.page_token = first->next_page_token;
  EXPECT_TRUE(manager_.ListTokens(root_, same).ok());
  // A different page size is fine (AIP-158); different filters are not.
  same.page_size = 3;
  EXPECT_TRUE(manager_.ListTokens(root_, same).ok());

  std::vector<ListRequest> changed(6, same);
  changed[0].name_contains = "c";
  changed[1].status = TokenStatus::kActive;
  changed[2].expires_before = "2030-01-01";
  changed[3].user_id = "alice";
  changed[4].user_id = "";
  changed[5].user_id = "";
  changed[5].all_users = true;
  for (const ListRequest& r : changed) {
    EXPECT_THAT(manager_.ListTokens(root_, r), IsFieldError("page_token"));
  }
}

TEST_F(TokenManagerTest, PageTokenMustComeFromThisList) {
  Create(alice_, "a");
  for (const std::string& junk :
       {std::string("garbage"), std::string("!!"), std::string(5000, 'A')}) {
    ListRequest request;
    request.page_token = junk;
    EXPECT_THAT(manager_.ListTokens(alice_, request), IsFieldError("page_token"));
  }
  // An events cursor is not a tokens cursor.
  Create(alice_, "b");
  EventListRequest events;
  events.page_size = 1;
  absl::StatusOr<TokenManager::EventPage> page = manager_.ListEvents(alice_, events);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token.empty());
  ListRequest request;
  request.page_token = page->next_page_token;
  EXPECT_THAT(manager_.ListTokens(alice_, request), IsFieldError("page_token"));
}

TEST_F(TokenManagerTest, StatusFilterFollowsTheClock) {
  Create(alice_, "soon", "2026-11-30");
  clock_.Advance(absl::Minutes(1));
  Create(alice_, "later", "2027-01-01");
  const IssuedToken revoked = Create(alice_, "revoked", "2026-11-30");
  ASSERT_TRUE(manager_.RevokeToken(alice_, revoked.token.id).ok());

  auto with_status = [&](TokenStatus status) {
    ListRequest request;
    request.status = status;
    return NamesOf(List(alice_, request));
  };
  EXPECT_THAT(with_status(TokenStatus::kActive), ElementsAre("later", "soon"));
  EXPECT_THAT(with_status(TokenStatus::kExpired), IsEmpty());
  EXPECT_THAT(with_status(TokenStatus::kRevoked), ElementsAre("revoked"));

  clock_.Set(StartOfUtcDay(absl::CivilDay(2026, 11, 30)));
  EXPECT_THAT(with_status(TokenStatus::kActive), ElementsAre("later"));
  EXPECT_THAT(with_status(TokenStatus::kExpired), ElementsAre("soon"));
  EXPECT_THAT(with_status(TokenStatus::kRevoked), ElementsAre("revoked"));

  // Every listed record carries its status at the current time.
  for (const TokenRecord& t : List(alice_, {})) {
    const TokenStatus expected = t.name == "later"  ? TokenStatus::kActive
                                 : t.name == "soon" ? TokenStatus::kExpired
                                                    : TokenStatus::kRevoked;
    EXPECT_EQ(t.status, expected) << t.name;
  }
}

TEST_F(TokenManagerTest, NameAndExpiryFilters) {
  Create(alice_, "Deploy Bot", "2027-01-01");
  Create(alice_, "ci-deploy", "2027-06-01");
  Create(alice_, "laptop", "2027-01-01");

  ListRequest name;
  name.name_contains = "DEPLOY";
  EXPECT_THAT(NamesOf(List(alice_, name)),
              ::testing::UnorderedElementsAre("Deploy Bot", "ci-deploy"));

  ListRequest before;
  before.expires_before = "2027-06-01";  // strictly before
  EXPECT_THAT(NamesOf(List(alice_, before)),
              ::testing::UnorderedElementsAre("Deploy Bot", "laptop"));

  ListRequest bad;
  bad.expires_before = "June";
  EXPECT_THAT(manager_.ListTokens(alice_, bad), IsFieldError("expires_before"));
  ListRequest huge;
  huge.name_contains = std::string(401, 'x');
  EXPECT_THAT(manager_.ListTokens(alice_, huge), IsFieldError("name_contains"));
}

TEST_F(TokenManagerTest, ListPropagatesStoreOutage) {
  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(manager_.ListTokens(alice_, {}), HasCode(absl::StatusCode::kUnavailable));
}

// --- GetToken ----------------------------------------------------------------

TEST_F(TokenManagerTest, GetOwnToken) {
  const IssuedToken issued = Create(alice_, "mine", "2026-12-01");
  absl::StatusOr<TokenRecord> got = manager_.GetToken(alice_, issued.token.id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->name, "mine");
  EXPECT_EQ(got->status, TokenStatus::kActive);

  clock_.Set(StartOfUtcDay(absl::CivilDay(2026, 12, 1)));
  EXPECT_EQ(manager_.GetToken(alice_, issued.token.id)->status, TokenStatus::kExpired);
}

TEST_F(TokenManagerTest, AnotherUsersTokenLooksMissingToUsers) {
  const IssuedToken bobs = Create(bob_, "bob's");
  absl::StatusOr<TokenRecord> hidden = manager_.GetToken(alice_, bobs.token.id);
  absl::StatusOr<TokenRecord> missing = manager_.GetToken(alice_, kMissingId);
  EXPECT_THAT(hidden, HasCode(absl::StatusCode::kNotFound));
  EXPECT_EQ(hidden.status().message(), missing.status().message());
  EXPECT_TRUE(manager_.GetToken(root_, bobs.token.id).ok());
  EXPECT_THAT(manager_.GetToken(sidecar_, bobs.token.id),
              HasCode(absl::StatusCode::kPermissionDenied));
}

TEST_F(TokenManagerTest, GetRejectsMalformedIds) {
  EXPECT_THAT(manager_.GetToken(alice_, ""), IsFieldError("id"));
  EXPECT_THAT(manager_.GetToken(alice_, "not-a-uuid"), IsFieldError("id"));
  EXPECT_EQ(store_.calls(), 0);
}

// --- RevokeToken -------------------------------------------------------------

TEST_F(TokenManagerTest, RevokeIsIdempotentWithOneEvent) {
  const IssuedToken issued = Create(alice_, "ci");
  clock_.Advance(absl::Hours(1));
  const absl::Time revoked_at = clock_.Now();
  absl::StatusOr<TokenRecord> first = manager_.RevokeToken(alice_, issued.token.id);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->status, TokenStatus::kRevoked);
  EXPECT_EQ(first->revoked_at, revoked_at);

  clock_.Advance(absl::Hours(1));
  absl::StatusOr<TokenRecord> second = manager_.RevokeToken(alice_, issued.token.id);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, TokenStatus::kRevoked);
  EXPECT_EQ(second->revoked_at, revoked_at);

  const std::vector<TokenEvent> revocations = EventsOfKind(EventKind::kTokenRevoked);
  ASSERT_THAT(revocations, SizeIs(1));
  EXPECT_EQ(revocations[0].token_id, issued.token.id);
  EXPECT_EQ(revocations[0].token_name, "ci");
  EXPECT_EQ(revocations[0].actor_user_id, "alice");
  EXPECT_EQ(revocations[0].occurred_at, revoked_at);
}

TEST_F(TokenManagerTest, RevokeOthersTokens) {
  const IssuedToken bobs = Create(bob_, "bob's");
  EXPECT_THAT(manager_.RevokeToken(alice_, bobs.token.id), HasCode(absl::StatusCode::kNotFound));
  EXPECT_EQ(manager_.GetToken(bob_, bobs.token.id)->status, TokenStatus::kActive);
  EXPECT_THAT(EventsOfKind(EventKind::kTokenRevoked), IsEmpty());

  ASSERT_TRUE(manager_.RevokeToken(root_, bobs.token.id).ok());
  const std::vector<TokenEvent> revocations = EventsOfKind(EventKind::kTokenRevoked);
  ASSERT_THAT(revocations, SizeIs(1));
  EXPECT_EQ(revocations[0].actor_user_id, "root");
  EXPECT_EQ(revocations[0].subject_user_id, "bob");
}

TEST_F(TokenManagerTest, RevokeMissingToken) {
  EXPECT_THAT(manager_.RevokeToken(root_, kMissingId), HasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_.RevokeToken(root_, "nope"), IsFieldError("id"));
}

// --- RotateToken -------------------------------------------------------------

TEST_F(TokenManagerTest, RotateReplacesTheSecretKeepingNameAndExpiry) {
  const IssuedToken old = Create(alice_, "ci", "2027-02-01");
  clock_.Advance(absl::Hours(2));
  absl::StatusOr<IssuedToken> rotated = manager_.RotateToken(alice_, old.token.id);
  ASSERT_TRUE(rotated.ok()) << rotated.status();

  EXPECT_NE(rotated->secret, old.secret);
  EXPECT_EQ(codec_.Validate(rotated->secret), TokenFormatError::kOk);
  EXPECT_NE(rotated->token.id, old.token.id);
  EXPECT_EQ(rotated->token.name, "ci");
  EXPECT_EQ(rotated->token.user_id, "alice");
  EXPECT_EQ(rotated->token.expires_on, absl::CivilDay(2027, 2, 1));
  EXPECT_EQ(rotated->token.created_at, clock_.Now());
  EXPECT_EQ(rotated->token.status, TokenStatus::kActive);
  EXPECT_EQ(rotated->token.hint, codec_.Hint(rotated->secret));

  std::optional<FakeTokenStore::StoredToken> stored = store_.Stored(rotated->token.id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->hash, TokenCodec::Hash(rotated->secret));
  EXPECT_EQ(stored->rotated_from, old.token.id);

  absl::StatusOr<TokenRecord> old_now = manager_.GetToken(alice_, old.token.id);
  ASSERT_TRUE(old_now.ok());
  EXPECT_EQ(old_now->status, TokenStatus::kRevoked);
  EXPECT_EQ(old_now->revoked_at, clock_.Now());
}

TEST_F(TokenManagerTest, RotateRecordsOneRotationEvent) {
  const IssuedToken old = Create(bob_, "ci");
  absl::StatusOr<IssuedToken> rotated = manager_.RotateToken(root_, old.token.id);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_THAT(EventsOfKind(EventKind::kTokenRevoked), IsEmpty());
  const std::vector<TokenEvent> rotations = EventsOfKind(EventKind::kTokenRotated);
  ASSERT_THAT(rotations, SizeIs(1));
  EXPECT_EQ(rotations[0].token_id, rotated->token.id);
  EXPECT_EQ(rotations[0].previous_token_id, old.token.id);
  EXPECT_EQ(rotations[0].token_name, "ci");
  EXPECT_EQ(rotations[0].actor_user_id, "root");
  EXPECT_EQ(rotations[0].subject_user_id, "bob");
}

TEST_F(TokenManagerTest, OnlyActiveTokensRotate) {
  const IssuedToken revoked = Create(alice_, "revoked", "2026-12-01");
  const IssuedToken expiring = Create(alice_, "expiring", "2026-12-01");
  ASSERT_TRUE(manager_.RevokeToken(alice_, revoked.token.id).ok());
  EXPECT_THAT(manager_.RotateToken(alice_, revoked.token.id),
              HasCode(absl::StatusCode::kFailedPrecondition));

  clock_.Set(StartOfUtcDay(absl::CivilDay(2026, 12, 1)));
  EXPECT_THAT(manager_.RotateToken(alice_, expiring.token.id),
              HasCode(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(store_.token_count(), 2u);
  EXPECT_THAT(EventsOfKind(EventKind::kTokenRotated), IsEmpty());
}

TEST_F(TokenManagerTest, RotateOthersTokens) {
  const IssuedToken bobs = Create(bob_, "bob's");
  EXPECT_THAT(manager_.RotateToken(alice_, bobs.token.id), HasCode(absl::StatusCode::kNotFound));
  EXPECT_THAT(manager_.RotateToken(sidecar_, bobs.token.id),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(store_.token_count(), 1u);
}

// --- ListEvents --------------------------------------------------------------

TEST_F(TokenManagerTest, UsersSeeOnlyEventsAboutThemselves) {
  const IssuedToken a = Create(alice_, "a");
  const IssuedToken for_alice = Create(root_, "from root", kExpiry, "alice");
  Create(bob_, "b");
  Create(root_, "r");

  EXPECT_THAT(Events(alice_), ElementsAre(Field(&TokenEvent::token_id, for_alice.token.id),
                                          Field(&TokenEvent::token_id, a.token.id)));
  EXPECT_THAT(Events(alice_, {0, "", "alice", ""}), SizeIs(2));
  EXPECT_THAT(manager_.ListEvents(alice_, {0, "", "bob", ""}),
              HasCode(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(manager_.ListEvents(sidecar_, {}), HasCode(absl::StatusCode::kPermissionDenied));
}

TEST_F(TokenManagerTest, AdminsSeeAllEventsNewestFirst) {
  Create(alice_, "a");
  Create(bob_, "b");
  Create(root_, "r");
  const std::vector<TokenEvent> events = Events(root_);
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_GT(events[0].id, events[1].id);
  EXPECT_GT(events[1].id, events[2].id);
  EXPECT_THAT(Events(root_, {0, "", "bob", ""}),
              ElementsAre(AllOf(Field(&TokenEvent::subject_user_id, "bob"),
                                Field(&TokenEvent::token_name, "b"))));
}

TEST_F(TokenManagerTest, EventsOfOneTokenIncludeItsRotation) {
  const IssuedToken old = Create(alice_, "ci");
  Create(alice_, "other");
  absl::StatusOr<IssuedToken> rotated = manager_.RotateToken(alice_, old.token.id);
  ASSERT_TRUE(rotated.ok());
  EXPECT_THAT(Events(alice_, {0, "", "", old.token.id}),
              ElementsAre(Field(&TokenEvent::kind, EventKind::kTokenRotated),
                          Field(&TokenEvent::kind, EventKind::kTokenCreated)));
  EXPECT_THAT(manager_.ListEvents(alice_, {0, "", "", "nope"}), IsFieldError("token_id"));
}

TEST_F(TokenManagerTest, EventPagesCoverEveryEventOnce) {
  for (int i = 0; i < 11; ++i) Create(alice_, absl::StrFormat("t%d", i));
  EventListRequest request;
  request.page_size = 3;
  std::vector<int64_t> ids;
  int pages = 0;
  do {
    absl::StatusOr<TokenManager::EventPage> page = manager_.ListEvents(alice_, request);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_LT(++pages, 100);
    for (const TokenEvent& e : page->events) ids.push_back(e.id);
    request.page_token = page->next_page_token;
  } while (!request.page_token.empty());
  EXPECT_EQ(pages, 4);
  EXPECT_THAT(ids, ElementsAre(11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1));

  // The cursor belongs to alice's list, not to everyone's.
  EventListRequest first;
  first.page_size = 3;
  absl::StatusOr<TokenManager::EventPage> page = manager_.ListEvents(alice_, first);
  ASSERT_TRUE(page.ok());
  first.page_token = page->next_page_token;
  EXPECT_THAT(manager_.ListEvents(root_, first), IsFieldError("page_token"));
  first.page_size = -1;
  EXPECT_THAT(manager_.ListEvents(alice_, first), IsFieldError("page_size"));
}

// --- GetProfile --------------------------------------------------------------

TEST_F(TokenManagerTest, GetProfileReturnsTheCallersUser) {
  absl::StatusOr<User> alice = manager_.GetProfile(alice_);
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(alice->user_id, "alice");
  EXPECT_EQ(alice->display_name, "Name of alice");
  EXPECT_EQ(alice->email, "alice@example.com");
  EXPECT_EQ(alice->role, Role::kUser);

  EXPECT_EQ(manager_.GetProfile(root_)->role, Role::kAdmin);
  // The one call a SERVICE caller may make here.
  EXPECT_EQ(manager_.GetProfile(sidecar_)->role, Role::kService);

  store_.FailAllCallsWith(absl::UnavailableError("database unavailable"));
  EXPECT_THAT(manager_.GetProfile(alice_), HasCode(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace tokens::service
