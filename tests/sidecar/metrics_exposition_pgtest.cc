// Both binaries' /metrics as Prometheus itself reads it: the whole text
// parsed by the Prometheus Python client's own parser (Debian's
// python3-prometheus-client), then the values checked: the start time
// against the clock and the kernel, the build info against the build, and
// the gRPC call counts against the calls this test made.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/version/build_info.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/sidecar/sidecar_fixture.h"

namespace tokens::testing {
namespace {

// One sample as the Python parser read it.
struct Sample {
  std::string type;  // of its family
  std::map<std::string, std::string> labels;
  double value = 0;
};

// What the parser made of a whole exposition: samples by name, in order.
struct Parsed {
  std::multimap<std::string, Sample> samples;

  // The one sample `name` whose labels include `labels`; fails the test
  // unless there is exactly one.
  Sample One(const std::string& name, const std::map<std::string, std::string>& labels) const {
    std::vector<Sample> found;
    auto [first, end] = samples.equal_range(name);
    for (auto it = first; it != end; ++it) {
      bool match = true;
      for (const auto& [key, value] : labels) {
        auto label = it->second.labels.find(key);
        match = match && label != it->second.labels.end() && label->second == value;
      }
      if (match) found.push_back(it->second);
    }
    EXPECT_EQ(found.size(), 1u) << name << " with the labels asked for";
    return found.empty() ? Sample{"", {}, -1} : found.front();
  }
};

std::string GetMetricsText(const std::string& address) {
  httplib::Client client(absl::StrCat("http://", address));
  client.set_read_timeout(10, 0);
  httplib::Result res = client.Get("/metrics");
  EXPECT_TRUE(res) << "GET http://" << address << "/metrics failed";
  if (!res) return "";
  EXPECT_EQ(res->status, 200);
  return res->body;
}

// Runs the Prometheus client's parser over `text` (tests/common/metrics/
// parse_exposition.py) and reads back what it found.
Parsed ParseWithPrometheusClient(const std::string& text) {
  char path[] = "/tmp/metrics_exposition_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  { std::ofstream(path) << text; }
  close(fd);
  absl::StatusOr<ChildProcess::Result> run = ChildProcess::Run(
      {"/usr/bin/python3", {PARSE_EXPOSITION_SCRIPT, path}, {}, {}}, std::chrono::seconds(60));
  unlink(path);
  Parsed parsed;
  EXPECT_TRUE(run.ok()) << run.status();
  if (!run.ok()) return parsed;
  EXPECT_EQ(run->exit_code, 0) << run->err << "\n---- the text ----\n" << text;
  for (absl::string_view line : absl::StrSplit(run->out, '\n', absl::SkipEmpty())) {
    google::protobuf::Struct object;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &object).ok())
        << line;
    const auto& fields = object.fields();
    Sample sample;
    sample.type = fields.at("type").string_value();
    for (const auto& [key, value] : fields.at("labels").struct_value().fields()) {
      sample.labels[key] = value.string_value();
    }
    // Python's repr(): "inf" and "nan" too.
    sample.value = std::strtod(fields.at("value").string_value().c_str(), nullptr);
    parsed.samples.emplace(fields.at("name").string_value(), std::move(sample));
  }
  EXPECT_FALSE(parsed.samples.empty()) << run->err;
  return parsed;
}

