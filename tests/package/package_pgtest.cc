// The installed package as another team uses it (docs/client.md): this
// build's `cmake --install` into a fresh prefix; examples/echo configured and
// built against that prefix as a project of its own; a program compiled with
// nothing but pkg-config's flags. Both then authenticate callers through the
// real token-sidecar, in front of the real token-service and PostgreSQL.
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "echo.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/child_process.h"

namespace tokens::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
namespace echo = examples::echo::v1;

// Builds are slow on a loaded machine; this bounds a hang, it asserts nothing.
constexpr std::chrono::minutes kBuildTimeout(15);

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a build step; its output in the error if it fails.
absl::Status RunStep(ChildProcess::Options options) {
  const std::string command = absl::StrCat(options.binary, " ", absl::StrJoin(options.args, " "));
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run(std::move(options), kBuildTimeout);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat(command, " exited ", result->exit_code, ":\n",
                                            result->out, "\n", result->err));
  }
  return absl::OkStatus();
}

// What the suite builds once: the install, and the two programs built
// against it.
struct Package {
  fs::path dir;  // a fresh temporary directory, removed at the end
  fs::path prefix;
  fs::path echo_build;
  fs::path pkg_config_client;
  std::vector<std::string> pkg_config_flags;
  absl::Status status;
};

Package* package = nullptr;

absl::Status BuildPackage(Package& p) {
  // The install, as the README has it.
  if (absl::Status s =
          RunStep({PACKAGE_TEST_CMAKE,
                   {"--install", PACKAGE_TEST_BINARY_DIR, "--prefix", p.prefix.string()},
                   {},
                   {"DESTDIR"}});
      !s.ok()) {
    return s;
  }

  // examples/echo as its own project, finding the package in the prefix only.
  std::vector<std::string> configure = {
      "-S",
      absl::StrCat(PACKAGE_TEST_SOURCE_DIR, "/examples/echo"),
      "-B",
      p.echo_build.string(),
      "-G",
      PACKAGE_TEST_GENERATOR,
      absl::StrCat("-DCMAKE_MAKE_PROGRAM=", PACKAGE_TEST_MAKE_PROGRAM),
      absl::StrCat("-DCMAKE_CXX_COMPILER=", PACKAGE_TEST_CXX),
      absl::StrCat("-DCMAKE_BUILD_TYPE=", PACKAGE_TEST_BUILD_TYPE),
      absl::StrCat("-DCMAKE_PREFIX_PATH=", p.prefix.string())};
  const std::string extra_flags = PACKAGE_TEST_CXX_FLAGS;
  if (!extra_flags.empty()) {
    configure.push_back(absl::StrCat("-DCMAKE_CXX_FLAGS=", extra_flags));
    configure.push_back(absl::StrCat("-DCMAKE_EXE_LINKER_FLAGS=", extra_flags));
  }
  if (absl::Status s = RunStep({PACKAGE_TEST_CMAKE, configure, {}, {"CMAKE_PREFIX_PATH"}});
      !s.ok()) {
    return s;
  }
  if (absl::Status s = RunStep(
          {PACKAGE_TEST_CMAKE, {"--build", p.echo_build.string(), "--parallel", "2"}, {}, {}});
      !s.ok()) {
    return s;
  }

  // pkg_config_client.cc with pkg-config's flags and nothing else.
  const std::string pc_path = (p.prefix / PACKAGE_TEST_LIBDIR / "pkgconfig").string();
  absl::StatusOr<ChildProcess::Result> flags =
      ChildProcess::Run({PACKAGE_TEST_PKG_CONFIG,
                         {"--cflags", "--libs", "user-tokens-auth-client"},
                         {{"PKG_CONFIG_PATH", pc_path}},
                         {"PKG_CONFIG_LIBDIR"}},
                        kBuildTimeout);
  if (!flags.ok()) return flags.status();
  if (flags->exit_code != 0) {
    return absl::InternalError(absl::StrCat("pkg-config failed: ", flags->err));
  }
  p.pkg_config_flags =
      absl::StrSplit(absl::StripAsciiWhitespace(flags->out), ' ', absl::SkipWhitespace());
  std::vector<std::string> compile = {
      "-std=c++17", absl::StrCat(PACKAGE_TEST_SOURCE_DIR, "/tests/package/pkg_config_client.cc"),
      "-o", p.pkg_config_client.string()};
  for (absl::string_view flag : absl::StrSplit(extra_flags, ' ', absl::SkipWhitespace())) {
    compile.emplace_back(flag);
  }
  compile.insert(compile.end(), p.pkg_config_flags.begin(), p.pkg_config_flags.end());
  return RunStep({PACKAGE_TEST_CXX, compile, {}, {}});
}

