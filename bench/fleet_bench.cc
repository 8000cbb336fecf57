// bench-fleet: one process playing a fleet of N sidecars against one
// token-service, each following the SyncTokens feed on a connection of its
// own (bench/run.sh's fleet stage).
//
// Phase 1, snapshots: all N open SyncTokens(from_version=0) at once and read
// and decode every message with the sidecar's own proto -> domain functions
// (no cache is built). Measured: when each consumer has SNAPSHOT_END, and,
// sampled every --sample_interval meanwhile, token-service's threads and RSS
// (/proc/PID/status) and its PostgreSQL sessions (pg_stat_activity).
// Phase 2, revocation fan-out: R tokens created before phase 1 (so that every
// snapshot has the same size) are revoked one at a time; for each, the time
// from sending RevokeToken until each consumer has the DELTA that carries the
// token with `revoked` set. The next revocation waits until all N have it.
//
// Results go to stdout as two lines of key=value pairs (phase=snapshot,
// phase=revocation), progress and errors to stderr. Tokens come from the
// environment: BENCH_ADMIN_TOKEN (creates and revokes) and BENCH_SERVICE_TOKEN
// (the consumers' SERVICE caller; --service_token also works, but a command
// line is visible to every user of the machine). Neither is ever printed.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/time/civil_date.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "pqxx/pqxx"
#include "sidecar/domain/model.h"
#include "sidecar/sync/token_service_client.h"
#include "tokens/v1/sync.grpc.pb.h"
#include "tokens/v1/tokens.grpc.pb.h"

ABSL_FLAG(std::string, target, "", "token-service's address (host:port)");
ABSL_FLAG(std::string, service_token, "",
          "the consumers' SERVICE token (default: $BENCH_SERVICE_TOKEN)");
ABSL_FLAG(int, consumers, 10, "feed consumers, each on its own channel and connection");
ABSL_FLAG(int, revocations, 100, "revocations to time in phase 2 (0: no phase 2)");
ABSL_FLAG(int, service_pid, 0, "token-service's pid, to sample its threads, RSS and CPU time");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL URI of token-service's database, to sample its sessions (default: "
          "$DATABASE_URL; empty: not sampled)");
ABSL_FLAG(std::string, label, "", "a name for this run, repeated on the output lines");
ABSL_FLAG(absl::Duration, snapshot_timeout, absl::Seconds(300),
          "phase 1 ends after this long even if not every consumer has its snapshot");
ABSL_FLAG(absl::Duration, revocation_timeout, absl::Seconds(10),
          "how long to wait for every consumer to see one revocation");
ABSL_FLAG(absl::Duration, sample_interval, absl::Milliseconds(50),
          "how often token-service and PostgreSQL are sampled");

namespace {

namespace v1 = tokens::v1;
using tokens::sidecar::SyncedTokenFromProto;
using tokens::sidecar::SyncedUserFromProto;
using tokens::TokenId;

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "bench-fleet: %s\n", message.c_str());
  std::exit(1);
}

std::string Secret(const absl::Flag<std::string>* flag, const char* env) {
  std::string value = flag != nullptr ? absl::GetFlag(*flag) : "";
  if (value.empty()) {
    const char* from_env = std::getenv(env);
    if (from_env != nullptr) value = from_env;
  }
  if (value.empty()) Fail(absl::StrCat(env, " is not set"));
  return value;
}

std::string Describe(const grpc::Status& status) {
  return absl::StrCat("code ", status.error_code(), ": ", status.error_message());
}

// A monotonic clock in nanoseconds: every time this tool compares.
int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double MsBetween(int64_t from_ns, int64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e6;
}

// Nearest-rank percentile of ascending values (NaN when there are none).
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::nan("");
  size_t rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::min(sorted.size(), std::max<size_t>(rank, 1));
  return sorted[rank - 1];
}

