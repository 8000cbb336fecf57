// The issuance policy and the input rules that an outside security review
// found missing (issue #14), over real gRPC against the real token-service
// binary and a real PostgreSQL: a token cannot issue tokens that outlive it,
// live tokens per user are capped (also under concurrent creates), issuing
// is rate-limited per caller, a disabled user gets no new secret, invisible
// and look-alike names are refused or normalized, the name filter neither
// matches everything on a NUL nor ignores the case of non-ASCII letters, and
// ReportUsage takes only IP addresses as client addresses.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/user_change.h"

namespace tokens::testing {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PolicyTest : public TokenServiceTest {
 protected:
  // A new admin token from `bootstrap-admin`, which has no caller token.
  std::string BootstrapAdmin(const std::string& expires_on) {
    absl::StatusOr<ChildProcess::Result> run =
        RunTokenService({"bootstrap-admin", "--user", "admin", "--expires_on", expires_on,
                         "--database_url", database_url_});
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return "";
    EXPECT_EQ(run->exit_code, 0) << run->err;
    return std::string(absl::StripSuffix(run->out, "\n"));
  }

  void CreateUser(const std::string& user_id, v1::Role role = v1::USER) {
    v1::CreateUserRequest request;
    request.set_user_id(user_id);
    request.set_display_name("User " + user_id);
    request.set_role(role);
    v1::User user;
    grpc::Status status = users_->CreateUser(As(admin_token_).get(), request, &user);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void SetDisabled(const std::string& user_id, bool disabled) {
    v1::User user;
    grpc::Status status =
        users_->UpdateUser(As(admin_token_).get(), UserChange(user_id).Disabled(disabled), &user);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  // CreateToken as the owner of `caller`, or for `user_id` when it is set.
  grpc::Status Create(const std::string& caller, const std::string& name,
                      const std::string& expires_on, v1::CreateTokenResponse* out = nullptr,
                      const std::string& user_id = "") {
    v1::CreateTokenRequest request;
    request.set_name(name);
    request.set_expires_on(expires_on);
    request.set_user_id(user_id);
    v1::CreateTokenResponse ignored;
    return tokens_->CreateToken(As(caller).get(), request, out != nullptr ? out : &ignored);
  }

  grpc::Status Rotate(const std::string& caller, const std::string& id,
                      v1::RotateTokenResponse* out = nullptr) {
    v1::RotateTokenRequest request;
    request.set_id(id);
    v1::RotateTokenResponse ignored;
    return tokens_->RotateToken(As(caller).get(), request, out != nullptr ? out : &ignored);
  }

  grpc::Status Revoke(const std::string& caller, const std::string& id) {
    v1::RevokeTokenRequest request;
    request.set_id(id);
    v1::Token revoked;
    return tokens_->RevokeToken(As(caller).get(), request, &revoked);
  }

  // The names ListTokens shows `caller` for `name_contains`, newest first.
  std::vector<std::string> NamesContaining(const std::string& caller,
                                           const std::string& name_contains) {
    v1::ListTokensRequest request;
    request.set_name_contains(name_contains);
    v1::ListTokensResponse response;
    grpc::Status status = tokens_->ListTokens(As(caller).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> names;
    for (const v1::Token& t : response.tokens()) names.push_back(t.name());
    return names;
  }

  int LiveTokensOf(const std::string& user_id) {
    return std::stoi(Sql("SELECT count(*) FROM tokens WHERE user_id = '" + user_id +
                         "' AND revoked_at IS NULL AND expires_on > current_date")[0]);
  }
};

// Expects INVALID_ARGUMENT naming exactly `field`.
void ExpectFieldError(const grpc::Status& status, const std::string& field) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(ViolatedFields(status), ElementsAre(field)) << status.error_message();
}

// --- Lifetime: nothing a token issues outlives it ----------------------------

TEST_F(PolicyTest, ATokenCannotIssueATokenThatOutlivesIt) {
  // bootstrap-admin has no caller token, so it may issue a token for a year.
  const std::string long_admin = BootstrapAdmin(DateFromToday(365));
  ASSERT_FALSE(long_admin.empty());
  CreateUser("alice");
  v1::CreateTokenResponse short_lived, long_lived;
  ASSERT_TRUE(Create(long_admin, "short", DateFromToday(1), &short_lived, "alice").ok());
  ASSERT_TRUE(Create(long_admin, "long", DateFromToday(365), &long_lived, "alice").ok());
  const std::string tomorrow = short_lived.token().expires_on();

  // The review's finding: a token expiring tomorrow created one for a year.
  std::string before = DatabaseDigest();
  grpc::Status status = Create(short_lived.secret(), "escape", DateFromToday(365));
  ExpectFieldError(status, "expires_on");
  EXPECT_THAT(status.error_message(), HasSubstr(tomorrow));
  EXPECT_EQ(DatabaseDigest(), before) << "a refused create wrote something";
  // Up to its own expiry is fine.
  EXPECT_TRUE(Create(short_lived.secret(), "same day", tomorrow).ok());

  // Admins minting for others are bound by their own token too.
  const std::string month_admin = BootstrapAdmin(DateFromToday(30));
  before = DatabaseDigest();
  ExpectFieldError(Create(month_admin, "from admin", DateFromToday(31), nullptr, "alice"),
                   "expires_on");
  EXPECT_EQ(DatabaseDigest(), before);

  // Rotation keeps the expiry, so a token may not rotate one that outlives it.
  status = Rotate(short_lived.secret(), long_lived.token().id());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(tomorrow));
  EXPECT_EQ(DatabaseDigest(), before);
  v1::RotateTokenResponse rotated;
  status = Rotate(long_lived.secret(), long_lived.token().id(), &rotated);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(rotated.token().expires_on(), DateFromToday(365));
}

// --- Quota: a cap on live tokens, a rate limit on issuing --------------------

TEST_F(PolicyTest, LiveTokensPerUserAreCapped) {
  RestartService({"--max_live_tokens_per_user", "3"});
  const std::string alice = NewUserWithToken("alice", v1::USER);  // live: 1
  MustCreate(alice, "two");
  const v1::CreateTokenResponse three = MustCreate(alice, "three");

  const std::string before = DatabaseDigest();
  grpc::Status status = Create(alice, "four", DateFromToday(30));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("3 active tokens"));
  // An admin minting for alice meets the same cap.
  status = Create(admin_token_, "from admin", DateFromToday(30), nullptr, "alice");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(DatabaseDigest(), before) << "a refused create wrote something";
  EXPECT_EQ(LiveTokensOf("alice"), 3);

