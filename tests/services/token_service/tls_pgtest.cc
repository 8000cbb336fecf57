// token-service over TLS and mTLS (--tls_cert, --tls_key, --tls_client_ca):
// who gets through and who is refused, certificates replaced on disk while
// it serves, and `token-service probe` against every kind of listener.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/health_check.h"
#include "tests/support/test_certs.h"

namespace tokens::testing {
namespace {

// Binds `fd` to a free port of 127.0.0.1; returns the port, or 0 (errno set).
int BindLoopback(int fd) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(address);
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    return 0;
  }
  return ntohs(address.sin_port);
}

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kRotationTimeout = std::chrono::seconds(60);

class TokenServiceTlsTest : public TokenServiceTest {
 protected:
  void SetUp() override {
    TokenServiceTest::SetUp();
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
  }

  void TearDown() override {
    if (HasFailure() && tls_service_ != nullptr) {
      std::cerr << "---- TLS token-service stderr ----\n" << tls_service_->process().Stderr();
    }
    TokenServiceTest::TearDown();
  }

  TestCerts::Pair MustServer(const std::string& ca, const std::string& name) {
    absl::StatusOr<TestCerts::Pair> pair = certs_->Server(ca, name);
    EXPECT_TRUE(pair.ok()) << pair.status();
    return pair.ok() ? *pair : TestCerts::Pair{};
  }
  TestCerts::Pair MustClient(const std::string& ca, const std::string& name) {
    absl::StatusOr<TestCerts::Pair> pair = certs_->Client(ca, name);
    EXPECT_TRUE(pair.ok()) << pair.status();
    return pair.ok() ? *pair : TestCerts::Pair{};
  }

  // Starts a second token-service on the fixture's database with TLS from
  // `server` (and, with a client CA, mTLS), re-reading its files every
  // second.
  void StartTls(const TestCerts::Pair& server, const std::string& client_ca = "",
                std::vector<std::string> more = {}) {
    std::vector<std::string> flags = {"--tls_cert", server.cert, "--tls_key", server.key,
                                      "--tls_reload_interval", "1s"};
    if (!client_ca.empty()) flags.insert(flags.end(), {"--tls_client_ca", client_ca});
    flags.insert(flags.end(), more.begin(), more.end());
    absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service =
        TokenServiceProcess::Start(database_url_, flags);
    ASSERT_TRUE(service.ok()) << service.status();
    tls_service_ = *std::move(service);
  }

  // ListUsers as admin over a new connection with `credentials`.
  grpc::Status ListUsers(const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                         const std::string& address = "") {
    auto stub = v1::UserService::NewStub(
        NewOwnChannel(address.empty() ? tls_service_->address() : address, credentials));
    std::unique_ptr<grpc::ClientContext> context = As(admin_token_);
    context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::ListUsersRequest request;
    v1::ListUsersResponse response;
    return stub->ListUsers(context.get(), request, &response);
  }

  // `token-service probe` with `args`, without DATABASE_URL.
  ChildProcess::Result Probe(std::vector<std::string> args) {
    args.insert(args.begin(), "probe");
    absl::StatusOr<ChildProcess::Result> result =
        ChildProcess::Run({TokenServiceBinary(), args, {}, {"DATABASE_URL"}, {}},
                          std::chrono::seconds(60));
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ChildProcess::Result{-1, "", ""};
  }

  std::unique_ptr<TestCerts> certs_;
  std::unique_ptr<TokenServiceProcess> tls_service_;
};

// Calls `condition` until it is true or `timeout` has passed.
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return true;
}

// A refused handshake: UNAVAILABLE (never a hang: every call has a deadline),
// with a message that says the connection failed.
void ExpectRefused(const grpc::Status& status) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(status.error_message(),
              AnyOf(HasSubstr("failed to connect"), HasSubstr("Socket closed"),
                    HasSubstr("handshake"), HasSubstr("Handshake"), HasSubstr("Connection reset"),
                    HasSubstr("connection")));
}