// A channel with a connection of its own: gRPC shares a subchannel (and its
// TCP connection) between channels with equal arguments unless each has a
// local subchannel pool; the consumer's index makes the arguments differ too.
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address, int index) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("tokens.bench_fleet_consumer", index);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void Authorize(grpc::ClientContext& ctx, const std::string& token) {
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

// --- What is sampled -------------------------------------------------------

// Threads, RSS and CPU time of a process, from /proc.
struct ProcessSample {
  int64_t threads = -1;
  int64_t rss_kib = -1;
  double cpu_seconds = -1;
};

ProcessSample SampleProcess(int pid) {
  ProcessSample s;
  if (pid <= 0) return s;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  for (std::string line; std::getline(status, line);) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (f.size() < 2) continue;
    if (f[0] == "Threads:") (void)absl::SimpleAtoi(f[1], &s.threads);
    if (f[0] == "VmRSS:") (void)absl::SimpleAtoi(f[1], &s.rss_kib);
  }
  // utime and stime: fields 14 and 15, counted after the command's ")".
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream text;
  text << stat.rdbuf();
  const std::string all = text.str();
  const size_t end = all.rfind(')');
  if (end != std::string::npos) {
    std::vector<absl::string_view> f = absl::StrSplit(absl::string_view(all).substr(end + 2), ' ');
    int64_t utime = 0, stime = 0;
    if (f.size() > 12 && absl::SimpleAtoi(f[11], &utime) && absl::SimpleAtoi(f[12], &stime)) {
      s.cpu_seconds =
          static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
    }
  }
  return s;
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// token-service's sessions in its database, other than this tool's own:
// all of them, those inside a transaction, and those reading a snapshot
// (today's design reads it through the cursor `feed_snapshot`).
struct DbSample {
  int64_t connections = -1;
  int64_t in_transaction = -1;
  int64_t snapshot_cursors = -1;
};

class DbSampler {
 public:
  explicit DbSampler(const std::string& url) {
    if (url.empty()) return;
    try {
      connection_ = std::make_unique<pqxx::connection>(url);
    } catch (const std::exception& e) {
      Fail(absl::StrCat("cannot connect to --database_url: ", e.what()));
    }
  }

  // From the sampling thread and the main thread alike: one connection runs
  // one transaction at a time.
  DbSample Sample() ABSL_LOCKS_EXCLUDED(mu_) {
    DbSample s;
    if (connection_ == nullptr) return s;
    absl::MutexLock lock(&mu_);
    try {
      pqxx::nontransaction txn(*connection_);
      const pqxx::row row = txn.exec1(
          "SELECT count(*),"
          "       count(*) FILTER (WHERE state IN ('active', 'idle in transaction',"
          "                                        'idle in transaction (aborted)')),"
          "       count(*) FILTER (WHERE state <> 'idle' AND query ILIKE '%feed_snapshot%')"
          "  FROM pg_stat_activity"
          " WHERE datname = current_database() AND backend_type = 'client backend'"
          "   AND pid <> pg_backend_pid()");
      s.connections = row[0].as<int64_t>();
      s.in_transaction = row[1].as<int64_t>();
      s.snapshot_cursors = row[2].as<int64_t>();
    } catch (const std::exception& e) {
      Fail(absl::StrCat("sampling pg_stat_activity failed: ", e.what()));
    }
    return s;
  }

 private:
  absl::Mutex mu_;
  std::unique_ptr<pqxx::connection> connection_;
};

// Samples token-service and its database on a thread of its own and keeps
// the highest values.
class Sampler {
 public:
  struct Peaks {
    int64_t threads = -1;
    int64_t rss_kib = -1;
    int64_t db_connections = -1;
    int64_t db_in_transaction = -1;
    int64_t db_snapshot_cursors = -1;
    int samples = 0;
  };

  Sampler(int pid, const std::string& database_url, absl::Duration interval)
      : pid_(pid), db_(database_url), interval_(interval) {}
  ~Sampler() { Stop(); }

  // One sample now, on the caller's thread (before the thread starts).
  std::pair<ProcessSample, DbSample> SampleNow() { return {SampleProcess(pid_), db_.Sample()}; }

  void Start() {
    thread_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(interval_)) Record(SampleNow());
    });
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stop_.Notify();
    thread_.join();
  }

  Peaks peaks() const {
    absl::MutexLock lock(&mu_);
    return peaks_;
  }

 private:
  void Record(const std::pair<ProcessSample, DbSample>& s) {
    absl::MutexLock lock(&mu_);
    peaks_.threads = std::max(peaks_.threads, s.first.threads);
    peaks_.rss_kib = std::max(peaks_.rss_kib, s.first.rss_kib);
    peaks_.db_connections = std::max(peaks_.db_connections, s.second.connections);
    peaks_.db_in_transaction = std::max(peaks_.db_in_transaction, s.second.in_transaction);
    peaks_.db_snapshot_cursors = std::max(peaks_.db_snapshot_cursors, s.second.snapshot_cursors);
    ++peaks_.samples;
  }

  const int pid_;
  DbSampler db_;  // used by the sampling thread only, once it runs
  const absl::Duration interval_;
  absl::Notification stop_;
  std::thread thread_;
  mutable absl::Mutex mu_;
  Peaks peaks_ ABSL_GUARDED_BY(mu_);
};

