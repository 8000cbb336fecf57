// bench-client: the client side of bench/run.sh's end-to-end benchmarks.
//
//   bench-client create-tokens  CreateToken throughput with concurrent clients
//   bench-client list-tokens    ListTokens first-page latency
//   bench-client check-body     a gRPC-framed CheckRequest for h2load
//   bench-client verify-check   one real gRPC Check of that body: must be allowed
//   bench-client check-load     sustained Checks over many tokens
//   bench-client propagation    RevokeToken -> every sidecar denies, timed
//   bench-client resync         after each restart of token-service, until a
//                               revocation made then reaches every sidecar
//
// Results go to stdout as one JSON object (resync: to the --out file; its
// stdout and stdin talk with the harness); progress and errors to stderr.
// The admin token comes from BENCH_ADMIN_TOKEN. Token secrets stay in memory,
// or in the --secrets file (mode 0600) that the harness keeps in its private
// temporary directory; they are never printed.
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "tokens/v1/authenticator.grpc.pb.h"
#include "tokens/v1/tokens.grpc.pb.h"

ABSL_FLAG(std::string, service, "", "token-service's address (host:port)");
ABSL_FLAG(std::string, target, "", "address of the Authorization/Check server under test");
ABSL_FLAG(std::string, sidecars, "", "comma-separated sidecar addresses (propagation, resync)");
ABSL_FLAG(int, count, 100, "tokens to create / revocations to time / resync: restarts");
ABSL_FLAG(int, concurrency, 8, "concurrent clients, each on its own connection");
ABSL_FLAG(int, users, 10, "create-tokens: owners to spread the tokens over");
ABSL_FLAG(std::string, user_prefix, "bench", "user ids are <user_prefix>-<n>");
ABSL_FLAG(std::string, user, "", "list-tokens: the user whose first page is also timed");
ABSL_FLAG(int, iterations, 200, "list-tokens: timed calls of each kind");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "check-load: how long to run");
ABSL_FLAG(absl::Duration, poll_interval, absl::Milliseconds(1),
          "propagation, resync: pause between two checks of a sidecar");
ABSL_FLAG(std::string, secrets, "", "file of token secrets, one a line (mode 0600)");
ABSL_FLAG(std::string, body, "", "file of a gRPC-framed CheckRequest");
ABSL_FLAG(std::string, out, "", "resync: file for the JSON results");

namespace {

namespace v1 = tokens::v1;
namespace authz = envoy::service::auth::v3;

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "bench-client: %s\n", message.c_str());
  std::exit(1);
}

std::string Required(const absl::Flag<std::string>& flag, const char* name) {
  std::string value = absl::GetFlag(flag);
  if (value.empty()) Fail(absl::StrCat("--", name, " is required"));
  return value;
}

std::string AdminToken() {
  const char* token = std::getenv("BENCH_ADMIN_TOKEN");
  if (token == nullptr || *token == '\0') Fail("BENCH_ADMIN_TOKEN is not set");
  return token;
}

// Each caller gets its own connection, as separate client processes would.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void Authorize(grpc::ClientContext& ctx, const std::string& token, absl::Duration timeout) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", status.error_code(), ": ", status.error_message());
}

// --- Numbers -----------------------------------------------------------------

// Nearest-rank percentiles of samples in milliseconds, as a JSON object.
std::string Summary(std::vector<double> ms) {
  if (ms.empty()) return R"({"count":0})";
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double p) {
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(ms.size()) + 0.999999);
    return ms[std::min(ms.size(), std::max<size_t>(i, 1)) - 1];
  };
  double sum = 0;
  for (double v : ms) sum += v;
  return absl::StrFormat(R"({"count":%d,"mean":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f})",
                         ms.size(), sum / static_cast<double>(ms.size()), rank(50), rank(90),
                         rank(99), ms.back());
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// Runs body(worker) on `n` threads and waits for them.
void RunWorkers(int n, const std::function<void(int)>& body) {
  std::vector<std::thread> threads;
  for (int w = 0; w < n; ++w) threads.emplace_back(body, w);
  for (std::thread& t : threads) t.join();
}

// --- Secrets -----------------------------------------------------------------

void WriteSecrets(const std::string& path, const std::vector<std::string>& secrets) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("cannot create the --secrets file");
  const std::string text = absl::StrCat(absl::StrJoin(secrets, "\n"), "\n");
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) Fail("cannot write the --secrets file");
}

