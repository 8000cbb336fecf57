// Page tokens are input like any other: a USER can send whatever bytes they
// like as `page_token`. Against the real token-service and PostgreSQL: a
// page token it did not issue for this very request (forged, altered, issued
// for other filters or another user) is INVALID_ARGUMENT naming
// `page_token`, never reaches the database (nothing logged at error level,
// token_service_db_errors_total does not move), and paging itself works.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/token_service/domain/page_token.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/prometheus_text.h"

namespace tokens::testing {
namespace {

using service::PageTokenCodec;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The unsigned format page tokens had before they were sealed: base64url of
// "kind|hex(fingerprint of the filters)|key|key...". Anyone could write one.
std::string UnsignedPageToken(absl::string_view kind,
                              std::initializer_list<absl::string_view> filters,
                              const std::vector<std::string>& keys) {
  std::string plain = absl::StrCat(kind, "|", absl::Hex(PageTokenCodec::Fingerprint(filters)));
  for (const std::string& key : keys) absl::StrAppend(&plain, "|", key);
  return absl::WebSafeBase64Escape(plain);
}

constexpr char kSomeTokenId[] = "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a";
// A --page_token_key for the tests that share or know it.
constexpr char kKey[] = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

class PageTokenE2eTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    TokenServiceTest::SetUp();
    if (HasFatalFailure()) return;
    alice_ = NewUserWithToken("alice", v1::USER);
    bob_ = NewUserWithToken("bob", v1::USER);
    for (const char* name : {"one", "two", "three"}) {
      MustCreate(alice_, name);
      MustCreate(bob_, name);
    }
  }

  // Sum of token_service_db_errors_total over its kinds.
  double DbErrors() {
    absl::StatusOr<MetricsText> metrics = ScrapeMetrics(service_->metrics_address());
    EXPECT_TRUE(metrics.ok()) << metrics.status();
    if (!metrics.ok()) return -1;
    double errors = 0;
    for (const auto& [series, value] : metrics->samples) {
      if (absl::StartsWith(series, "token_service_db_errors_total")) errors += value;
    }
    return errors;
  }

  // token-service's log lines at level error or worse.
  std::vector<std::string> ErrorLines() {
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(service_->process().Stderr(), '\n')) {
      if (absl::StrContains(line, R"("level":"error")") ||
          absl::StrContains(line, R"("level":"critical")")) {
        lines.emplace_back(line);
      }
    }
    return lines;
  }

  grpc::Status ListTokens(const std::string& caller, v1::ListTokensRequest request,
                          v1::ListTokensResponse* response = nullptr) {
    v1::ListTokensResponse ignored;
    return tokens_->ListTokens(As(caller).get(), request, response ? response : &ignored);
  }

  // The first page of `caller`'s own tokens, one a page: its next_page_token.
  std::string FirstPageToken(const std::string& caller, v1::ListTokensRequest request = {}) {
    request.set_page_size(1);
    v1::ListTokensResponse response;
    const grpc::Status status = ListTokens(caller, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(response.next_page_token().empty());
    return response.next_page_token();
  }

  static void ExpectRefused(const grpc::Status& status, const std::string& what) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << what << ": " << status.error_code() << " " << status.error_message();
    EXPECT_THAT(ViolatedFields(status), ElementsAre("page_token")) << what;
  }

  std::string alice_;
  std::string bob_;
};