// Established TCP connections of this process to `port`, from /proc: shows
// that N channels made N connections.
int CountOwnConnections(int port) {
  absl::flat_hash_set<std::string> inodes;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (const dirent* entry = readdir(dir)) {
      char link[128];
      const std::string path = absl::StrCat("/proc/self/fd/", entry->d_name);
      const ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
      if (n <= 0) continue;
      absl::string_view target(link, static_cast<size_t>(n));
      if (absl::ConsumePrefix(&target, "socket:[") && absl::ConsumeSuffix(&target, "]")) {
        inodes.insert(std::string(target));
      }
    }
    closedir(dir);
  }
  int count = 0;
  for (const char* table : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() < 10 || f[3] != "01" || !inodes.contains(f[9])) continue;
      const size_t colon = f[2].rfind(':');
      int remote_port = 0;
      if (colon != absl::string_view::npos &&
          absl::SimpleHexAtoi(f[2].substr(colon + 1), &remote_port) && remote_port == port) {
        ++count;
      }
    }
  }
  return count;
}

// --- The consumers ---------------------------------------------------------

// What all consumers report to: snapshots finished, revocations seen.
class Scoreboard {
 public:
  Scoreboard(int consumers, int revocations) : consumers_(consumers), seen_(revocations, 0) {}

  void Ready() {
    absl::MutexLock lock(&mu_);
    ++ready_;
  }
  // A stream ended: when this tool cancelled it, or on its own (a failure,
  // whatever the status says).
  void Ended(const grpc::Status& status, bool had_snapshot) {
    absl::MutexLock lock(&mu_);
    ++ended_;
    if (!had_snapshot) ++lost_;
    if (!cancelling_) {
      ++failed_;
      if (first_error_.empty()) first_error_ = Describe(status);
    }
  }
  void Cancelling() {
    absl::MutexLock lock(&mu_);
    cancelling_ = true;
  }
  void Seen(int revocation) {
    absl::MutexLock lock(&mu_);
    ++seen_[revocation];
  }

  // Until every consumer has its snapshot or has ended, or `deadline`.
  int AwaitReady(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto done = [this]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ready_ + lost_ >= consumers_; };
    mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
    return ready_;
  }
  // Until every consumer has seen `revocation`, or `deadline`.
  int AwaitSeen(int revocation, absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto done = [this, revocation]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return seen_[revocation] >= consumers_ - ended_;
    };
    mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
    return seen_[revocation];
  }
  // Until every stream has ended, or `deadline`.
  bool AwaitEnded(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return ended_ >= consumers_; };
    return mu_.AwaitWithDeadline(absl::Condition(&done), deadline);
  }

  int failed() const {
    absl::MutexLock lock(&mu_);
    return failed_;
  }
  std::string first_error() const {
    absl::MutexLock lock(&mu_);
    return first_error_;
  }

 private:
  const int consumers_;
  mutable absl::Mutex mu_;
  int ready_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  int lost_ ABSL_GUARDED_BY(mu_) = 0;  // ended before their snapshot was complete
  int failed_ ABSL_GUARDED_BY(mu_) = 0;
  bool cancelling_ ABSL_GUARDED_BY(mu_) = false;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  std::vector<int> seen_ ABSL_GUARDED_BY(mu_);
};