std::vector<std::string> ReadSecrets() {
  std::ifstream in(Required(FLAGS_secrets, "secrets"));
  std::vector<std::string> secrets;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) secrets.push_back(line);
  }
  if (secrets.empty()) Fail("the --secrets file holds no token");
  return secrets;
}

// --- Management API ------------------------------------------------------------

struct CreatedToken {
  std::string id;
  std::string secret;
};

struct CreateResult {
  std::vector<CreatedToken> tokens;
  std::vector<double> latency_ms;
  absl::Duration elapsed;
};

void CreateUsers(const std::string& service, const std::string& admin,
                 const std::vector<std::string>& users) {
  auto stub = v1::UserService::NewStub(NewChannel(service));
  for (const std::string& user : users) {
    grpc::ClientContext ctx;
    Authorize(ctx, admin, absl::Seconds(10));
    v1::CreateUserRequest request;
    request.set_user_id(user);
    request.set_display_name(absl::StrCat("Benchmark user ", user));
    request.set_email(absl::StrCat(user, "@bench.invalid"));
    request.set_role(v1::USER);
    v1::User created;
    const grpc::Status status = stub->CreateUser(&ctx, request, &created);
    if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      Fail(absl::StrCat("CreateUser ", user, ": ", Describe(status)));
    }
  }
}

// `count` tokens named <name_prefix>-<i>, spread over `users`, created by
// `concurrency` clients at once.
CreateResult CreateTokens(const std::string& service, const std::string& admin,
                          const std::vector<std::string>& users, const std::string& name_prefix,
                          int count, int concurrency) {
  const std::string expires_on = tokens::FormatIsoDate(tokens::UtcDay(absl::Now()) + 30);
  CreateResult result;
  result.tokens.resize(count);
  result.latency_ms.resize(count);
  std::atomic<int> next{0};
  std::atomic<bool> failed{false};
  absl::Mutex mu;
  std::string failure;
  const absl::Time start = absl::Now();
  RunWorkers(concurrency, [&](int) {
    auto stub = v1::TokenService::NewStub(NewChannel(service));
    for (int i = next++; i < count && !failed; i = next++) {
      grpc::ClientContext ctx;
      Authorize(ctx, admin, absl::Seconds(30));
      v1::CreateTokenRequest request;
      request.set_name(absl::StrCat(name_prefix, "-", i));
      request.set_expires_on(expires_on);
      request.set_user_id(users[i % users.size()]);
      v1::CreateTokenResponse response;
      const absl::Time sent = absl::Now();
      const grpc::Status status = stub->CreateToken(&ctx, request, &response);
      result.latency_ms[i] = Ms(absl::Now() - sent);
      if (!status.ok()) {
        absl::MutexLock lock(&mu);
        failure = absl::StrCat("CreateToken: ", Describe(status));
        failed = true;
        return;
      }
      result.tokens[i] = CreatedToken{response.token().id(), response.secret()};
    }
  });
  result.elapsed = absl::Now() - start;
  if (failed) Fail(failure);
  return result;
}

std::vector<std::string> UserIds(const std::string& prefix, int n) {
  std::vector<std::string> users;
  for (int u = 0; u < n; ++u) users.push_back(absl::StrCat(prefix, "-", u));
  return users;
}

int CmdCreateTokens() {
  const std::string service = Required(FLAGS_service, "service");
  const std::string admin = AdminToken();
  const int count = absl::GetFlag(FLAGS_count);
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const std::vector<std::string> users =
      UserIds(absl::GetFlag(FLAGS_user_prefix), std::max(1, absl::GetFlag(FLAGS_users)));
  CreateUsers(service, admin, users);
  const std::string name_prefix = absl::StrCat("bench-", ::getpid());
  CreateResult result = CreateTokens(service, admin, users, name_prefix, count, concurrency);
  if (!absl::GetFlag(FLAGS_secrets).empty()) {
    std::vector<std::string> secrets;
    for (const CreatedToken& t : result.tokens) secrets.push_back(t.secret);
    WriteSecrets(absl::GetFlag(FLAGS_secrets), secrets);
  }
  const double seconds = absl::ToDoubleSeconds(result.elapsed);
  std::printf(R"({"count":%d,"concurrency":%d,"users":%zu,"seconds":%.3f,"per_second":%.1f,)"
              R"("latency_ms":%s})"
              "\n",
              count, concurrency, users.size(), seconds, count / seconds,
              Summary(result.latency_ms).c_str());
  return 0;
}

