// gRPC core's own messages in the real binaries' JSON stream: both run with
// GRPC_VERBOSITY=debug and GRPC_TRACE set (a tracer that does not exist
// among them, which gRPC core reports as an error), take calls, and every
// line either wrote to stderr is one JSON object.
#include <signal.h>
#include <sys/wait.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

// gRPC core at its most talkative that a test can bear: debug messages, and
// the traces of connections and keepalive, plus a tracer gRPC does not know.
const std::map<std::string, std::string> kTalkativeGrpc = {
    {"GRPC_VERBOSITY", "debug"},
    {"GRPC_TRACE", "connectivity_state,http_keepalive,subchannel,no_such_tracer"}};

struct Talkative {
  std::unique_ptr<ChildProcess> process;
  std::string address;  // its gRPC listener
};

// Starts `binary` with `args`, the talkative gRPC environment and
// --log_level=debug, and waits for its ready file.
Talkative StartTalkative(const std::string& binary, std::vector<std::string> args,
                         std::map<std::string, std::string> env) {
  env.insert(kTalkativeGrpc.begin(), kTalkativeGrpc.end());
  args.insert(args.end(), {"--log_level", "debug", "--metrics_listen="});
  ChildProcess::Options options{binary, std::move(args), std::move(env), {"DATABASE_URL"}};
  options.ready_file = true;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(std::move(options));
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  absl::StatusOr<ReadyFileContents> ready = (*child)->WaitUntilReady(std::chrono::seconds(60));
  EXPECT_TRUE(ready.ok()) << ready.status() << (*child)->Stderr();
  if (!ready.ok()) return {};
  return {*std::move(child), ready->addresses.at("grpc")};
}

// Stops `child` with SIGTERM and checks its whole stderr: every line one JSON
// object with ts, level, logger and msg, and gRPC core's lines among them
// (its complaint about the unknown tracer, as an error).
void ExpectOnlyJsonWithGrpcCoreLines(ChildProcess& child, const std::string& name) {
  child.Signal(SIGTERM);
  absl::StatusOr<int> exit = child.Wait(std::chrono::seconds(60));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << name << ": " << *exit;
  const std::string log = child.Stderr();
  int lines = 0;
  int grpc_lines = 0;
  bool unknown_tracer = false;
  for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
    ++lines;
    google::protobuf::Struct object;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok())
        << name << " wrote a line that is not JSON: " << line;
    for (const char* key : {"ts", "level", "logger", "msg"}) {
      EXPECT_TRUE(object.fields().contains(key)) << name << ": no " << key << " in " << line;
    }
    if (object.fields().at("logger").string_value() != "grpc") continue;
    ++grpc_lines;
    if (absl::StrContains(object.fields().at("msg").string_value(), "no_such_tracer")) {
      unknown_tracer = object.fields().at("level").string_value() == "error";
    }
  }
  EXPECT_GE(grpc_lines, 2) << name << "'s log has too few of gRPC core's lines:\n" << log;
  EXPECT_TRUE(unknown_tracer) << name << ": gRPC core's complaint is missing:\n" << log;
  EXPECT_GT(lines, grpc_lines);
}

class LibraryLogsTest : public SidecarTest {};

TEST_F(LibraryLogsTest, GrpcCoreWritesJsonLinesInBothBinaries) {
  Talkative service = StartTalkative(
      TokenServiceBinary(),
      {"--listen", "127.0.0.1:0", "--http_listen", "", "--database_url", database_url_}, {});
  ASSERT_NE(service.process, nullptr);
  // The sidecar follows the talkative token-service's feed.
  Talkative sidecar = StartTalkative(
      SidecarBinary(), {"--listen", "127.0.0.1:0", "--token_service", service.address},
      {{"TOKEN_SIDECAR_SERVICE_TOKEN", service_token_}});
  ASSERT_NE(sidecar.process, nullptr);
  auto stub = v1::TokenService::NewStub(
      grpc::CreateChannel(service.address, grpc::InsecureChannelCredentials()));
  v1::GetProfileResponse profile;
  EXPECT_TRUE(stub->GetProfile(As(admin_token_).get(), {}, &profile).ok());

  ExpectOnlyJsonWithGrpcCoreLines(*sidecar.process, "token-sidecar");
  ExpectOnlyJsonWithGrpcCoreLines(*service.process, "token-service");
  EXPECT_THAT(service.process->Stderr(), HasSubstr(R"("msg":"GetProfile","method":"GetProfile")"));
}

}  // namespace
}  // namespace tokens::testing