// One sidecar's SyncTokens stream, read through gRPC's callback API.
// Every message is decoded as the sidecar decodes it (SyncedTokenFromProto,
// SyncedUserFromProto); then the values are dropped.
class Consumer final : public grpc::ClientReadReactor<v1::SyncTokensResponse> {
 public:
  Consumer(std::shared_ptr<grpc::Channel> channel, const absl::flat_hash_map<TokenId, int>& watched,
           Scoreboard& board)
      : stub_(v1::TokenSync::NewStub(channel)),
        watched_(watched),
        board_(board),
        seen_ns_(watched.size()) {
    for (std::atomic<int64_t>& t : seen_ns_) t.store(0);
  }

  void Start(const std::string& service_token) {
    Authorize(ctx_, service_token);
    request_.set_from_version(0);
    stub_->async()->SyncTokens(&ctx_, &request_, this);
    StartRead(&message_);
    StartCall();
  }

  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // OnDone follows with the status
    Handle(message_);
    message_.Clear();
    StartRead(&message_);
  }

  void OnDone(const grpc::Status& status) override {
    board_.Ended(status, snapshot_end_ns_.load() != 0);
  }

  // 0 until this consumer had its SNAPSHOT_END.
  int64_t snapshot_end_ns() const { return snapshot_end_ns_.load(); }
  int64_t snapshot_tokens() const { return snapshot_tokens_.load(); }
  int64_t bad_tokens() const { return bad_tokens_.load(); }
  // 0 until this consumer saw revocation `r`.
  int64_t seen_ns(int r) const { return seen_ns_[r].load(); }

 private:
  void Handle(const v1::SyncTokensResponse& message) {
    for (const v1::SyncedUser& user : message.users()) {
      decoded_users_ += SyncedUserFromProto(user).version != 0 ? 1 : 0;
    }
    for (const v1::SyncedToken& token : message.tokens()) {
      absl::StatusOr<tokens::sidecar::SyncedToken> decoded = SyncedTokenFromProto(token);
      if (!decoded.ok()) {
        ++bad_tokens_;
        continue;
      }
      if (message.kind() == v1::SyncTokensResponse::SNAPSHOT) {
        ++snapshot_tokens_;
      } else if (decoded->revoked) {
        const auto watched = watched_.find(decoded->id);
        if (watched != watched_.end() && seen_ns_[watched->second].load() == 0) {
          seen_ns_[watched->second].store(NowNs());
          board_.Seen(watched->second);
        }
      }
    }
    if (message.kind() == v1::SyncTokensResponse::SNAPSHOT_END && snapshot_end_ns_.load() == 0) {
      snapshot_end_ns_.store(NowNs());
      board_.Ready();
    }
  }

  std::unique_ptr<v1::TokenSync::Stub> stub_;
  const absl::flat_hash_map<TokenId, int>& watched_;  // token -> revocation
  Scoreboard& board_;
  grpc::ClientContext ctx_;
  v1::SyncTokensRequest request_;
  v1::SyncTokensResponse message_;  // reused: its buffers stay allocated
  int64_t decoded_users_ = 0;       // keeps the users' decoding observable
  std::atomic<int64_t> snapshot_end_ns_{0};
  std::atomic<int64_t> snapshot_tokens_{0};
  std::atomic<int64_t> bad_tokens_{0};
  std::vector<std::atomic<int64_t>> seen_ns_;
};

// --- The revocations' tokens -------------------------------------------------

struct Revocable {
  std::string id;
  TokenId parsed;
};

