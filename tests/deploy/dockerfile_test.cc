// deploy/Dockerfile: the three image targets, each on bookworm-slim as a
// non-root user, with the runtime packages the built binaries actually link
// (read from the binaries with readelf/ldd and mapped by dpkg, on this
// Debian machine: the same release as the images).
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/deploy/deploy_files.h"
#include "tests/support/child_process.h"

namespace tokens::deploy_testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using tokens::testing::ChildProcess;

struct Target {
  const char* stage;
  const char* binary;  // its path in the build tree
};
const Target kTargets[] = {
    {"token-service", TOKEN_SERVICE_BINARY},
    {"token-sidecar", TOKEN_SIDECAR_BINARY},
    {"demo-upstream", DEMO_UPSTREAM_BINARY},
};

// In debian:bookworm-slim already (libstdc++6 and libgcc-s1 because apt
// needs them).
const std::set<std::string> kInBaseImage = {"libc6", "libgcc-s1", "libstdc++6"};

class DeployDockerfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stages_ = ParseDockerfile(ReadFile(RepoPath("deploy/Dockerfile")));
    ASSERT_FALSE(stages_.empty());
  }

  // The instructions of `stage` starting with `keyword` ("USER", ...).
  std::vector<std::string> Instructions(const DockerStage& stage, absl::string_view keyword) const {
    std::vector<std::string> found;
    for (const std::string& instruction : stage.instructions) {
      if (absl::StartsWith(instruction, absl::StrCat(keyword, " "))) {
        found.push_back(std::string(
            absl::StripAsciiWhitespace(absl::string_view(instruction).substr(keyword.size() + 1))));
      }
    }
    return found;
  }

  std::vector<DockerStage> stages_;
};

TEST_F(DeployDockerfileTest, EachTargetIsBookwormSlimAsANonRootUser) {
  for (const Target& target : kTargets) {
    SCOPED_TRACE(target.stage);
    std::vector<const DockerStage*> chain = StageChain(stages_, target.stage);
    ASSERT_FALSE(chain.empty()) << "no stage " << target.stage;
    EXPECT_EQ(chain.back()->base, "debian:bookworm-slim");

    // The user is set in the target itself, numerically (Kubernetes'
    // runAsNonRoot can only verify a numeric user), and is not root.
    std::vector<std::string> users = Instructions(*chain.front(), "USER");
    ASSERT_EQ(users.size(), 1u);
    const std::string uid = std::vector<std::string>(absl::StrSplit(users[0], ':'))[0];
    int uid_number = 0;
    ASSERT_TRUE(absl::SimpleAtoi(uid, &uid_number)) << "USER " << users[0] << " is not numeric";
    EXPECT_NE(uid_number, 0);

    std::vector<std::string> entrypoints = Instructions(*chain.front(), "ENTRYPOINT");
    ASSERT_EQ(entrypoints.size(), 1u);
    EXPECT_EQ(entrypoints[0], absl::StrCat("[\"", target.stage, "\"]"));
    EXPECT_EQ(Instructions(*chain.front(), "COPY").size(), 1u);
    EXPECT_THAT(Instructions(*chain.front(), "COPY")[0],
                HasSubstr(absl::StrCat("/staging/bin/", target.stage)));
  }
}

TEST_F(DeployDockerfileTest, ExposesTheDefaultPortsAndListensOnAllAddresses) {
  const int sidecar_port = SidecarDefaultPort("listen");
  const std::map<std::string, std::string> expected = {
      {"token-service", "50051 9101"},
      {"token-sidecar", absl::StrCat(sidecar_port, " ", SidecarDefaultPort("metrics_listen"))},
      {"demo-upstream", "8081"}};
  for (const auto& [stage_name, ports] : expected) {
    const DockerStage* stage = FindStage(stages_, stage_name);
    ASSERT_NE(stage, nullptr) << stage_name;
    EXPECT_THAT(Instructions(*stage, "EXPOSE"), ::testing::ElementsAre(ports)) << stage_name;
    // A container's loopback is its own: the default 127.0.0.1 would make
    // the server unreachable.
    std::vector<std::string> env = Instructions(*stage, "ENV");
    ASSERT_EQ(env.size(), 1u) << stage_name;
    EXPECT_THAT(env[0], HasSubstr("=0.0.0.0:")) << stage_name;
  }
}

TEST_F(DeployDockerfileTest, TheBuildCopiesEverySourceDirectoryTheBuildReads) {
  const DockerStage* build = FindStage(stages_, "build");
  ASSERT_NE(build, nullptr);
  std::set<std::string> copied;
  for (const std::string& copy : Instructions(*build, "COPY")) {
    copied.insert(std::vector<std::string>(absl::StrSplit(copy, ' '))[0]);
  }
  EXPECT_EQ(copied.count("CMakeLists.txt"), 1u);
  EXPECT_EQ(copied.count("cmake"), 1u);
  // Every add_subdirectory() of the top CMakeLists.txt but the optional
  // tests, benchmarks and fuzzers, which the image build leaves off.
  const std::string cmake = ReadFile(RepoPath("CMakeLists.txt"));
  static const std::regex kSubdirectory(R"(add_subdirectory\(([^)/\s]+))");
  int subdirectories = 0;
  for (auto it = std::sregex_iterator(cmake.begin(), cmake.end(), kSubdirectory);
       it != std::sregex_iterator(); ++it) {
    const std::string dir = (*it)[1];
    if (dir == "tests" || dir == "bench" || dir == "fuzz") continue;
    ++subdirectories;
    EXPECT_EQ(copied.count(dir), 1u) << dir << " is built but not copied into the build stage";
  }
  EXPECT_GT(subdirectories, 0);
  const std::string run = absl::StrJoin(Instructions(*build, "RUN"), "\n");
  EXPECT_THAT(run, HasSubstr("-DTOKENS_BUILD_TESTS=OFF"));
  EXPECT_THAT(run, HasSubstr("-DTOKENS_BUILD_BENCH=OFF"));
  EXPECT_THAT(run, HasSubstr("-DCMAKE_BUILD_TYPE=Release"));
  EXPECT_THAT(run, HasSubstr("cmake --install"));
}