TEST_F(TokenServiceTlsTest, ServesClientsThatTrustItsCaAndRefusesThoseThatDoNot) {
  StartTls(MustServer("a", "server"));
  EXPECT_TRUE(tls_service_->process().WaitForStderr("transport: TLS\\b", kCallTimeout).ok());

  grpc::Status trusted = ListUsers(TlsClientCredentials(certs_->Ca("a")));
  EXPECT_TRUE(trusted.ok()) << trusted.error_code() << " " << trusted.error_message();

  MustServer("b", "unused");  // makes CA b
  ExpectRefused(ListUsers(TlsClientCredentials(certs_->Ca("b"))));
  ExpectRefused(ListUsers(grpc::InsecureChannelCredentials()));
}

TEST_F(TokenServiceTlsTest, ThePlaintextListenerSaysSo) {
  EXPECT_TRUE(service_->process().WaitForStderr("transport: plaintext", kCallTimeout).ok())
      << service_->process().Stderr();
}

TEST_F(TokenServiceTlsTest, APlaintextListenerBeyondLoopbackIsLoggedAsAWarning) {
  absl::StatusOr<std::unique_ptr<TokenServiceProcess>> open =
      TokenServiceProcess::Start(database_url_, {"--listen", "0.0.0.0:0"});
  ASSERT_TRUE(open.ok()) << open.status();
  EXPECT_TRUE((*open)
                  ->process()
                  .WaitForStderr("\"level\":\"warning\".*0.0.0.0:0 is plaintext and not on loopback",
                                 kCallTimeout)
                  .ok())
      << (*open)->process().Stderr();
  EXPECT_THAT(service_->process().Stderr(), Not(HasSubstr("is plaintext and not on loopback")));
}

TEST_F(TokenServiceTlsTest, MutualTlsRequiresAClientCertificateSignedByTheClientCa) {
  const TestCerts::Pair server = MustServer("a", "server");
  StartTls(server, certs_->Ca("a"));
  EXPECT_TRUE(tls_service_->process()
                  .WaitForStderr("transport: TLS \\(client certificates required\\)", kCallTimeout)
                  .ok());

  grpc::Status with_client_cert =
      ListUsers(TlsClientCredentials(certs_->Ca("a"), MustClient("a", "client")));
  EXPECT_TRUE(with_client_cert.ok()) << with_client_cert.error_message();

  ExpectRefused(ListUsers(TlsClientCredentials(certs_->Ca("a"))));
  ExpectRefused(ListUsers(TlsClientCredentials(certs_->Ca("a"), MustClient("b", "foreign"))));
  ExpectRefused(ListUsers(grpc::InsecureChannelCredentials()));
}

TEST_F(TokenServiceTlsTest, TheSyncListenerServesTheSameCredentials) {
  StartTls(MustServer("a", "server"), certs_->Ca("a"), {"--sync_listen", "127.0.0.1:0"});
  const std::string& sync_address = tls_service_->sync_address();
  ASSERT_FALSE(sync_address.empty());
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status =
      HealthCheck(NewOwnChannel(sync_address, TlsClientCredentials(certs_->Ca("a"),
                                                                    MustClient("a", "client"))),
                  "", &response, kCallTimeout);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ExpectRefused(HealthCheck(NewOwnChannel(sync_address, TlsClientCredentials(certs_->Ca("a"))), "",
                            &response, kCallTimeout));
}