int CmdListTokens() {
  const std::string service = Required(FLAGS_service, "service");
  const std::string user = Required(FLAGS_user, "user");
  const std::string admin = AdminToken();
  const int iterations = absl::GetFlag(FLAGS_iterations);
  auto stub = v1::TokenService::NewStub(NewChannel(service));

  // One call; returns its latency and the page's size.
  auto list = [&](const v1::ListTokensRequest& request, size_t* page) {
    grpc::ClientContext ctx;
    Authorize(ctx, admin, absl::Seconds(30));
    v1::ListTokensResponse response;
    const absl::Time sent = absl::Now();
    const grpc::Status status = stub->ListTokens(&ctx, request, &response);
    const double ms = Ms(absl::Now() - sent);
    if (!status.ok()) Fail(absl::StrCat("ListTokens: ", Describe(status)));
    *page = static_cast<size_t>(response.tokens_size());
    return ms;
  };
  v1::ListTokensRequest all_users;  // Access Control -> User Tokens
  all_users.set_all_users(true);
  v1::ListTokensRequest one_user;  // one user's tokens
  one_user.set_user_id(user);
  v1::ListTokensRequest active_all;  // everyone's, filtered by status
  active_all.set_all_users(true);
  active_all.set_status(v1::ACTIVE);

  size_t page_all = 0, page_user = 0, page_active = 0;
  for (int i = 0; i < 10; ++i) {  // warm-up: connections, caches
    list(all_users, &page_all);
    list(one_user, &page_user);
    list(active_all, &page_active);
  }
  std::vector<double> ms_all, ms_user, ms_active;
  for (int i = 0; i < iterations; ++i) {
    ms_all.push_back(list(all_users, &page_all));
    ms_user.push_back(list(one_user, &page_user));
    ms_active.push_back(list(active_all, &page_active));
  }
  std::printf(R"({"iterations":%d,"all_users":{"page":%zu,"latency_ms":%s},)"
              R"("one_user":{"page":%zu,"latency_ms":%s},"all_users_active":{"page":%zu,)"
              R"("latency_ms":%s}})"
              "\n",
              iterations, page_all, Summary(ms_all).c_str(), page_user, Summary(ms_user).c_str(),
              page_active, Summary(ms_active).c_str());
  return 0;
}

// --- Check -------------------------------------------------------------------

// What Envoy sends for a typical API request: about ten headers, the
// client's and our own address.
authz::CheckRequest BuildCheckRequest(const std::string& token, int64_t request_number) {
  authz::CheckRequest request;
  auto* attributes = request.mutable_attributes();
  auto* source = attributes->mutable_source()->mutable_address()->mutable_socket_address();
  source->set_address("10.1.2.3");
  source->set_port_value(53124);
  auto* destination =
      attributes->mutable_destination()->mutable_address()->mutable_socket_address();
  destination->set_address("10.0.0.10");
  destination->set_port_value(8080);
  auto* http = attributes->mutable_request()->mutable_http();
  http->set_method("GET");
  http->set_path("/api/v1/orders?limit=20&status=open");
  http->set_host("api.example.com");
  auto& headers = *http->mutable_headers();
  headers[":authority"] = "api.example.com";
  headers[":method"] = "GET";
  headers[":path"] = "/api/v1/orders?limit=20&status=open";
  headers[":scheme"] = "https";
  headers["accept"] = "application/json";
  headers["accept-encoding"] = "gzip, deflate, br";
  headers["user-agent"] = "orders-cli/2.3.1 (linux; amd64)";
  headers["x-forwarded-proto"] = "https";
  headers["x-request-id"] = absl::StrFormat("5f1c2a9e-7b3d-4e8f-9a61-%012d", request_number);
  headers["authorization"] = absl::StrCat("Bearer ", token);
  return request;
}

bool Allowed(const authz::CheckResponse& response) {
  return response.status().code() == 0 && response.has_ok_response();
}

int CmdCheckBody() {
  const std::string token = ReadSecrets().front();
  const std::string message = BuildCheckRequest(token, 1).SerializeAsString();
  // gRPC's length-prefixed message: compressed flag, 4-byte big-endian length.
  std::string frame(5, '\0');
  const uint32_t length = static_cast<uint32_t>(message.size());
  for (int i = 0; i < 4; ++i) frame[1 + i] = static_cast<char>(length >> (24 - 8 * i));
  frame += message;
  const std::string path = Required(FLAGS_body, "body");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::write(fd, frame.data(), frame.size()) != static_cast<ssize_t>(frame.size())) {
    Fail("cannot write the --body file");
  }
  ::close(fd);
  std::printf(
      R"({"body_bytes":%zu,"headers":%d})"
      "\n",
      frame.size(),
      static_cast<int>(BuildCheckRequest(token, 1).attributes().request().http().headers_size()));
  return 0;
}

