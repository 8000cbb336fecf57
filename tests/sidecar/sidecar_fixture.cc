#include "tests/sidecar/sidecar_fixture.h"

#include <iostream>
#include <regex>
#include <thread>
#include <utility>

#include "grpcpp/create_channel.h"
#include "tests/support/health_check.h"

namespace tokens::testing {
namespace {

using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;

constexpr std::chrono::seconds kStartTimeout(60);

std::chrono::system_clock::time_point In(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace

std::string SidecarBinary() { return TOKEN_SIDECAR_BINARY; }
std::string EchoServiceBinary() { return EXAMPLE_ECHO_SERVICE_BINARY; }

absl::StatusOr<std::unique_ptr<SidecarProcess>> SidecarProcess::Start(
    const std::string& token_service, const std::string& service_token,
    std::vector<std::string> extra_args) {
  return Spawn(token_service, service_token, std::move(extra_args), /*until_ready=*/true);
}

absl::StatusOr<std::unique_ptr<SidecarProcess>> SidecarProcess::StartNotReady(
    const std::string& token_service, const std::string& service_token,
    std::vector<std::string> extra_args) {
  return Spawn(token_service, service_token, std::move(extra_args), /*until_ready=*/false);
}

absl::StatusOr<std::unique_ptr<SidecarProcess>> SidecarProcess::Spawn(
    const std::string& token_service, const std::string& service_token,
    std::vector<std::string> extra_args, bool until_ready) {
  std::vector<std::string> args = {"--listen",        "127.0.0.1:0",
                                   "--metrics_listen", "",
                                   "--token_service", token_service,
                                   "--usage_flush_interval", "200ms"};
  // A sidecar that is to become ready says where its metrics are in its
  // ready file; one that is not has no metrics port, since only a log line
  // would say where.
  if (until_ready) args[3] = "127.0.0.1:0";
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ChildProcess::Options options{
      SidecarBinary(), args, {{"TOKEN_SIDECAR_SERVICE_TOKEN", service_token}}, {}};
  options.ready_file = until_ready;
  absl::StatusOr<std::unique_ptr<ChildProcess>> child = ChildProcess::Spawn(std::move(options));
  if (!child.ok()) return child.status();
  auto process = std::unique_ptr<SidecarProcess>(new SidecarProcess());
  if (until_ready) {
    absl::StatusOr<ReadyFileContents> ready = (*child)->WaitUntilReady(kStartTimeout);
    if (!ready.ok()) return ready.status();
    process->address_ = ready->addresses["grpc"];
    process->metrics_address_ = ready->addresses["metrics"];
  } else {
    // Not ready means no ready file: the listener's log line is all there is.
    absl::StatusOr<std::string> address = (*child)->WaitUntilListening(kStartTimeout);
    if (!address.ok()) return address.status();
    process->address_ = *address;
  }
  process->process_ = *std::move(child);
  return process;
}

std::shared_ptr<grpc::Channel> SidecarProcess::NewChannel() const {
  return grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
}

bool SidecarProcess::IsServing() {
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status =
      HealthCheck(NewChannel(), "", &response, std::chrono::milliseconds(2000));
  return status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

bool SidecarProcess::WaitUntilServing(std::chrono::milliseconds timeout) {
  return Eventually([this] { return IsServing(); }, timeout);
}

bool Eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void SidecarTest::SetUp() {
  TokenServiceTest::SetUp();
  if (HasFatalFailure()) return;
  service_token_ = NewUserWithToken("sidecar", v1::SERVICE);
  ASSERT_FALSE(service_token_.empty());
  sidecar_ = StartSidecar();
  ASSERT_NE(sidecar_, nullptr);
}

void SidecarTest::TearDown() {
  if (HasFailure() && sidecar_ != nullptr) {
    std::cerr << "---- token-sidecar stderr ----\n" << sidecar_->process().Stderr();
  }
  TokenServiceTest::TearDown();
}

std::unique_ptr<SidecarProcess> SidecarTest::StartSidecar(std::vector<std::string> extra_args,
                                                          const std::string& address) {
  absl::StatusOr<std::unique_ptr<SidecarProcess>> sidecar = SidecarProcess::Start(
      address.empty() ? service_->address() : address, service_token_, std::move(extra_args));
  EXPECT_TRUE(sidecar.ok()) << sidecar.status();
  if (!sidecar.ok()) return nullptr;
  EXPECT_TRUE((*sidecar)->WaitUntilServing()) << (*sidecar)->process().Stderr();
  return *std::move(sidecar);
}

CheckResponse SidecarTest::Check(const std::map<std::string, std::string>& headers,
                                 SidecarProcess* sidecar, const std::string& source_address) {
  if (sidecar == nullptr) sidecar = sidecar_.get();
  auto stub = envoy::service::auth::v3::Authorization::NewStub(sidecar->NewChannel());
  CheckRequest request;
  auto* http = request.mutable_attributes()->mutable_request()->mutable_http();
  http->set_method("GET");
  http->set_path("/v1/things");
  for (const auto& [name, value] : headers) (*http->mutable_headers())[name] = value;
  if (!source_address.empty()) {
    request.mutable_attributes()
        ->mutable_source()
        ->mutable_address()
        ->mutable_socket_address()
        ->set_address(source_address);
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(In(std::chrono::seconds(30)));
  CheckResponse response;
  const grpc::Status status = stub->Check(&ctx, request, &response);
  EXPECT_TRUE(status.ok()) << "a denial is never an RPC error: " << status.error_message();
  return response;
}

CheckResponse SidecarTest::CheckToken(const std::string& token, SidecarProcess* sidecar) {
  return Check({{"authorization", "Bearer " + token}}, sidecar);
}

grpc::Status SidecarTest::Authenticate(const v1::AuthenticateRequest& request,
                                       v1::AuthenticateResponse* response,
                                       SidecarProcess* sidecar) {
  if (sidecar == nullptr) sidecar = sidecar_.get();
  auto stub = v1::Authenticator::NewStub(sidecar->NewChannel());
  grpc::ClientContext ctx;
  ctx.set_deadline(In(std::chrono::seconds(30)));
  return stub->Authenticate(&ctx, request, response);
}

std::string SidecarTest::UpstreamHeader(const CheckResponse& response, const std::string& name) {
  if (!response.has_ok_response()) return "";
  for (const auto& option : response.ok_response().headers()) {
    if (option.header().key() == name) return option.header().value();
  }
  return "";
}

std::string SidecarTest::DeniedReason(const CheckResponse& response) {
  if (!response.has_denied_response()) return "";
  std::smatch match;
  const std::string& body = response.denied_response().body();
  if (!std::regex_search(body, match, std::regex(R"re("reason"\s*:\s*"([a-z_]+)")re"))) return "?";
  return match[1];
}

std::optional<v1::Token> SidecarTest::FindToken(const std::string& token_id) {
  v1::GetTokenRequest request;
  request.set_id(token_id);
  v1::Token token;
  const grpc::Status status = tokens_->GetToken(As(admin_token_).get(), request, &token);
  if (!status.ok()) return std::nullopt;
  return token;
}

}  // namespace tokens::testing
