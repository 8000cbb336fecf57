// token-sidecar over TLS: its link to a TLS and mTLS token-service
// (--token_service_ca, --token_service_client_cert/key) across a rotation of
// token-service's certificate, its own listener with mTLS, and
// `token-sidecar probe`.
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/sidecar/sidecar_fixture.h"
#include "tests/support/health_check.h"
#include "tests/support/test_certs.h"

namespace tokens::testing {
namespace {

using ::testing::HasSubstr;

constexpr auto kTimeout = std::chrono::seconds(60);

class SidecarTlsTest : public SidecarTest {
 protected:
  void SetUp() override {
    SidecarTest::SetUp();
    absl::StatusOr<std::unique_ptr<TestCerts>> certs = TestCerts::Create();
    ASSERT_TRUE(certs.ok()) << certs.status();
    certs_ = *std::move(certs);
  }

  void TearDown() override {
    if (HasFailure()) {
      if (tls_service_ != nullptr) {
        std::cerr << "---- TLS token-service stderr ----\n" << tls_service_->process().Stderr();
      }
      if (tls_sidecar_ != nullptr) {
        std::cerr << "---- TLS sidecar stderr ----\n" << tls_sidecar_->process().Stderr();
      }
    }
    SidecarTest::TearDown();
  }

  TestCerts::Pair Must(absl::StatusOr<TestCerts::Pair> pair) {
    EXPECT_TRUE(pair.ok()) << pair.status();
    return pair.ok() ? *pair : TestCerts::Pair{};
  }

  // A token-service on the fixture's database serving `server`, requiring
  // client certificates of CA "a", re-reading its files every second.
  void StartTlsService(const TestCerts::Pair& server, std::vector<std::string> more = {}) {
    std::vector<std::string> flags = {"--tls_cert",      server.cert,      "--tls_key",
                                      server.key,        "--tls_client_ca", certs_->Ca("a"),
                                      "--tls_reload_interval", "1s"};
    flags.insert(flags.end(), more.begin(), more.end());
    absl::StatusOr<std::unique_ptr<TokenServiceProcess>> service =
        TokenServiceProcess::Start(database_url_, flags);
    ASSERT_TRUE(service.ok()) << service.status();
    tls_service_ = *std::move(service);
  }

  // The sidecar's flags for an mTLS link trusting CA `ca`.
  std::vector<std::string> LinkFlags(const std::string& ca, const TestCerts::Pair& client) {
    return {"--token_service_ca", certs_->Ca(ca), "--token_service_client_cert", client.cert,
            "--token_service_client_key", client.key};
  }

  bool Allowed(const std::string& token, SidecarProcess* sidecar) {
    return CheckToken(token, sidecar).status().code() == 0;
  }