std::vector<Revocable> CreateRevocable(const std::string& target, const std::string& admin,
                                       int count) {
  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  const std::string user = "bench-fleet-revoke";
  {
    auto users = v1::UserService::NewStub(channel);
    grpc::ClientContext ctx;
    Authorize(ctx, admin);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    v1::CreateUserRequest request;
    request.set_user_id(user);
    request.set_display_name("bench-fleet revocations");
    request.set_email(absl::StrCat(user, "@bench.invalid"));
    request.set_role(v1::USER);
    v1::User created;
    const grpc::Status status = users->CreateUser(&ctx, request, &created);
    if (!status.ok() && status.error_code() != grpc::StatusCode::ALREADY_EXISTS) {
      Fail(absl::StrCat("CreateUser: ", Describe(status)));
    }
  }
  auto stub = v1::TokenService::NewStub(channel);
  const std::string expires_on = tokens::FormatIsoDate(tokens::UtcDay(absl::Now()) + 30);
  std::vector<Revocable> out;
  for (int i = 0; i < count; ++i) {
    grpc::ClientContext ctx;
    Authorize(ctx, admin);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    v1::CreateTokenRequest request;
    request.set_name(absl::StrCat("fleet-", ::getpid(), "-", i));
    request.set_expires_on(expires_on);
    request.set_user_id(user);
    v1::CreateTokenResponse response;
    const grpc::Status status = stub->CreateToken(&ctx, request, &response);
    if (!status.ok()) Fail(absl::StrCat("CreateToken: ", Describe(status)));
    std::optional<TokenId> parsed = TokenId::Parse(response.token().id());
    if (!parsed.has_value()) Fail("CreateToken returned a token id that is not a UUID");
    out.push_back(Revocable{response.token().id(), *parsed});
  }
  return out;
}

// --- Output ------------------------------------------------------------------

// One line of key=value pairs for bench/report.py; NA for a value that
// was not measured.
class ResultLine {
 public:
  ResultLine(absl::string_view phase, absl::string_view label, int consumers)
      : text_(absl::StrCat("phase=", phase)) {
    if (!label.empty()) Add("label", label);
    Add("consumers", consumers);
  }

  template <typename T>
  ResultLine& Add(absl::string_view key, const T& value) {
    absl::StrAppend(&text_, " ", key, "=", value);
    return *this;
  }
  // A sampled count, -1 when not sampled.
  ResultLine& Count(absl::string_view key, int64_t value) {
    return value < 0 ? Add(key, "NA") : Add(key, value);
  }
  // Milliseconds or seconds, NaN when not measured.
  ResultLine& Fixed(absl::string_view key, double value, int decimals = 3) {
    return value != value ? Add(key, "NA") : Add(key, absl::StrFormat("%.*f", decimals, value));
  }

  void Print() const {
    std::printf("%s\n", text_.c_str());
    std::fflush(stdout);
  }

 private:
  std::string text_;
};

double Last(const std::vector<double>& sorted) {
  return sorted.empty() ? std::nan("") : sorted.back();
}