int CmdVerifyCheck() {
  const std::string target = Required(FLAGS_target, "target");
  std::ifstream in(Required(FLAGS_body, "body"), std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string frame = bytes.str();
  authz::CheckRequest request;
  if (frame.size() < 5 || !request.ParseFromString(frame.substr(5))) {
    Fail("--body is not a gRPC-framed CheckRequest");
  }
  auto stub = authz::Authorization::NewStub(NewChannel(target));
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  authz::CheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  if (!status.ok()) Fail(absl::StrCat("Check on ", target, ": ", Describe(status)));
  if (!Allowed(response)) {
    Fail(absl::StrCat("Check on ", target, " was not allowed: status ", response.status().code(),
                      " ", response.status().message()));
  }
  std::printf(R"({"grpc_status":0,"status_code":0,"ok_response":true,"ok_headers":%d})"
              "\n",
              response.ok_response().headers_size());
  return 0;
}

int CmdCheckLoad() {
  const std::string target = Required(FLAGS_target, "target");
  const std::vector<std::string> secrets = ReadSecrets();
  const int concurrency = absl::GetFlag(FLAGS_concurrency);
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::GetFlag(FLAGS_duration);
  std::atomic<int64_t> allowed{0}, denied{0}, errors{0};
  RunWorkers(concurrency, [&](int worker) {
    auto stub = authz::Authorization::NewStub(NewChannel(target));
    size_t i = static_cast<size_t>(worker) * secrets.size() / static_cast<size_t>(concurrency);
    for (int64_t n = 0; absl::Now() < end; ++n) {
      grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      authz::CheckResponse response;
      const grpc::Status status = stub->Check(&ctx, BuildCheckRequest(secrets[i], n), &response);
      if (!status.ok()) {
        ++errors;
      } else if (Allowed(response)) {
        ++allowed;
      } else {
        ++denied;
      }
      if (++i == secrets.size()) i = 0;
    }
  });
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const int64_t checks = allowed + denied + errors;
  std::printf(R"({"tokens":%zu,"concurrency":%d,"seconds":%.3f,"checks":%lld,"allowed":%lld,)"
              R"("denied":%lld,"errors":%lld,"per_second":%.1f})"
              "\n",
              secrets.size(), concurrency, seconds, static_cast<long long>(checks),
              static_cast<long long>(allowed.load()), static_cast<long long>(denied.load()),
              static_cast<long long>(errors.load()), checks / seconds);
  return denied == 0 && errors == 0 ? 0 : 1;
}

// --- Propagation -------------------------------------------------------------

// Authenticate on a sidecar: true allowed, false denied; fails on an RPC error.
bool Authenticates(v1::Authenticator::Stub& stub, const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  v1::AuthenticateRequest request;
  request.set_token(token);
  v1::AuthenticateResponse response;
  const grpc::Status status = stub.Authenticate(&ctx, request, &response);
  if (status.ok()) return true;
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) return false;
  Fail(absl::StrCat("Authenticate: ", Describe(status)));
}

using SidecarStubs = std::vector<std::unique_ptr<v1::Authenticator::Stub>>;

// What propagation and resync start from: --count tokens of one user
// (<user_prefix>-0), each allowed by every sidecar of --sidecars, so that a
// revocation is timed only against a token the sidecars have.
struct Revocations {
  std::string service;
  std::string admin;
  SidecarStubs sidecars;
  std::vector<CreatedToken> tokens;
};