  static int Count(const std::string& text, const std::string& regex) {
    const std::regex re(regex);
    return static_cast<int>(
        std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
  }

  std::unique_ptr<TestCerts> certs_;
  std::unique_ptr<TokenServiceProcess> tls_service_;
  std::unique_ptr<SidecarProcess> tls_sidecar_;
};

// The link is TLS with the sidecar's client certificate; token-service
// closes every connection after about a second (--max_connection_age), so
// the sidecar keeps making new ones, and its certificate is replaced on disk
// meanwhile: tokens created after the rotation still reach the sidecar.
TEST_F(SidecarTlsTest, SyncsOverMutualTlsAndKeepsAllowingNewTokensAcrossACertificateRotation) {
  const TestCerts::Pair served = Must(certs_->Server("a", "token-service"));
  StartTlsService(served, {"--max_connection_age", "1s", "--max_connection_age_grace", "1s"});
  std::unique_ptr<SidecarProcess> sidecar =
      StartSidecar(LinkFlags("a", Must(certs_->Client("a", "sidecar"))), tls_service_->address());
  ASSERT_NE(sidecar, nullptr);
  EXPECT_TRUE(sidecar->process()
                  .WaitForStderr("link to token-service: TLS.*with a client certificate", kTimeout)
                  .ok());

  const std::string alice = NewUserWithToken("alice", v1::USER);
  const v1::CreateTokenResponse before = MustCreate(alice, "before rotation");
  EXPECT_TRUE(Eventually([&] { return Allowed(before.secret(), sidecar.get()); }));

  const TestCerts::Pair next = Must(certs_->Server("a", "token-service-next"));
  ReplaceFile(served.key, ReadFileOrDie(next.key));
  ReplaceFile(served.cert, ReadFileOrDie(next.cert));
  ASSERT_TRUE(tls_service_->process()
                  .WaitForStderr("TLS files changed.*CN=token-service-next", kTimeout)
                  .ok());
  // Two streams opened after the rotation: the connections made before it
  // are gone (each lives about a second plus a second of grace).
  const int opened = Count(sidecar->process().Stderr(), "opening SyncTokens stream");
  EXPECT_TRUE(Eventually([&] {
    return Count(sidecar->process().Stderr(), "opening SyncTokens stream") >= opened + 2;
  }));

  const v1::CreateTokenResponse after = MustCreate(alice, "after rotation");
  EXPECT_TRUE(Eventually([&] { return Allowed(after.secret(), sidecar.get()); }));
  EXPECT_TRUE(Allowed(before.secret(), sidecar.get()));
  EXPECT_TRUE(sidecar->IsServing());
}

// A sidecar that trusts another CA never gets its snapshot: it stays
// NOT_SERVING (checks fail closed), its log says why, and the probe exits 1.
TEST_F(SidecarTlsTest, ASidecarThatDoesNotTrustTokenServiceStaysNotServingAndTheProbeSaysSo) {
  StartTlsService(Must(certs_->Server("a", "token-service")));
  Must(certs_->Server("b", "unused"));  // makes CA b
  absl::StatusOr<std::unique_ptr<SidecarProcess>> sidecar = SidecarProcess::StartNotReady(
      tls_service_->address(), service_token_,
      LinkFlags("b", Must(certs_->Client("a", "sidecar"))));
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  tls_sidecar_ = *std::move(sidecar);
  EXPECT_TRUE(
      tls_sidecar_->process().WaitForStderr("certificate verify failed", kTimeout).ok());

  absl::StatusOr<ChildProcess::Result> probe = ChildProcess::Run(
      {SidecarBinary(), {"probe", "--address", tls_sidecar_->address()}, {}, {}, {}}, kTimeout);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->exit_code, 1) << probe->err;
  EXPECT_THAT(probe->err, HasSubstr("NOT_SERVING"));
  EXPECT_FALSE(tls_sidecar_->IsServing());
}

// The sidecar's own listener with mTLS: Envoy (here a client with a
// certificate of CA "a") gets through, a client without one does not; the
// probe, run with the sidecar's own environment, reports SERVING.
TEST_F(SidecarTlsTest, TheSidecarListenerRequiresClientCertificatesAndTheProbeUsesItsOwn) {
  const TestCerts::Pair served = Must(certs_->Server("a", "sidecar"));
  absl::StatusOr<std::unique_ptr<SidecarProcess>> sidecar = SidecarProcess::Start(
      service_->address(), service_token_,
      {"--tls_cert", served.cert, "--tls_key", served.key, "--tls_client_ca", certs_->Ca("a")});
  ASSERT_TRUE(sidecar.ok()) << sidecar.status();
  tls_sidecar_ = *std::move(sidecar);
  EXPECT_TRUE(tls_sidecar_->process()
                  .WaitForStderr("transport: TLS \\(client certificates required\\)", kTimeout)
                  .ok());

  const std::shared_ptr<grpc::ChannelCredentials> envoy =
      TlsClientCredentials(certs_->Ca("a"), Must(certs_->Client("a", "envoy")));
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(Eventually([&] {
    return HealthCheck(NewOwnChannel(tls_sidecar_->address(), envoy), "", &response,
                       std::chrono::seconds(5))
               .ok() &&
           response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
  }));
  const grpc::Status without = HealthCheck(
      NewOwnChannel(tls_sidecar_->address(), TlsClientCredentials(certs_->Ca("a"))), "",
      &response, std::chrono::seconds(10));
  EXPECT_EQ(without.error_code(), grpc::StatusCode::UNAVAILABLE) << without.error_message();

  const std::string port =
      tls_sidecar_->address().substr(tls_sidecar_->address().rfind(':') + 1);
  absl::StatusOr<ChildProcess::Result> probe = ChildProcess::Run(
      {SidecarBinary(),
       {"probe"},
       {{"TOKEN_SIDECAR_LISTEN", "0.0.0.0:" + port},
        {"TOKEN_SIDECAR_TLS_CERT", served.cert},
        {"TOKEN_SIDECAR_TLS_KEY", served.key},
        {"TOKEN_SIDECAR_TLS_CLIENT_CA", certs_->Ca("a")}},
       {"TOKEN_SIDECAR_SERVICE_TOKEN"},
       {}},
      kTimeout);
  ASSERT_TRUE(probe.ok()) << probe.status();
  EXPECT_EQ(probe->exit_code, 0) << probe->err;
  EXPECT_THAT(probe->out, HasSubstr("SERVING"));
}

}  // namespace
}  // namespace tokens::testing