// When the process `pid` started, by the kernel: its start in clock ticks
// after boot (/proc/PID/stat) plus the boot time (/proc/stat, whole seconds,
// so this is good to a second).
double KernelStartTime(pid_t pid) {
  std::ifstream stat_file(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may hold spaces.
  const std::vector<std::string> fields =
      absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ', absl::SkipEmpty());
  double ticks = 0;
  EXPECT_TRUE(fields.size() > 19 && absl::SimpleAtod(fields[19], &ticks)) << stat;  // field 22
  std::ifstream proc_stat("/proc/stat");
  std::string key;
  double boot = 0;
  while (proc_stat >> key) {
    if (key == "btime") proc_stat >> boot;
  }
  EXPECT_GT(boot, 0);
  return boot + ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class MetricsExpositionTest : public SidecarTest {
 protected:
  void SetUp() override {
    before_start_ = absl::Now();
    SidecarTest::SetUp();
    ready_ = absl::Now();
  }

  // process_start_time_seconds of the process `pid`, read from `parsed`:
  // between the start of SetUp and the moment both were ready (to the
  // microsecond the value has), and the kernel's start time to its second.
  void ExpectStartTime(const Parsed& parsed, pid_t pid) {
    const Sample start = parsed.One("process_start_time_seconds", {});
    EXPECT_EQ(start.type, "gauge");
    EXPECT_GE(start.value, absl::ToDoubleSeconds(before_start_ - absl::UnixEpoch()) - 1e-6);
    EXPECT_LE(start.value, absl::ToDoubleSeconds(ready_ - absl::UnixEpoch()));
    EXPECT_NEAR(start.value, KernelStartTime(pid), 1.05);
  }

  static void ExpectBuildInfo(const Parsed& parsed, const std::string& name) {
    const Sample info = parsed.One(name, {});
    EXPECT_EQ(info.type, "gauge");
    EXPECT_EQ(info.value, 1);
    EXPECT_EQ(info.labels.at("version"), BuildVersion());
    EXPECT_EQ(info.labels.at("commit"), BuildCommit());
    EXPECT_FALSE(info.labels.at("version").empty());
  }

  absl::Time before_start_;
  absl::Time ready_;
};

std::map<std::string, std::string> Call(const std::string& type, const std::string& service,
                                        const std::string& method) {
  return {{"grpc_type", type}, {"grpc_service", service}, {"grpc_method", method}};
}

std::map<std::string, std::string> Code(std::map<std::string, std::string> call,
                                        const std::string& code) {
  call["grpc_code"] = code;
  return call;
}

TEST_F(MetricsExpositionTest, TokenServicesMetricsParseAndCountTheCallsMade) {
  // Calls of methods the fixture has not called: two profiles, one refused.
  for (int i = 0; i < 2; ++i) {
    v1::GetProfileResponse profile;
    ASSERT_TRUE(tokens_->GetProfile(As(admin_token_).get(), {}, &profile).ok());
  }
  v1::GetProfileResponse profile;
  EXPECT_EQ(tokens_->GetProfile(As("utk_not-a-token").get(), {}, &profile).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  v1::ListUsersResponse users;
  ASSERT_TRUE(users_->ListUsers(As(admin_token_).get(), {}, &users).ok());

  const Parsed parsed = ParseWithPrometheusClient(GetMetricsText(service_->metrics_address()));
  ExpectStartTime(parsed, service_->process().pid());
  ExpectBuildInfo(parsed, "token_service_build_info");

  const auto profile_calls = Call("unary", "tokens.v1.TokenService", "GetProfile");
  EXPECT_EQ(parsed.One("grpc_server_started_total", profile_calls).value, 3);
  EXPECT_EQ(parsed.One("grpc_server_started_total", profile_calls).type, "counter");
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(profile_calls, "OK")).value, 2);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(profile_calls, "UNAUTHENTICATED")).value,
            1);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(profile_calls, "NOT_FOUND")).value, 0);
  EXPECT_EQ(parsed.One("grpc_server_handling_seconds_count", profile_calls).value, 3);
  EXPECT_EQ(parsed.One("grpc_server_handling_seconds_count", profile_calls).type, "histogram");
  std::map<std::string, std::string> every_time = profile_calls;
  every_time["le"] = "+Inf";
  EXPECT_EQ(parsed.One("grpc_server_handling_seconds_bucket", every_time).value, 3);

  const auto list_users = Call("unary", "tokens.v1.UserService", "ListUsers");
  EXPECT_EQ(parsed.One("grpc_server_started_total", list_users).value, 1);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(list_users, "OK")).value, 1);
  // The fixture's: the sidecar's user and its token.
  EXPECT_EQ(parsed
                .One("grpc_server_handled_total",
                     Code(Call("unary", "tokens.v1.UserService", "CreateUser"), "OK"))
                .value,
            1);
  EXPECT_EQ(parsed
                .One("grpc_server_handled_total",
                     Code(Call("unary", "tokens.v1.TokenService", "CreateToken"), "OK"))
                .value,
            1);
  // The sidecar's feed: a server stream begun and still open.
  const auto feed = Call("server_stream", "tokens.v1.TokenSync", "SyncTokens");
  EXPECT_EQ(parsed.One("grpc_server_started_total", feed).value, 1);
  EXPECT_EQ(parsed.One("grpc_server_handling_seconds_count", feed).value, 0);
}

TEST_F(MetricsExpositionTest, TheSidecarsMetricsParseAndCountTheCallsMade) {
  ASSERT_TRUE(CheckToken(admin_token_).has_ok_response());
  ASSERT_TRUE(CheckToken(admin_token_).has_ok_response());
  EXPECT_EQ(DeniedReason(CheckToken("utk_not-a-token")), "malformed");
  v1::AuthenticateRequest request;
  request.set_token(admin_token_);
  v1::AuthenticateResponse response;
  ASSERT_TRUE(Authenticate(request, &response).ok());
  request.set_token("utk_not-a-token");
  EXPECT_EQ(Authenticate(request, &response).error_code(), grpc::StatusCode::UNAUTHENTICATED);

  const Parsed parsed = ParseWithPrometheusClient(GetMetricsText(sidecar_->metrics_address()));
  ExpectStartTime(parsed, sidecar_->process().pid());
  ExpectBuildInfo(parsed, "token_sidecar_build_info");

  // A denial is a Check answered OK.
  const auto check = Call("unary", "envoy.service.auth.v3.Authorization", "Check");
  EXPECT_EQ(parsed.One("grpc_server_started_total", check).value, 3);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(check, "OK")).value, 3);
  EXPECT_EQ(parsed.One("grpc_server_handling_seconds_count", check).value, 3);
  const auto authenticate = Call("unary", "tokens.v1.Authenticator", "Authenticate");
  EXPECT_EQ(parsed.One("grpc_server_started_total", authenticate).value, 2);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(authenticate, "OK")).value, 1);
  EXPECT_EQ(parsed.One("grpc_server_handled_total", Code(authenticate, "UNAUTHENTICATED")).value,
            1);
  EXPECT_EQ(parsed.One("token_sidecar_checks_total", {{"result", "allowed"}}).value, 3);
}

}  // namespace
}  // namespace tokens::testing