class PackageTest : public SidecarTest {
 protected:
  static void SetUpTestSuite() {
    package = new Package;
    std::string dir_template = (fs::temp_directory_path() / "user_tokens_package.XXXXXX").string();
    if (mkdtemp(dir_template.data()) == nullptr) {
      package->status = absl::InternalError("mkdtemp failed");
      return;
    }
    package->dir = dir_template;
    package->prefix = package->dir / "prefix";
    package->echo_build = package->dir / "echo-build";
    package->pkg_config_client = package->dir / "pkg_config_client";
    package->status = BuildPackage(*package);
  }

  static void TearDownTestSuite() {
    std::error_code ignored;
    if (!package->dir.empty()) fs::remove_all(package->dir, ignored);
    delete package;
    package = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(package->status.ok()) << package->status;
    SidecarTest::SetUp();
  }

  // Starts the example built against the install, on `api`.
  std::unique_ptr<ChildProcess> StartEcho(const std::string& api, std::string* address) {
    absl::StatusOr<std::unique_ptr<ChildProcess>> echo = ChildProcess::Spawn(
        {(package->echo_build / "example-echo-service").string(),
         {"--listen", "127.0.0.1:0", "--sidecar", sidecar_->address(), "--api", api,
          // Generous: the assertions are about verdicts, never about time.
          "--sidecar_timeout", "30s"},
         {},
         {}});
    EXPECT_TRUE(echo.ok()) << echo.status();
    if (!echo.ok()) return nullptr;
    absl::StatusOr<std::string> listening = (*echo)->WaitUntilListening(std::chrono::seconds(60));
    EXPECT_TRUE(listening.ok()) << listening.status();
    if (!listening.ok()) return nullptr;
    *address = *listening;
    return std::move(*echo);
  }
};

TEST_F(PackageTest, InstallsTheLibrariesHeadersProtosAndPackageFiles) {
  const fs::path& prefix = package->prefix;
  const fs::path include = prefix / "include" / "user_tokens";
  const fs::path lib = prefix / PACKAGE_TEST_LIBDIR;
  for (const fs::path& file :
       {include / "auth_client/sidecar_authenticator.h", include / "tokens/v1/tokens.pb.h",
        include / "tokens/v1/tokens.grpc.pb.h", include / "tokens/v1/authenticator.pb.h",
        include / "tokens/v1/authenticator.grpc.pb.h", lib / "libuser_tokens_auth_client.a",
        lib / "libuser_tokens_protos.a", lib / "cmake/UserTokens/UserTokensConfig.cmake",
        lib / "cmake/UserTokens/UserTokensConfigVersion.cmake",
        lib / "pkgconfig/user-tokens-auth-client.pc", lib / "pkgconfig/user-tokens-protos.pc",
        prefix / "share/user_tokens/proto/tokens/v1/tokens.proto",
        prefix / "share/user_tokens/proto/tokens/v1/authenticator.proto",
        prefix / "bin/token-service", prefix / "bin/token-sidecar"}) {
    // Real files: this build's include roots are symlinks into the source tree.
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(file))) << file;
  }
  // The feed's protocol and the stand-ins are not the API.
  EXPECT_FALSE(fs::exists(prefix / "share/user_tokens/proto/tokens/v1/sync.proto"));
  EXPECT_FALSE(fs::exists(include / "tokens/v1/sync.pb.h"));
  EXPECT_FALSE(fs::exists(include / "google"));
  EXPECT_FALSE(fs::exists(prefix / "share/user_tokens/proto/google"));

  // The exported targets need gRPC, protobuf and Abseil, and nothing of ours
  // but each other.
  std::string targets;
  for (const fs::directory_entry& entry : fs::directory_iterator(lib / "cmake/UserTokens")) {
    targets += ReadFile(entry.path());
  }
  EXPECT_THAT(targets, HasSubstr("add_library(UserTokens::auth_client STATIC IMPORTED)"));
  EXPECT_THAT(targets, HasSubstr("add_library(UserTokens::protos STATIC IMPORTED)"));
  for (const char* internal : {"tokens::", "pqxx", "spdlog", "httplib", "icu", "proto_gen",
                               PACKAGE_TEST_SOURCE_DIR, PACKAGE_TEST_BINARY_DIR}) {
    EXPECT_THAT(targets, Not(HasSubstr(internal))) << internal;
  }
}