TEST_F(PageTokenE2eTest, AForgedOrAlteredPageTokenIsInvalidArgumentAndNeverReachesTheDatabase) {
  const double errors_before = DbErrors();
  const std::string real = FirstPageToken(alice_);
  v1::ListTokensRequest active;
  active.set_status(v1::ACTIVE);
  const std::string other_filters = FirstPageToken(alice_, active);
  const std::string bobs = FirstPageToken(bob_);

  struct Forgery {
    std::string what;
    std::string token;
  };
  std::vector<Forgery> forgeries = {
      // Alice's own filters, so only the cursor is wrong: an instant the
      // database cannot compute ("interval out of range").
      {"the unsigned format with the largest cursor",
       UnsignedPageToken("tokens", {"alice", "", "", ""},
                         {absl::StrCat(std::numeric_limits<int64_t>::max()), kSomeTokenId})},
      {"the unsigned format with the smallest cursor",
       UnsignedPageToken("tokens", {"alice", "", "", ""},
                         {absl::StrCat(std::numeric_limits<int64_t>::min()), kSomeTokenId})},
      {"the unsigned format with a plausible cursor",
       UnsignedPageToken("tokens", {"alice", "", "", ""}, {"1764351322123456", kSomeTokenId})},
      {"a page token issued for other filters", other_filters},
      {"another user's page token", bobs},
      {"a real page token cut short", real.substr(0, real.size() - 4)},
      {"a real page token with a byte added", real + "A"},
  };
  // Every character of a real one changed in turn.
  for (size_t i = 0; i < real.size(); ++i) {
    std::string altered = real;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    forgeries.push_back(
        {absl::StrCat("a real page token with character ", i, " changed"), altered});
  }

  for (const Forgery& forgery : forgeries) {
    v1::ListTokensRequest request;
    request.set_page_size(1);
    request.set_page_token(forgery.token);
    ExpectRefused(ListTokens(alice_, request), forgery.what);
  }

  EXPECT_EQ(DbErrors(), errors_before);
  EXPECT_THAT(ErrorLines(), ::testing::IsEmpty());

  // Paging itself: one page at a time, every token once.
  std::vector<std::string> names;
  v1::ListTokensRequest request;
  request.set_page_size(1);
  for (int page = 0; page < 10; ++page) {
    v1::ListTokensResponse response;
    const grpc::Status status = ListTokens(alice_, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::Token& token : response.tokens()) names.push_back(token.name());
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_THAT(names, ElementsAre("three", "two", "one", "first token of alice"));
}

TEST_F(PageTokenE2eTest, ForgedUserAndEventCursorsAreInvalidArgument) {
  const double errors_before = DbErrors();
  // An admin's forgery: the cursor of ListUsers goes into a comparison with
  // user ids, where a NUL or bytes that are not UTF-8 make PostgreSQL fail.
  for (const std::string& cursor :
       {std::string("alice\0x", 7), std::string("\xff\xfe"), std::string(5000, 'a')}) {
    v1::ListUsersRequest request;
    request.set_page_token(UnsignedPageToken("users", {}, {cursor}));
    v1::ListUsersResponse response;
    ExpectRefused(users_->ListUsers(As(admin_token_).get(), request, &response),
                  "users cursor " + absl::CEscape(cursor.substr(0, 20)));
  }
  // A USER's forgery of ListTokenEvents: ids are positive.
  for (const std::string& cursor : {std::string("-1"), std::string("0")}) {
    v1::ListTokenEventsRequest request;
    request.set_page_token(UnsignedPageToken("events", {"alice", ""}, {cursor}));
    v1::ListTokenEventsResponse response;
    ExpectRefused(tokens_->ListTokenEvents(As(alice_).get(), request, &response),
                  "events cursor " + cursor);
  }
  EXPECT_EQ(DbErrors(), errors_before);
  EXPECT_THAT(ErrorLines(), ::testing::IsEmpty());
}

TEST_F(PageTokenE2eTest, ACursorSealedWithTheRightKeyIsStillRangeChecked) {
  // As if the key had leaked: the MAC passes, the cursor is still read as
  // the row it claims to be and refused when no row could be that.
  RestartService({absl::StrCat("--page_token_key=", kKey)});
  const PageTokenCodec sealer(kKey);
  const double errors_before = DbErrors();
  const uint64_t alices = PageTokenCodec::Fingerprint({"alice", "", "", ""});
  for (const std::vector<std::string>& cursor :
       {std::vector<std::string>{absl::StrCat(std::numeric_limits<int64_t>::max()), kSomeTokenId},
        std::vector<std::string>{"-1", kSomeTokenId},
        std::vector<std::string>{"1764351322123456", "not-a-uuid"}}) {
    v1::ListTokensRequest request;
    request.set_page_token(sealer.Encode("tokens", alices, cursor));
    ExpectRefused(ListTokens(alice_, request), "tokens cursor " + cursor[0] + " " + cursor[1]);
  }
  for (const std::string& cursor : {std::string("alice\0x", 7), std::string("\xff\xfe")}) {
    v1::ListUsersRequest request;
    request.set_page_token(sealer.Encode("users", PageTokenCodec::Fingerprint({}), {cursor}));
    v1::ListUsersResponse response;
    ExpectRefused(users_->ListUsers(As(admin_token_).get(), request, &response), "users cursor");
  }
  {
    v1::ListTokenEventsRequest request;
    request.set_page_token(
        sealer.Encode("events", PageTokenCodec::Fingerprint({"alice", ""}), {"-1"}));
    v1::ListTokenEventsResponse response;
    ExpectRefused(tokens_->ListTokenEvents(As(alice_).get(), request, &response), "events cursor");
  }
  EXPECT_EQ(DbErrors(), errors_before);
  EXPECT_THAT(ErrorLines(), ::testing::IsEmpty());

  // What the key seals in range is a page token like any other.
  v1::ListTokensRequest request;
  request.set_page_token(sealer.Encode(
      "tokens", alices, {absl::StrCat(absl::ToUnixMicros(absl::Now()) + 60000000), kSomeTokenId}));
  v1::ListTokensResponse response;
  ASSERT_TRUE(ListTokens(alice_, request, &response).ok());
  EXPECT_EQ(response.tokens_size(), 4);
}

TEST_F(PageTokenE2eTest, ReplicasWithOneKeyContinueEachOthersPages) {
  RestartService({absl::StrCat("--page_token_key=", kKey)});
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> same_key =
      TokenServiceProcess::Start(database_url_, {absl::StrCat("--page_token_key=", kKey)});
  ASSERT_TRUE(same_key.ok()) << same_key.status();
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> own_key =
      TokenServiceProcess::Start(database_url_);
  ASSERT_TRUE(own_key.ok()) << own_key.status();
  // Without a key, a replica says how paging behind a load balancer fails.
  EXPECT_THAT((*own_key)->process().Stderr(), HasSubstr("--page_token_key"));
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("random key of this process")));

  const std::string page_token = FirstPageToken(alice_);
  v1::ListTokensRequest request;
  request.set_page_size(1);
  request.set_page_token(page_token);
  v1::ListTokensResponse response;
  const grpc::Status continued = v1::TokenService::NewStub((*same_key)->NewChannel())
                                     ->ListTokens(As(alice_).get(), request, &response);
  ASSERT_TRUE(continued.ok()) << continued.error_message();
  EXPECT_EQ(response.tokens_size(), 1);
  EXPECT_EQ(response.tokens(0).name(), "two");

  ExpectRefused(v1::TokenService::NewStub((*own_key)->NewChannel())
                    ->ListTokens(As(alice_).get(), request, &response),
                "a page token from a replica with another key");
}

