#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/services/token_service/service_fixture.h"
#include "tests/support/child_process.h"
#include "tokens/v1/authenticator.grpc.pb.h"

// Integration-test support for token-sidecar: the real sidecar binary in
// front of the real token-service (see service_fixture.h), over real gRPC.
namespace tokens::testing {

std::string SidecarBinary();
std::string EchoServiceBinary();

// A running `token-sidecar` listening on 127.0.0.1 at a port it chose.
class SidecarProcess {
 public:
  // Starts the sidecar against `token_service` (host:port) with the service
  // token in its environment, and waits for its ready file: it has its
  // first snapshot and reports SERVING.
  static absl::StatusOr<std::unique_ptr<SidecarProcess>> Start(
      const std::string& token_service, const std::string& service_token,
      std::vector<std::string> extra_args = {});
  // The same for a sidecar that is not expected to become ready (no
  // token-service, a wrong token or CA): waits only until it listens, and
  // starts it without a metrics port.
  static absl::StatusOr<std::unique_ptr<SidecarProcess>> StartNotReady(
      const std::string& token_service, const std::string& service_token,
      std::vector<std::string> extra_args = {});

  const std::string& address() const { return address_; }
  // host:port of the Prometheus endpoint (started on a free port; "" when
  // started not ready).
  const std::string& metrics_address() const { return metrics_address_; }
  ChildProcess& process() { return *process_; }
  std::shared_ptr<grpc::Channel> NewChannel() const;
  // Polls grpc.health.v1 until it reports SERVING; false after `timeout`.
  bool WaitUntilServing(std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // The current health status, or NOT_SERVING/UNKNOWN when unreachable.
  bool IsServing();

 private:
  static absl::StatusOr<std::unique_ptr<SidecarProcess>> Spawn(
      const std::string& token_service, const std::string& service_token,
      std::vector<std::string> extra_args, bool until_ready);

  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  std::string metrics_address_;
};

// Calls `condition` until it returns true or `timeout` passes; returns the
// last result. For effects that travel asynchronously (a delta, a flush);
// the test then asserts on the condition, never on the time it took.
bool Eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// The fixture: token-service (fresh database, admin) plus a SERVICE user
// "sidecar" whose token a started, ready sidecar uses.
class SidecarTest : public TokenServiceTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Starts (another) sidecar against `token_service_address` (default: the
  // fixture's token-service) and waits until it is SERVING.
  std::unique_ptr<SidecarProcess> StartSidecar(std::vector<std::string> extra_args = {},
                                               const std::string& token_service_address = "");

  // Envoy's Check with these request headers against `sidecar` (default:
  // the fixture's).
  envoy::service::auth::v3::CheckResponse Check(const std::map<std::string, std::string>& headers,
                                                SidecarProcess* sidecar = nullptr,
                                                const std::string& source_address = "");
  // Check with "authorization: Bearer <token>".
  envoy::service::auth::v3::CheckResponse CheckToken(const std::string& token,
                                                     SidecarProcess* sidecar = nullptr);
  grpc::Status Authenticate(const v1::AuthenticateRequest& request,
                            v1::AuthenticateResponse* response, SidecarProcess* sidecar = nullptr);

  // The value of request header `name` that an allowed response sets, or
  // "" if none.
  static std::string UpstreamHeader(const envoy::service::auth::v3::CheckResponse& response,
                                    const std::string& name);
  // The "reason" of a denied response's JSON body, or "" if allowed.
  static std::string DeniedReason(const envoy::service::auth::v3::CheckResponse& response);

  // GetToken as admin: the token with this id, or nullopt.
  std::optional<v1::Token> FindToken(const std::string& token_id);

  std::string service_token_;
  std::unique_ptr<SidecarProcess> sidecar_;
};

}  // namespace tokens::testing