TEST_F(PackageTest, EchoBuiltAgainstTheInstallAuthenticatesOnBothServerApis) {
  // find_package found the install, not this build tree or another copy.
  EXPECT_THAT(ReadFile(package->echo_build / "CMakeCache.txt"),
              HasSubstr(absl::StrCat(
                  "UserTokens_DIR:PATH=",
                  (package->prefix / PACKAGE_TEST_LIBDIR / "cmake/UserTokens").string())));
  const std::string alice = NewUserWithToken("alice", v1::USER);

  for (const std::string api : {"sync", "callback"}) {
    SCOPED_TRACE(api);
    std::string address;
    std::unique_ptr<ChildProcess> service = StartEcho(api, &address);
    ASSERT_NE(service, nullptr);
    std::unique_ptr<echo::Echo::Stub> stub =
        echo::Echo::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    echo::EchoRequest request;
    request.set_message("hello");

    echo::EchoResponse response;
    grpc::Status status = stub->Echo(As(alice).get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message() << service->Stderr();
    EXPECT_EQ(response.message(), "hello");
    EXPECT_EQ(response.user_id(), "alice");
    EXPECT_EQ(response.role(), "USER");

    grpc::ClientContext anonymous;
    status = stub->Echo(&anonymous, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(status.error_message(), HasSubstr("missing"));

    status = stub->Echo(As(alice + "0").get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_THAT(service->Stderr(), Not(HasSubstr(alice)));
  }
}

TEST_F(PackageTest, PkgConfigFlagsAloneBuildAClientThatAuthenticates) {
  absl::StatusOr<ChildProcess::Result> version = ChildProcess::Run(
      {PACKAGE_TEST_PKG_CONFIG,
       {"--modversion", "user-tokens-auth-client"},
       {{"PKG_CONFIG_PATH", (package->prefix / PACKAGE_TEST_LIBDIR / "pkgconfig").string()}},
       {"PKG_CONFIG_LIBDIR"}},
      std::chrono::minutes(1));
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(absl::StripAsciiWhitespace(version->out), PACKAGE_TEST_VERSION);
  // Every include and library directory is the prefix's or the system's.
  for (const std::string& flag : package->pkg_config_flags) {
    EXPECT_THAT(flag, Not(HasSubstr(PACKAGE_TEST_SOURCE_DIR))) << flag;
    EXPECT_THAT(flag, Not(HasSubstr(PACKAGE_TEST_BINARY_DIR))) << flag;
  }
  const std::string alice = NewUserWithToken("alice", v1::USER);
  const std::string client = package->pkg_config_client.string();

  absl::StatusOr<ChildProcess::Result> allowed =
      ChildProcess::Run({client, {sidecar_->address()}, {{"AUTHORIZATION", "Bearer " + alice}}, {}},
                        std::chrono::minutes(1));
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_EQ(allowed->exit_code, 0) << allowed->out << allowed->err;
  EXPECT_EQ(allowed->out, "user_id=alice role=USER\n");

  absl::StatusOr<ChildProcess::Result> refused = ChildProcess::Run(
      {client, {sidecar_->address()}, {{"AUTHORIZATION", "Bearer " + alice + "0"}}, {}},
      std::chrono::minutes(1));
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->exit_code, 1) << refused->out << refused->err;
  EXPECT_THAT(refused->out, HasSubstr("UNAUTHENTICATED"));
}

}  // namespace
}  // namespace tokens::testing
