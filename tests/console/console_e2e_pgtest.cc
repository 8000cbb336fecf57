// The web console end to end: console_e2e.mjs drives Debian's headless
// chromium with puppeteer-core through every screen of the console served
// by the real token-service's HTTP face, and calls the real token-sidecar's
// Check with the secret it copied, all on a private PostgreSQL. This side
// starts the stack (token-service with a catalogue of two scopes), hands the
// script its addresses and the bootstrap admin token (in its environment,
// never on a command line), and afterwards checks over gRPC that what the
// browser did happened in the service.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/sidecar/sidecar_fixture.h"

namespace tokens::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;

// The script's own steps poll with bounded waits; this only ends a hung
// browser.
constexpr std::chrono::minutes kScriptTimeout(10);

// Fails (never skips) when a program the test runs is missing, naming what
// installs it.
void ExpectExecutable(const std::string& path, const std::string& what) {
  EXPECT_EQ(access(path.c_str(), X_OK), 0)
      << what << " not found at " << path
      << ": scripts/install-deps.sh installs it (see docs/console.md)";
}

using ConsoleE2ETest = SidecarTest;

TEST_F(ConsoleE2ETest, EveryScreenInHeadlessChromium) {
  ExpectExecutable(CONSOLE_E2E_NODE, "node");
  ExpectExecutable(CONSOLE_E2E_CHROMIUM, "chromium (Debian's package)");
  ExpectExecutable(CONSOLE_E2E_BUF, "buf (npm @bufbuild/buf)");
  const fs::path puppeteer =
      fs::path(CONSOLE_E2E_DIR) / "node_modules" / "puppeteer-core" / "package.json";
  EXPECT_TRUE(fs::exists(puppeteer))
      << "puppeteer-core is not installed in " << CONSOLE_E2E_DIR
      << ": scripts/install-deps.sh runs npm ci of tests/console/package-lock.json there "
         "(or configure with -DTOKENS_CONSOLE_E2E_DIR=<where it is installed>)";
  ASSERT_FALSE(HasFailure()) << "the console's browser test cannot run";
  // The catalogue the create dialog offers as checkboxes and the warning
  // thresholds whose largest decides the expiry badge (the script's
  // CATALOGUE and WARNING_DAYS); the sidecar follows the restarted
  // token-service.
  sidecar_.reset();
  RestartService({"--token_scopes=things:read,things:write", "--expiry_warning_days=10,1"});
  ASSERT_FALSE(HasFatalFailure());
  sidecar_ = StartSidecar();
  ASSERT_NE(sidecar_, nullptr);
  ASSERT_FALSE(service_->http_address().empty()) << "no \"http\" in token-service's ready file";
  // This run's pictures only (a failure.png of an earlier one would mislead).
  fs::remove_all(CONSOLE_E2E_SCREENSHOTS);
  fs::create_directories(CONSOLE_E2E_SCREENSHOTS);

  absl::StatusOr<ChildProcess::Result> run = ChildProcess::Run(
      {CONSOLE_E2E_NODE,
       {CONSOLE_E2E_SCRIPT},
       {{"CONSOLE_E2E_URL", absl::StrCat("http://", service_->http_address(), "/")},
        {"CONSOLE_E2E_SIDECAR", sidecar_->address()},
        {"CONSOLE_E2E_ADMIN_TOKEN", admin_token_},
        {"CONSOLE_E2E_DIR", CONSOLE_E2E_DIR},
        {"CONSOLE_E2E_CHROMIUM", CONSOLE_E2E_CHROMIUM},
        {"CONSOLE_E2E_BUF", CONSOLE_E2E_BUF},
        {"CONSOLE_E2E_AUTHZ_SCHEMA", CONSOLE_E2E_AUTHZ_SCHEMA},
        {"CONSOLE_E2E_SCREENSHOTS", CONSOLE_E2E_SCREENSHOTS},
        {"PUPPETEER_SKIP_DOWNLOAD", "1"}},
       {}},
      kScriptTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  std::cout << run->out;
  ASSERT_EQ(run->exit_code, 0) << "console_e2e.mjs failed:\n" << run->err;
  // It never prints a secret, only hints.
  const std::regex secret(R"(utk_[0-9A-Za-z]{39})");
  EXPECT_FALSE(std::regex_search(run->out, secret));
  EXPECT_FALSE(std::regex_search(run->err, secret));

  // What the browser did, seen over gRPC: the token it created and revoked,
  // and the user it created with a token of theirs.
  v1::ListTokensRequest request;
  request.set_all_users(true);
  request.set_page_size(100);
  v1::ListTokensResponse tokens;
  const grpc::Status listed = tokens_->ListTokens(As(admin_token_).get(), request, &tokens);
  ASSERT_TRUE(listed.ok()) << listed.error_message();
  std::vector<std::string> rows;
  std::vector<std::string> scoped;
  for (const v1::Token& token : tokens.tokens()) {
    rows.push_back(absl::StrCat(token.user_id(), " ", token.name(), " ",
                                v1::TokenStatus_Name(token.status())));
    if (!token.scopes().empty()) {
      scoped.push_back(absl::StrCat(token.user_id(), " ", token.name(), ": ",
                                    absl::StrJoin(token.scopes(), " ")));
    }
  }
  EXPECT_THAT(rows, Contains("admin e2e-copied-token REVOKED"));
  EXPECT_THAT(rows, Contains("bob <img src=x onerror=alert(1)> ACTIVE"));
  // The checkbox chosen, and only there: every other token has its user's
  // full access. Newest first.
  EXPECT_THAT(scoped, ElementsAre("admin e2e-scoped-child: things:read",
                                  "admin e2e-read-only: things:read"));
}

}  // namespace
}  // namespace tokens::testing