// The spellings of a library's path that dpkg may know it by: as given,
// resolved, and with or without /usr (bookworm merges /lib into /usr/lib).
std::vector<std::string> PathSpellings(const std::string& path) {
  std::vector<std::string> spellings = {path};
  std::error_code error;
  const std::string real = std::filesystem::canonical(path, error).string();
  if (!error) spellings.push_back(real);
  for (const std::string& p : std::vector<std::string>(spellings)) {
    spellings.push_back(absl::StartsWith(p, "/usr/") ? p.substr(4) : "/usr" + p);
  }
  return spellings;
}

// The packages of the libraries `binary` links directly (its NEEDED
// entries); the dependencies of those come with them.
std::set<std::string> NeededPackages(const std::string& binary) {
  constexpr auto kToolTimeout = std::chrono::seconds(60);
  absl::StatusOr<ChildProcess::Result> dynamic =
      ChildProcess::Run({"readelf", {"--dynamic", binary}, {}, {}}, kToolTimeout);
  EXPECT_TRUE(dynamic.ok() && dynamic->exit_code == 0) << "readelf " << binary;
  absl::StatusOr<ChildProcess::Result> resolved =
      ChildProcess::Run({"ldd", {binary}, {}, {}}, kToolTimeout);
  EXPECT_TRUE(resolved.ok() && resolved->exit_code == 0) << "ldd " << binary;
  if (!dynamic.ok() || !resolved.ok()) return {};

  // ldd: "\tlibfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)"
  std::map<std::string, std::string> paths;
  for (absl::string_view line : absl::StrSplit(resolved->out, '\n')) {
    std::vector<std::string> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipWhitespace());
    if (words.size() >= 3 && words[1] == "=>") paths[words[0]] = words[2];
  }
  // readelf: "0x... (NEEDED)  Shared library: [libfoo.so.1]"
  static const std::regex kNeeded(R"(\(NEEDED\)\s+Shared library: \[([^\]]+)\])");
  std::map<std::string, std::vector<std::string>> spellings;  // soname -> paths
  std::vector<std::string> query = {"-S"};
  for (auto it = std::sregex_iterator(dynamic->out.begin(), dynamic->out.end(), kNeeded);
       it != std::sregex_iterator(); ++it) {
    const std::string soname = (*it)[1];
    auto path = paths.find(soname);
    if (path == paths.end()) {
      ADD_FAILURE() << binary << ": ldd does not resolve " << soname;
      continue;
    }
    spellings[soname] = PathSpellings(path->second);
    query.insert(query.end(), spellings[soname].begin(), spellings[soname].end());
  }

  // One dpkg-query for all of them ("libfoo1:amd64: /usr/lib/.../libfoo.so.1"
  // per path it knows; it exits 1 for the spellings it does not).
  absl::StatusOr<ChildProcess::Result> owners =
      ChildProcess::Run({"dpkg-query", query, {}, {}}, kToolTimeout);
  EXPECT_TRUE(owners.ok()) << owners.status();
  if (!owners.ok()) return {};
  std::map<std::string, std::string> owner_of;  // path -> package
  for (absl::string_view line : absl::StrSplit(owners->out, '\n', absl::SkipEmpty())) {
    const size_t separator = line.find(": ");
    if (separator == absl::string_view::npos) continue;
    const std::string package(line.substr(0, line.find(':')));
    owner_of[std::string(line.substr(separator + 2))] = package;
  }
  std::set<std::string> packages;
  for (const auto& [soname, candidates] : spellings) {
    std::string package;
    for (const std::string& candidate : candidates) {
      if (owner_of.count(candidate) > 0) package = owner_of[candidate];
    }
    if (package.empty()) {
      ADD_FAILURE() << binary << ": no Debian package owns " << candidates[0];
    } else {
      packages.insert(package);
    }
  }
  return packages;
}

TEST_F(DeployDockerfileTest, EachImageInstallsThePackagesItsBinaryLinks) {
  for (const Target& target : kTargets) {
    SCOPED_TRACE(target.stage);
    std::set<std::string> installed(kInBaseImage);
    for (const DockerStage* stage : StageChain(stages_, target.stage)) {
      for (const std::string& package : AptInstalledPackages(*stage)) installed.insert(package);
    }
    const std::set<std::string> needed = NeededPackages(target.binary);
    EXPECT_FALSE(needed.empty());
    for (const std::string& package : needed) {
      EXPECT_EQ(installed.count(package), 1u) << target.binary << " links a library of " << package
                                              << ", which the image does not install";
    }
    // No -dev package in an image.
    for (const std::string& package : installed) {
      EXPECT_FALSE(absl::EndsWith(package, "-dev")) << package;
    }
  }
}

}  // namespace
}  // namespace tokens::deploy_testing