TEST(PageTokenKeyFlagTest, TheKeyIsNeverPrintedAndAShortOneIsRefusedWithoutQuotingIt) {
  const std::string key = "f00dfeedf00dfeedf00dfeedf00dfeedf00dfeed";
  absl::StatusOr<ChildProcess::Result> help = ChildProcess::Run(
      {TokenServiceBinary(), {"--helpfull"}, {{"TOKEN_SERVICE_PAGE_TOKEN_KEY", key}}, {}},
      std::chrono::seconds(60));
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_THAT(help->out + help->err, HasSubstr("page_token_key"));
  EXPECT_THAT(help->out + help->err, Not(HasSubstr(key)));

  const std::string short_key = "tooshort-secret";
  absl::StatusOr<ChildProcess::Result> refused =
      ChildProcess::Run({TokenServiceBinary(),
                         {"--database_url=postgresql://tokens@127.0.0.1:1/tokens"},
                         {{"TOKEN_SERVICE_PAGE_TOKEN_KEY", short_key}},
                         {}},
                        std::chrono::seconds(60));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->exit_code, 2);
  EXPECT_THAT(refused->err, HasSubstr("--page_token_key"));
  EXPECT_THAT(refused->out + refused->err, Not(HasSubstr(short_key)));
}

}  // namespace
}  // namespace tokens::testing