  // The cap is per user.
  NewUserWithToken("bob", v1::USER);
  // Revoking one makes room; rotating needs none (one goes, one comes).
  ASSERT_TRUE(Revoke(alice, three.token().id()).ok());
  v1::CreateTokenResponse four;
  ASSERT_TRUE(Create(alice, "four", DateFromToday(30), &four).ok());
  status = Rotate(alice, four.token().id());
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(LiveTokensOf("alice"), 3);
}

TEST_F(PolicyTest, ConcurrentCreatesNeverExceedTheCap) {
  constexpr int kCap = 5;
  constexpr int kCallers = 16;
  RestartService(
      {"--max_live_tokens_per_user", std::to_string(kCap), "--token_create_burst", "100"});
  const std::string alice = NewUserWithToken("alice", v1::USER);  // live: 1

  std::vector<grpc::Status> results(kCallers);
  std::vector<std::thread> threads;
  std::atomic<int> ready{0};
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      // Start together, so that the creates really race.
      ++ready;
      while (ready.load() < kCallers) std::this_thread::yield();
      results[i] = Create(alice, absl::StrCat("racer ", i), DateFromToday(30));
    });
  }
  for (std::thread& t : threads) t.join();

  int created = 0;
  for (const grpc::Status& status : results) {
    if (status.ok()) {
      ++created;
    } else {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
          << status.error_message();
    }
  }
  EXPECT_EQ(created, kCap - 1);
  EXPECT_EQ(LiveTokensOf("alice"), kCap);
}

TEST_F(PolicyTest, IssuingIsRateLimitedPerCaller) {
  constexpr int kBurst = 5;
  // One token a minute after the burst: the loop below is refused long
  // before a minute could pass.
  RestartService({"--token_create_rate", "1", "--token_create_burst", std::to_string(kBurst)});
  CreateUser("alice");
  v1::CreateTokenResponse first;
  ASSERT_TRUE(Create(admin_token_, "first", DateFromToday(30), &first, "alice").ok());
  const std::string alice = first.secret();

  int created = 0;
  grpc::Status refused;
  for (int i = 0; i < 50 && refused.ok(); ++i) {
    const std::string before = DatabaseDigest();
    grpc::Status status = Create(alice, absl::StrCat("burst ", i), DateFromToday(30));
    if (status.ok()) {
      ++created;
    } else {
      refused = status;
      EXPECT_EQ(DatabaseDigest(), before) << "a refused create wrote something";
    }
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_THAT(refused.error_message(), HasSubstr("try again"));
  EXPECT_GE(created, kBurst);
  // Rotating issues a token too.
  grpc::Status status = Rotate(alice, first.token().id());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();

  // Other callers have buckets of their own.
  const std::string bob = NewUserWithToken("bob", v1::USER);
  EXPECT_TRUE(Create(bob, "bob's", DateFromToday(30)).ok());
}

// --- A disabled user gets no new secret --------------------------------------

TEST_F(PolicyTest, ADisabledUsersTokensCannotBeRotatedOrCreated) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse token = MustCreate(alice, "deploy");
  SetDisabled("alice", true);

  const std::string before = DatabaseDigest();
  grpc::Status status = Rotate(admin_token_, token.token().id());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("disabled"));
  ExpectFieldError(Create(admin_token_, "for alice", DateFromToday(30), nullptr, "alice"),
                   "user_id");
  EXPECT_EQ(DatabaseDigest(), before) << "a refused call wrote something";

  SetDisabled("alice", false);
  status = Rotate(admin_token_, token.token().id());
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// --- Names: invisible, look-alike and differently encoded --------------------

