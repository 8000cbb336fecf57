// No deployment file carries a token or a private key: secrets reach the
// containers from the environment, a Secret or a volume written at run time,
// never from the repository.
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"

namespace tokens::deploy_testing {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// docker-compose.yml, .dockerignore and everything under deploy/.
std::vector<std::string> DeploymentFiles() {
  std::vector<std::string> files = {RepoPath("docker-compose.yml"), RepoPath(".dockerignore")};
  for (const auto& entry : std::filesystem::recursive_directory_iterator(RepoPath("deploy"))) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  return files;
}

TEST(DeployNoSecretsTest, TheScannerFindsRealTokensOfAnyPrefix) {
  SystemRandom random;
  for (const char* prefix : {"utk", "x", "acme2"}) {
    const std::string token = TokenCodec(prefix).Generate(random);
    EXPECT_THAT(TokenShapedStrings("TOKEN=" + token + "\n"), ElementsAre(token)) << prefix;
  }
  EXPECT_THAT(TokenShapedStrings("CHANGE_ME_to_the_output_of_bootstrap-service"), IsEmpty());
}

TEST(DeployNoSecretsTest, NoDeploymentFileHoldsAToken) {
  const std::vector<std::string> files = DeploymentFiles();
  EXPECT_GE(files.size(), 10u);
  for (const std::string& file : files) {
    EXPECT_THAT(TokenShapedStrings(ReadFile(file)), IsEmpty()) << file;
  }
}

// A key as deploy/tls/make-certs.sh writes it (and so as an operator
// following the docs would have one).
std::string KeyMadeByTheScript() {
  const std::string dir = ::testing::TempDir() + "/no-secrets-certs-" + std::to_string(getpid());
  const ToolResult made = RunTool(RepoPath("deploy/tls/make-certs.sh"), {"client", dir, "someone"});
  EXPECT_EQ(made.exit_code, 0) << made.err;
  const std::string key = ReadFile(dir + "/someone.key");
  std::filesystem::remove_all(dir);
  return key;
}

TEST(DeployNoSecretsTest, TheScannerFindsARealPrivateKey) {
  const std::string key = KeyMadeByTheScript();
  ASSERT_FALSE(key.empty());
  EXPECT_EQ(PrivateKeyBlocks("tls.key: |\n" + key).size(), 1u) << "a key the scanner misses";
  // Naming the format is not a key.
  EXPECT_THAT(PrivateKeyBlocks("a file that starts with -----BEGIN PRIVATE KEY-----\n"), IsEmpty());
}

TEST(DeployNoSecretsTest, NoDeploymentFileOrDocumentHoldsAPrivateKey) {
  std::vector<std::string> files = DeploymentFiles();
  files.push_back(RepoPath("README.md"));
  for (const auto& entry : std::filesystem::directory_iterator(RepoPath("docs"))) {
    if (entry.path().extension() == ".md") files.push_back(entry.path().string());
  }
  for (const std::string& file : files) {
    EXPECT_THAT(PrivateKeyBlocks(ReadFile(file)), IsEmpty()) << file;
  }
}

TEST(DeployNoSecretsTest, TheDocumentedCertificateDirectoryIsIgnoredByGit) {
  // The Kubernetes instructions have the files made in the work tree, under
  // .local/, where `git add` cannot pick up a key by accident.
  static const std::regex kMakeCerts(R"(make-certs\.sh (ca|server|client) (\S+))");
  int commands = 0;
  for (const char* doc : {"deploy/README.md", "deploy/k8s/tls-secrets.example.yaml"}) {
    const std::string text = ReadFile(RepoPath(doc));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), kMakeCerts);
         it != std::sregex_iterator(); ++it) {
      ++commands;
      const std::string dir = (*it)[2];
      // A directory inside a container (docker-compose's certs service) is
      // not in the work tree.
      if (absl::StartsWith(dir, "/run/")) continue;
      EXPECT_TRUE(absl::StartsWith(dir, ".local/")) << doc << ": make-certs.sh writes to " << dir;
    }
  }
  EXPECT_GE(commands, 2);
  const std::string gitignore = ReadFile(RepoPath(".gitignore"));
  EXPECT_THAT(absl::StrSplit(gitignore, '\n'), Contains(".local/"));
}

}  // namespace
}  // namespace tokens::deploy_testing