Revocations PrepareRevocations(const std::string& name_prefix) {
  Revocations r;
  r.service = Required(FLAGS_service, "service");
  for (absl::string_view address :
       absl::StrSplit(Required(FLAGS_sidecars, "sidecars"), ',', absl::SkipEmpty())) {
    r.sidecars.push_back(v1::Authenticator::NewStub(NewChannel(std::string(address))));
  }
  r.admin = AdminToken();
  const int count = absl::GetFlag(FLAGS_count);
  const std::vector<std::string> users = UserIds(absl::GetFlag(FLAGS_user_prefix), 1);
  CreateUsers(r.service, r.admin, users);
  std::fprintf(stderr, "creating %d tokens\n", count);
  r.tokens =
      CreateTokens(r.service, r.admin, users, absl::StrCat(name_prefix, "-", ::getpid()), count, 4)
          .tokens;
  for (auto& stub : r.sidecars) {
    for (const CreatedToken& token : r.tokens) {
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (!Authenticates(*stub, token.secret)) {
        if (absl::Now() > deadline) Fail("a new token was not allowed by a sidecar within 10 s");
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  }
  std::fprintf(stderr, "every sidecar allows every token\n");
  return r;
}

// Polls every sidecar, one thread each, until it denies `secret`; returns
// for each the milliseconds from `since` until its denying answer arrived:
// an upper bound, by at most one poll interval and one Authenticate round
// trip, of when the sidecar learned the revocation. Fails after `give_up`.
std::vector<double> UntilEachDenies(SidecarStubs& sidecars, const std::string& secret,
                                    absl::Time since, absl::Duration give_up) {
  const absl::Duration poll = absl::GetFlag(FLAGS_poll_interval);
  std::vector<double> seen(sidecars.size(), 0);
  RunWorkers(static_cast<int>(sidecars.size()), [&](int s) {
    while (Authenticates(*sidecars[s], secret)) {
      if (absl::Now() - since > give_up) {
        Fail(absl::StrCat("a revocation was not seen within ", absl::FormatDuration(give_up)));
      }
      absl::SleepFor(poll);
    }
    seen[s] = Ms(absl::Now() - since);
  });
  return seen;
}

int CmdPropagation() {
  Revocations r = PrepareRevocations("revoke");
  std::fprintf(stderr, "propagation: revoking one at a time\n");

  auto admin_stub = v1::TokenService::NewStub(NewChannel(r.service));
  std::vector<double> pair_ms, all_ms, revoke_ms;
  std::vector<std::vector<double>> per_sidecar(r.sidecars.size());
  for (const CreatedToken& token : r.tokens) {
    grpc::ClientContext ctx;
    Authorize(ctx, r.admin, absl::Seconds(10));
    v1::RevokeTokenRequest request;
    request.set_id(token.id);
    v1::Token revoked;
    const absl::Time sent = absl::Now();
    const grpc::Status status = admin_stub->RevokeToken(&ctx, request, &revoked);
    const absl::Time returned = absl::Now();
    if (!status.ok()) Fail(absl::StrCat("RevokeToken: ", Describe(status)));
    revoke_ms.push_back(Ms(returned - sent));

    const std::vector<double> seen =
        UntilEachDenies(r.sidecars, token.secret, returned, absl::Seconds(10));
    for (size_t s = 0; s < r.sidecars.size(); ++s) {
      pair_ms.push_back(seen[s]);
      per_sidecar[s].push_back(seen[s]);
    }
    all_ms.push_back(*std::max_element(seen.begin(), seen.end()));
  }

  std::vector<std::string> per_sidecar_json;
  for (const std::vector<double>& ms : per_sidecar) per_sidecar_json.push_back(Summary(ms));
  std::printf(R"({"revocations":%d,"sidecars":%zu,"poll_interval_ms":%.3f,"every_sidecar_ms":%s,)"
              R"("each_pair_ms":%s,"per_sidecar_ms":[%s],"revoke_rpc_ms":%s})"
              "\n",
              static_cast<int>(r.tokens.size()), r.sidecars.size(),
              Ms(absl::GetFlag(FLAGS_poll_interval)), Summary(all_ms).c_str(),
              Summary(pair_ms).c_str(), absl::StrJoin(per_sidecar_json, ",").c_str(),
              Summary(revoke_ms).c_str());
  return 0;
}

// --- Resync ------------------------------------------------------------------

// One line from stdin without its newline, read a byte at a time so that
// nothing past it is consumed; nullopt at end of input or after `timeout`.
std::optional<std::string> ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string line;
  for (;;) {
    pollfd in{STDIN_FILENO, POLLIN, 0};
    const int left =
        static_cast<int>(std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now())));
    if (::poll(&in, 1, left) <= 0) return std::nullopt;
    char c;
    if (::read(STDIN_FILENO, &c, 1) != 1) return std::nullopt;
    if (c == '\n') return line;
    line.push_back(c);
  }
}

