#include "tests/support/test_certs.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"

namespace tokens::testing {

absl::StatusOr<std::unique_ptr<TestCerts>> TestCerts::Create() {
  const char* tmpdir = getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp", "/certs.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return absl::InternalError("mkdtemp failed");
  return std::unique_ptr<TestCerts>(new TestCerts(pattern));
}

TestCerts::~TestCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::StatusOr<TestCerts::Pair> TestCerts::Make(const std::string& kind, const std::string& ca,
                                                const std::string& name) {
  ChildProcess::Options options;
  options.binary = MAKE_CERTS_SCRIPT;
  options.args = {kind, dir_ + "/" + ca, name};
  if (kind == "server") {
    for (const char* san : {"localhost", "127.0.0.1", "::1"}) options.args.push_back(san);
  }
  absl::StatusOr<ChildProcess::Result> result =
      ChildProcess::Run(options, std::chrono::seconds(60));
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat("make-certs.sh ", kind, " failed: ", result->err));
  }
  const std::string base = dir_ + "/" + ca + "/" + name;
  return Pair{base + ".pem", base + ".key"};
}

absl::StatusOr<TestCerts::Pair> TestCerts::Server(const std::string& ca, const std::string& name) {
  return Make("server", ca, name);
}

absl::StatusOr<TestCerts::Pair> TestCerts::Client(const std::string& ca, const std::string& name) {
  return Make("client", ca, name);
}

std::string TestCerts::Ca(const std::string& ca) const { return dir_ + "/" + ca + "/ca.pem"; }

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void ReplaceFile(const std::string& path, const std::string& contents) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << contents;
    ASSERT_TRUE(out.good()) << "cannot write " << temporary;
  }
  std::filesystem::rename(temporary, path);
}

std::shared_ptr<grpc::ChannelCredentials> TlsClientCredentials(const std::string& ca,
                                                               const TestCerts::Pair& client) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ReadFileOrDie(ca);
  if (!client.cert.empty()) {
    options.pem_cert_chain = ReadFileOrDie(client.cert);
    options.pem_private_key = ReadFileOrDie(client.key);
  }
  return grpc::SslCredentials(options);
}

std::shared_ptr<grpc::Channel> NewOwnChannel(const std::string& address,
                                             std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, credentials, args);
}

}  // namespace tokens::testing
