// No deployment file carries a token: secrets reach the containers from the
// environment, a Secret or a volume written at run time, never from the
// repository.
#include <filesystem>
#include <string>
#include <vector>

#include "common/token/random.h"
#include "common/token/token_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"

namespace tokens::deploy_testing {
namespace {

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

}  // namespace
}  // namespace tokens::deploy_testing