// The certificate is replaced on disk (a new file renamed over the old, as
// make-certs.sh and Kubernetes do): new connections get the new one, without
// a restart. Then a key that is not PEM replaces the good one: the listener
// keeps serving the last good pair.
TEST_F(TokenServiceTlsTest, AReplacedCertificateIsServedToNewConnectionsWithoutARestart) {
  const TestCerts::Pair served = MustServer("a", "served");
  StartTls(served);
  const TestCerts::Pair next = MustServer("b", "next");
  ExpectRefused(ListUsers(TlsClientCredentials(certs_->Ca("b"))));

  // Key first, then certificate: for a moment the pair does not match,
  // which the server must not serve either.
  ReplaceFile(served.key, ReadFileOrDie(next.key));
  ReplaceFile(served.cert, ReadFileOrDie(next.cert));
  grpc::Status after;
  EXPECT_TRUE(PollUntil(
      [&] {
        after = ListUsers(TlsClientCredentials(certs_->Ca("b")));
        return after.ok();
      },
      kRotationTimeout))
      << after.error_message();
  EXPECT_TRUE(tls_service_->process().WaitForStderr("TLS files changed.*CN=next", kCallTimeout).ok());
  ExpectRefused(ListUsers(TlsClientCredentials(certs_->Ca("a"))));

  // Half a rotation gone wrong: the key file is cut short.
  const std::string key = ReadFileOrDie(next.key);
  ReplaceFile(served.key, key.substr(0, key.size() / 2));
  ASSERT_TRUE(tls_service_->process()
                  .WaitForStderr("--tls_key: .* still serving the files read before", kRotationTimeout)
                  .ok())
      << tls_service_->process().Stderr();
  grpc::Status still = ListUsers(TlsClientCredentials(certs_->Ca("b")));
  EXPECT_TRUE(still.ok()) << still.error_message();
  // The key is never quoted.
  EXPECT_THAT(tls_service_->process().Stderr(), Not(HasSubstr(key.substr(40, 30))));
}

// The checked copy of the key (see common/grpc/tls.h) does not outlive a
// killed process for long: the next start removes it.
TEST_F(TokenServiceTlsTest, TheKeyCopyOfAKilledProcessIsRemovedByTheNextStart) {
  const std::string tmpdir = certs_->dir() + "/tmp";
  ASSERT_TRUE(std::filesystem::create_directory(tmpdir));
  // The binaries inherit TMPDIR; restored however the test ends.
  struct RestoreTmpdir {
    ~RestoreTmpdir() {
      if (saved.has_value()) {
        setenv("TMPDIR", saved->c_str(), 1);
      } else {
        unsetenv("TMPDIR");
      }
    }
    std::optional<std::string> saved;
  } restore{getenv("TMPDIR") != nullptr ? std::optional<std::string>(getenv("TMPDIR"))
                                         : std::nullopt};
  setenv("TMPDIR", tmpdir.c_str(), 1);
  const auto copies = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(tmpdir)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  };
  const TestCerts::Pair server = MustServer("a", "server");
  StartTls(server);
  const std::vector<std::string> first = copies();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_THAT(first[0], ::testing::StartsWith(
                            "token-tls." + std::to_string(tls_service_->process().pid()) + "."));
  tls_service_->process().Signal(SIGKILL);
  ASSERT_TRUE(tls_service_->process().Wait(kCallTimeout).ok());
  EXPECT_EQ(copies(), first);  // nothing ran to remove it

  tls_service_.reset();
  StartTls(server);
  const std::vector<std::string> second = copies();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(second[0], first[0]);
}

TEST_F(TokenServiceTlsTest, BadTlsFilesStopTheStartWithOneLineNamingTheFlag) {
  const TestCerts::Pair a = MustServer("a", "a");
  const TestCerts::Pair b = MustServer("b", "b");
  struct Case {
    std::vector<std::string> flags;
    std::string flag;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert", a.cert}, "--tls_key"},
      {{"--tls_cert", a.cert, "--tls_key", b.key}, "--tls_key"},
      {{"--tls_cert", a.key, "--tls_key", a.key}, "--tls_cert"},
      {{"--tls_cert", certs_->dir() + "/missing.pem", "--tls_key", a.key}, "--tls_cert"},
      {{"--tls_cert", a.cert, "--tls_key", a.key, "--tls_client_ca", a.key}, "--tls_client_ca"},
      {{"--tls_client_ca", certs_->Ca("a")}, "--tls_client_ca"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.flag);
    std::vector<std::string> args = {"--listen", "127.0.0.1:0", "--metrics_listen", "", "--http_listen", "",
                                     "--database_url", database_url_};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    absl::StatusOr<ChildProcess::Result> result =
        ChildProcess::Run({TokenServiceBinary(), args, {}, {"DATABASE_URL"}, {}},
                          std::chrono::seconds(60));
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 2) << result->err;
    EXPECT_THAT(result->err, HasSubstr("token-service: " + c.flag + ": "));
    EXPECT_EQ(std::count(result->err.begin(), result->err.end(), '\n'), 1) << result->err;
    EXPECT_THAT(result->err, Not(HasSubstr("PRIVATE KEY")));
  }
}