// RevokeToken on a token-service that has just started again, each attempt
// on a new connection (a channel that saw the outage may still be backing
// off), again every 5 ms while it answers UNAVAILABLE (revoking twice
// is harmless). Returns when the revocation was accepted and how many
// attempts it took.
std::pair<absl::Time, int> RevokeOnceBack(const std::string& service, const std::string& admin,
                                          const std::string& id, absl::Duration give_up) {
  const absl::Time deadline = absl::Now() + give_up;
  for (int attempt = 1;; ++attempt) {
    auto stub = v1::TokenService::NewStub(NewChannel(service));
    grpc::ClientContext ctx;
    Authorize(ctx, admin, absl::Seconds(2));
    v1::RevokeTokenRequest request;
    request.set_id(id);
    v1::Token revoked;
    const grpc::Status status = stub->RevokeToken(&ctx, request, &revoked);
    if (status.ok()) return {absl::Now(), attempt};
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE || absl::Now() > deadline) {
      Fail(absl::StrCat("RevokeToken after the restart (attempt ", attempt,
                        "): ", Describe(status)));
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// The harness restarts token-service when told `restart` and answers
// `ready` once it listens again on the same address; each round then
// revokes a token the sidecars still allow and times, from `ready`, the
// revocation being accepted and every sidecar denying the token: the
// sidecar has reconnected and applied a change made after the restart.
int CmdResync() {
  const std::string out_path = Required(FLAGS_out, "out");
  Revocations r = PrepareRevocations("resync");
  const int rounds = static_cast<int>(r.tokens.size());

  std::vector<double> accepted_ms, in_sync_ms, after_revoke_ms;
  std::vector<std::string> round_json;
  for (int round = 0; round < rounds; ++round) {
    std::printf("restart\n");
    std::fflush(stdout);
    const std::optional<std::string> answer = ReadLine(absl::Seconds(120));
    if (!answer.has_value()) Fail("no answer to \"restart\" within 120 s");
    if (*answer != "ready") Fail(absl::StrCat("expected \"ready\", got \"", *answer, "\""));
    const absl::Time ready = absl::Now();

    const CreatedToken& token = r.tokens[round];
    const auto [accepted, attempts] =
        RevokeOnceBack(r.service, r.admin, token.id, absl::Seconds(10));
    const std::vector<double> seen =
        UntilEachDenies(r.sidecars, token.secret, ready, absl::Seconds(30));
    const double last = *std::max_element(seen.begin(), seen.end());
    accepted_ms.push_back(Ms(accepted - ready));
    in_sync_ms.push_back(last);
    after_revoke_ms.push_back(last - accepted_ms.back());
    round_json.push_back(absl::StrFormat(R"({"revoke_accepted_ms":%.3f,"in_sync_ms":%.3f,)"
                                         R"("revoke_attempts":%d})",
                                         accepted_ms.back(), last, attempts));
    std::fprintf(stderr,
                 "resync: round %d: revocation accepted after %.1f ms, every sidecar "
                 "denies after %.1f ms\n",
                 round + 1, accepted_ms.back(), last);
  }

  const std::string json = absl::StrFormat(
      R"({"rounds":%d,"sidecars":%zu,"poll_interval_ms":%.3f,"in_sync_ms":%s,)"
      R"("revoke_accepted_ms":%s,"revoke_to_in_sync_ms":%s,"each_round":[%s]})"
      "\n",
      rounds, r.sidecars.size(), Ms(absl::GetFlag(FLAGS_poll_interval)), Summary(in_sync_ms),
      Summary(accepted_ms), Summary(after_revoke_ms), absl::StrJoin(round_json, ","));
  std::ofstream out(out_path, std::ios::trunc);
  out << json;
  out.close();
  if (!out) Fail("cannot write the --out file");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "bench-client create-tokens|list-tokens|check-body|verify-check|check-load|propagation|"
      "resync [flags]: the client side of bench/run.sh");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 2) Fail("expected one subcommand; see --help");
  const std::string command = args[1];
  if (command == "create-tokens") return CmdCreateTokens();
  if (command == "list-tokens") return CmdListTokens();
  if (command == "check-body") return CmdCheckBody();
  if (command == "verify-check") return CmdVerifyCheck();
  if (command == "check-load") return CmdCheckLoad();
  if (command == "propagation") return CmdPropagation();
  if (command == "resync") return CmdResync();
  Fail(absl::StrCat("unknown subcommand \"", command, "\""));
}