int Run() {
  const std::string target = absl::GetFlag(FLAGS_target);
  if (target.empty()) Fail("--target is required");
  int port = 0;
  if (!absl::SimpleAtoi(target.substr(target.rfind(':') + 1), &port)) {
    Fail("--target must be host:port");
  }
  const int n = absl::GetFlag(FLAGS_consumers);
  const int r = absl::GetFlag(FLAGS_revocations);
  if (n < 1 || n > 10000) Fail("--consumers must be in 1..10000");
  if (r < 0 || r > 100000) Fail("--revocations must be in 0..100000");
  const std::string service_token = Secret(&FLAGS_service_token, "BENCH_SERVICE_TOKEN");
  const std::string admin_token = r > 0 ? Secret(nullptr, "BENCH_ADMIN_TOKEN") : "";
  std::string database_url = absl::GetFlag(FLAGS_database_url);
  if (database_url.empty() && std::getenv("DATABASE_URL") != nullptr) {
    database_url = std::getenv("DATABASE_URL");
  }
  const int pid = absl::GetFlag(FLAGS_service_pid);
  const std::string label = absl::GetFlag(FLAGS_label);
  constexpr absl::string_view phase_snapshot = "snapshot", phase_revocation = "revocation";

  // Before phase 1: the tokens to revoke, then every consumer connected.
  std::vector<Revocable> revocable;
  if (r > 0) {
    std::fprintf(stderr, "bench-fleet: creating %d tokens to revoke\n", r);
    revocable = CreateRevocable(target, admin_token, r);
  }
  absl::flat_hash_map<TokenId, int> watched;
  for (int i = 0; i < r; ++i) watched[revocable[i].parsed] = i;

  Scoreboard board(n, r);
  const int connections_before = CountOwnConnections(port);
  std::vector<std::unique_ptr<Consumer>> consumers;
  for (int c = 0; c < n; ++c) {
    auto channel = OwnChannel(target, c);
    if (!channel->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      Fail(absl::StrCat("consumer ", c, " could not connect to ", target));
    }
    consumers.push_back(std::make_unique<Consumer>(channel, watched, board));
  }
  const int connections = CountOwnConnections(port) - connections_before;

  Sampler sampler(pid, database_url, absl::GetFlag(FLAGS_sample_interval));
  const auto [before, db_before] = sampler.SampleNow();
  sampler.Start();

  // Phase 1.
  std::fprintf(stderr, "bench-fleet: %d consumers open SyncTokens from version 0\n", n);
  const double own_cpu0 = OwnCpuSeconds();
  const int64_t t0 = NowNs();
  for (auto& consumer : consumers) consumer->Start(service_token);
  const int ready = board.AwaitReady(absl::Now() + absl::GetFlag(FLAGS_snapshot_timeout));
  const int64_t t1 = NowNs();
  const Sampler::Peaks phase1 = sampler.peaks();
  const ProcessSample after = SampleProcess(pid);
  const double own_cpu = OwnCpuSeconds() - own_cpu0;

  std::vector<double> ready_ms;
  int64_t tokens_min = -1, tokens_max = -1, bad_tokens = 0;
  for (const auto& consumer : consumers) {
    bad_tokens += consumer->bad_tokens();
    if (consumer->snapshot_end_ns() == 0) continue;
    ready_ms.push_back(MsBetween(t0, consumer->snapshot_end_ns()));
    const int64_t tokens = consumer->snapshot_tokens();
    tokens_min = tokens_min < 0 ? tokens : std::min(tokens_min, tokens);
    tokens_max = std::max(tokens_max, tokens);
  }
  std::sort(ready_ms.begin(), ready_ms.end());
  const bool complete = ready == n;
  // With streams open and idle: what stays for as long as the fleet is
  // connected.
  absl::SleepFor(absl::Milliseconds(500));
  const auto [idle, db_idle] = sampler.SampleNow();

  ResultLine(phase_snapshot, label, n)
      .Add("complete", complete ? 1 : 0)
      .Add("ready", ready)
      .Add("failed", board.failed())
      .Fixed("ready_all_ms", complete ? Last(ready_ms) : std::nan(""))
      .Fixed("ready_p50_ms", Percentile(ready_ms, 50))
      .Fixed("ready_max_ms", Last(ready_ms))
      .Fixed("phase_ms", MsBetween(t0, t1))
      .Count("tokens_min", tokens_min)
      .Count("tokens_max", tokens_max)
      .Add("bad_tokens", bad_tokens)
      .Add("connections", connections)
      .Count("threads_before", before.threads)
      .Count("threads_peak", phase1.threads)
      .Count("threads_idle", idle.threads)
      .Count("rss_before_kib", before.rss_kib)
      .Count("rss_peak_kib", phase1.rss_kib)
      .Count("rss_idle_kib", idle.rss_kib)
      .Count("db_connections_before", db_before.connections)
      .Count("db_connections_peak", phase1.db_connections)
      .Count("db_connections_idle", db_idle.connections)
      .Count("db_in_transaction_peak", phase1.db_in_transaction)
      .Count("db_snapshot_cursors_peak", phase1.db_snapshot_cursors)
      .Fixed("service_cpu_s",
             after.cpu_seconds >= 0 && before.cpu_seconds >= 0
                 ? after.cpu_seconds - before.cpu_seconds
                 : std::nan(""),
             2)
      .Fixed("client_cpu_s", own_cpu, 2)
      .Add("samples", phase1.samples)
      .Print();
  if (!board.first_error().empty()) {
    std::fprintf(stderr, "bench-fleet: %d streams failed; the first: %s\n", board.failed(),
                 board.first_error().c_str());
  }

  // Phase 2.
  if (r > 0 && complete && board.failed() == 0) {
    std::fprintf(stderr, "bench-fleet: %d revocations, each until all %d consumers have it\n", r,
                 n);
    auto admin =
        v1::TokenService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
    std::vector<int64_t> sent_ns(r, 0);
    std::vector<double> rpc_ms;
    // A feed that lost revocations will lose more: stop after a few rather
    // than wait --revocation_timeout for each of them.
    constexpr int kMaxIncomplete = 3;
    int incomplete = 0;
    int done = 0;
    for (int i = 0; i < r && incomplete < kMaxIncomplete; ++i, ++done) {
      grpc::ClientContext ctx;
      Authorize(ctx, admin_token);
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
      v1::RevokeTokenRequest request;
      request.set_id(revocable[i].id);
      v1::Token revoked;
      sent_ns[i] = NowNs();
      const grpc::Status status = admin->RevokeToken(&ctx, request, &revoked);
      rpc_ms.push_back(MsBetween(sent_ns[i], NowNs()));
      if (!status.ok()) Fail(absl::StrCat("RevokeToken: ", Describe(status)));
      if (board.AwaitSeen(i, absl::Now() + absl::GetFlag(FLAGS_revocation_timeout)) < n) {
        ++incomplete;
      }
    }
    std::vector<double> pair_ms, every_ms;
    int64_t missed = 0;
    for (int i = 0; i < done; ++i) {
      double slowest = 0;
      bool all = true;
      for (const auto& consumer : consumers) {
        const int64_t seen = consumer->seen_ns(i);
        if (seen == 0) {
          ++missed;
          all = false;
          continue;
        }
        pair_ms.push_back(MsBetween(sent_ns[i], seen));
        slowest = std::max(slowest, pair_ms.back());
      }
      if (all) every_ms.push_back(slowest);
    }
    std::sort(pair_ms.begin(), pair_ms.end());
    std::sort(every_ms.begin(), every_ms.end());
    std::sort(rpc_ms.begin(), rpc_ms.end());
    ResultLine(phase_revocation, label, n)
        .Add("revocations", done)
        .Add("pairs", pair_ms.size())
        .Add("missed", missed)
        .Add("incomplete", incomplete)
        .Fixed("p50_ms", Percentile(pair_ms, 50))
        .Fixed("p99_ms", Percentile(pair_ms, 99))
        .Fixed("max_ms", Last(pair_ms))
        .Fixed("every_p50_ms", Percentile(every_ms, 50))
        .Fixed("every_p99_ms", Percentile(every_ms, 99))
        .Fixed("every_max_ms", Last(every_ms))
        .Fixed("rpc_p50_ms", Percentile(rpc_ms, 50))
        .Fixed("rpc_p99_ms", Percentile(rpc_ms, 99))
        .Print();
  } else {
    ResultLine(phase_revocation, label, n)
        .Add("revocations", 0)
        .Add("skipped", r == 0 ? "not_asked" : "not_all_ready")
        .Print();
  }

  sampler.Stop();
  board.Cancelling();
  for (auto& consumer : consumers) consumer->Cancel();
  if (!board.AwaitEnded(absl::Now() + absl::Seconds(10))) {
    // A reactor must outlive its stream: leave them to the exit.
    std::fprintf(stderr, "bench-fleet: some streams did not end within 10 s of cancelling\n");
    for (auto& consumer : consumers) consumer.release();
    std::_Exit(board.failed() == 0 ? 0 : 1);
  }
  return board.failed() == 0 && bad_tokens == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "bench-fleet --target HOST:PORT --consumers N [--revocations R] [--service_pid PID] "
      "[--database_url URI]: N SyncTokens consumers against one token-service");
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() != 1) Fail("unexpected arguments; see --help");
  return Run();
}