TEST_F(TokenServiceTlsTest, ProbeIsServingOverPlaintextTlsAndMutualTls) {
  ChildProcess::Result plaintext = Probe({"--address", service_->address()});
  EXPECT_EQ(plaintext.exit_code, 0) << plaintext.err;
  EXPECT_THAT(plaintext.out, HasSubstr("SERVING"));

  const TestCerts::Pair server = MustServer("a", "server");
  StartTls(server);
  ChildProcess::Result tls = Probe({"--address", tls_service_->address(), "--tls_cert",
                                    server.cert, "--tls_key", server.key});
  EXPECT_EQ(tls.exit_code, 0) << tls.err;
  // The probe does not check the server's identity: it trusts no CA here.
  ChildProcess::Result plaintext_to_tls = Probe({"--address", tls_service_->address(),
                                                 "--probe_timeout", "2s"});
  EXPECT_EQ(plaintext_to_tls.exit_code, 1);
  EXPECT_EQ(std::count(plaintext_to_tls.err.begin(), plaintext_to_tls.err.end(), '\n'), 1)
      << plaintext_to_tls.err;

  tls_service_.reset();
  StartTls(server, certs_->Ca("a"));
  // The probe as a Kubernetes exec probe runs it: from the server's own
  // environment, the listen address with a wildcard host.
  const std::string port =
      tls_service_->address().substr(tls_service_->address().rfind(':') + 1);
  absl::StatusOr<ChildProcess::Result> mutual = ChildProcess::Run(
      {TokenServiceBinary(),
       {"probe"},
       {{"TOKEN_SERVICE_LISTEN", "0.0.0.0:" + port},
        {"TOKEN_SERVICE_TLS_CERT", server.cert},
        {"TOKEN_SERVICE_TLS_KEY", server.key},
        {"TOKEN_SERVICE_TLS_CLIENT_CA", certs_->Ca("a")}},
       {"DATABASE_URL"},
       {}},
      std::chrono::seconds(60));
  ASSERT_TRUE(mutual.ok()) << mutual.status();
  EXPECT_EQ(mutual->exit_code, 0) << mutual->err;
  EXPECT_THAT(mutual->out, HasSubstr("127.0.0.1:" + port + ": SERVING"));
}

TEST_F(TokenServiceTlsTest, ProbeFailsAgainstAClosedPort) {
  // A port that was just free: bound, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int port = BindLoopback(fd);
  ASSERT_GT(port, 0) << std::strerror(errno);
  close(fd);
  ChildProcess::Result result = Probe({"--address", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("refused"));
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
}

// A listener that accepts TCP connections (the kernel completes them into
// its backlog) but never speaks: the probe gives up within its timeout.
TEST_F(TokenServiceTlsTest, ProbeFailsAgainstAListenerThatNeverAnswers) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int port = BindLoopback(fd);
  ASSERT_GT(port, 0) << std::strerror(errno);
  ASSERT_EQ(listen(fd, 16), 0);
  ChildProcess::Result result =
      Probe({"--address", "127.0.0.1:" + std::to_string(port), "--probe_timeout", "1s"});
  close(fd);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.err, HasSubstr("no answer within 1s: the listener may be wedged"));
}

}  // namespace
}  // namespace tokens::testing