TEST_F(PolicyTest, InvisibleAndLookAlikeNamesAreRefused) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string before = DatabaseDigest();
  struct Case {
    std::string label;
    std::string name;
  };
  const std::vector<Case> refused = {
      {"right-to-left override U+202E", "invoice\xE2\x80\xAEtxt.exe"},
      {"zero-width space U+200B", "prod\xE2\x80\x8B"},
      {"only a zero-width space", "\xE2\x80\x8B"},
      {"byte order mark U+FEFF", "\xEF\xBB\xBFprod"},
      {"bidi isolate U+2066", "a\u2066b"},
      {"only no-break and ideographic spaces", "\xC2\xA0\xE3\x80\x80"},
      {"only a Hangul filler U+3164", "\xE3\x85\xA4"},
      {"only a combining accent", "\xCC\x81"},
  };
  for (const Case& c : refused) {
    SCOPED_TRACE(c.label);
    ExpectFieldError(Create(alice, c.name, DateFromToday(30)), "name");
  }
  EXPECT_EQ(DatabaseDigest(), before) << "a refused create wrote something";

  // Unicode spaces around a name are trimmed, so this is "prod" again.
  ASSERT_TRUE(Create(alice, "prod", DateFromToday(30)).ok());
  ExpectFieldError(Create(alice, "\xE3\x80\x80prod\xC2\xA0", DateFromToday(30)), "name");
  // "café" with a combining accent is stored composed (NFC), and is then the
  // same name as the precomposed one.
  v1::CreateTokenResponse decomposed;
  ASSERT_TRUE(Create(alice, "cafe\xCC\x81", DateFromToday(30), &decomposed).ok());
  EXPECT_EQ(decomposed.token().name(), "caf\xC3\xA9");
  ExpectFieldError(Create(alice, "caf\xC3\xA9", DateFromToday(30)), "name");

  // Display names follow the same rules.
  v1::CreateUserRequest user;
  user.set_user_id("mallory");
  user.set_display_name("admin\xE2\x80\xAE");
  v1::User created_user;
  ExpectFieldError(users_->CreateUser(As(admin_token_).get(), user, &created_user), "display_name");
}

TEST_F(PolicyTest, NameContainsRefusesControlsAndFoldsCase) {
  const std::string alice = NewUserWithToken("alice", v1::USER);
  MustCreate(alice, "\u00C9cole prod");
  MustCreate(alice, "Stra\u00DFe");

  // A NUL used to end the filter early and match every token.
  v1::ListTokensRequest request;
  request.set_name_contains(std::string("\0", 1));
  v1::ListTokensResponse response;
  ExpectFieldError(tokens_->ListTokens(As(alice).get(), request, &response), "name_contains");
  request.set_name_contains("prod\xE2\x80\xAE");
  ExpectFieldError(tokens_->ListTokens(As(alice).get(), request, &response), "name_contains");

  EXPECT_THAT(NamesContaining(alice, "\u00E9cole"), ElementsAre("\u00C9cole prod"));
  EXPECT_THAT(NamesContaining(alice, "\u00C9COLE"), ElementsAre("\u00C9cole prod"));
  // Decomposed "é" finds the composed one.
  EXPECT_THAT(NamesContaining(alice, "e\u0301cole"), ElementsAre("\u00C9cole prod"));
  // Full case folding: "ß" matches "SS".
  EXPECT_THAT(NamesContaining(alice, "STRASSE"), ElementsAre("Stra\u00DFe"));
  EXPECT_THAT(NamesContaining(alice, "PROD"), ElementsAre("\u00C9cole prod"));
}

// --- ReportUsage: client addresses are IP addresses --------------------------

TEST_F(PolicyTest, ReportUsageRefusesAClientAddressThatIsNotAnIp) {
  const std::string svc = NewUserWithToken("svc", v1::SERVICE);
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse token = MustCreate(alice, "used");
  const auto report = [&](const std::string& address) {
    v1::ReportUsageRequest request;
    v1::TokenUsage* usage = request.add_usages();
    usage->set_token_id(token.token().id());
    *usage->mutable_last_used_at() = TimeUtil::GetCurrentTime();
    usage->set_client_address(address);
    v1::ReportUsageResponse response;
    return sync_->ReportUsage(As(svc).get(), request, &response);
  };

  const std::string before = DatabaseDigest();
  for (const std::string address : {"deadbeef", ":::", "...", "1.2.3", "1.2.3.4.5", "256.0.0.1",
                                    "1:2:3:4:5:6:7:8:9", "cafe", "::1::2", "1.2.3.4:"}) {
    SCOPED_TRACE(address);
    ExpectFieldError(report(address), "usages[0].client_address");
  }
  EXPECT_EQ(DatabaseDigest(), before) << "a refused batch wrote something";

  for (const std::string address : {"192.0.2.7", "2001:db8::1", "::ffff:192.0.2.1", "::1", ""}) {
    SCOPED_TRACE(address);
    grpc::Status status = report(address);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

}  // namespace
}  // namespace tokens::testing
