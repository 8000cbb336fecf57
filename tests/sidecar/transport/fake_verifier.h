#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "sidecar/domain/verifier.h"

// What the sidecar's transport tests share: a mock verifier, sample
// verdicts, and a real gRPC server on a free loopback port.
namespace tokens::sidecar::testing {

// The waiting checks are mocked. The checks that never wait answer what the
// waiting ones would, like a cache that holds every token; after
// set_misses(true) they answer nullopt, like a cache that holds none, so
// that every check needs a lookup.
class MockTokenVerifier : public TokenVerifier {
 public:
  MOCK_METHOD(CheckResult, CheckHeader,
              (std::optional<absl::string_view> authorization, absl::string_view client_address),
              (override));
  MOCK_METHOD(CheckResult, CheckToken, (absl::string_view token, absl::string_view client_address),
              (override));

  std::optional<CheckResult> CheckHeaderNow(std::optional<absl::string_view> authorization,
                                            absl::string_view client_address) override {
    if (misses_) return std::nullopt;
    return CheckHeader(authorization, client_address);
  }
  std::optional<CheckResult> CheckTokenNow(absl::string_view token,
                                           absl::string_view client_address) override {
    if (misses_) return std::nullopt;
    return CheckToken(token, client_address);
  }
  CheckResult DenyUnresolved() override {
    ++unresolved_;
    CheckResult verdict;
    verdict.reason = DenyReason::kUnknown;
    return verdict;
  }

  void set_misses(bool misses) { misses_ = misses; }
  int unresolved() const { return unresolved_; }

 private:
  std::atomic<bool> misses_{false};
  std::atomic<int> unresolved_{0};
};

inline constexpr char kSampleTokenId[] = "0f8c2e4a-1b3d-4c5e-8f9a-0b1c2d3e4f5a";

inline CheckResult Allow(const std::string& user_id = "alice", Role role = Role::kAdmin) {
  CheckResult verdict;
  verdict.allowed = true;
  verdict.principal.user_id = user_id;
  verdict.principal.role = role;
  verdict.principal.token_id = *TokenId::Parse(kSampleTokenId);
  verdict.principal.expires_on = absl::CivilDay(2027, 4, 11);
  return verdict;
}

// An interned set of `names`, as a TokenCache holds it; alive for the whole
// test program.
inline const ScopeSet* Interned(const std::vector<std::string>& names) {
  static TokenCache* const cache = new TokenCache;
  return cache->InternScopes(names);
}

// Allow() for a token with `scopes`.
inline CheckResult AllowScoped(const std::vector<std::string>& scopes,
                               const std::string& user_id = "alice", Role role = Role::kUser) {
  CheckResult verdict = Allow(user_id, role);
  verdict.principal.scopes = Interned(scopes);
  return verdict;
}

inline CheckResult Deny(DenyReason reason) {
  CheckResult verdict;
  verdict.allowed = false;
  verdict.reason = reason;
  return verdict;
}

inline const std::vector<DenyReason>& AllDenyReasons() {
  static const auto* reasons = new std::vector<DenyReason>{
      DenyReason::kMissing, DenyReason::kMalformed, DenyReason::kUnknown,
      DenyReason::kExpired, DenyReason::kRevoked,   DenyReason::kUserDisabled};
  return *reasons;
}

// For parameterized test names.
inline std::string ReasonName(const ::testing::TestParamInfo<DenyReason>& info) {
  return std::string(DenyReasonCode(info.param));
}

// A gRPC server on 127.0.0.1 at a port it chose, serving `services`.
class LocalServer {
 public:
  // On a free port of `host` ("127.0.0.1", or "[::1]" for IPv6).
  explicit LocalServer(const std::vector<grpc::Service*>& services, std::string host = "127.0.0.1")
      : host_(std::move(host)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(absl::StrCat(host_, ":0"), grpc::InsecureServerCredentials(), &port_);
    for (grpc::Service* service : services) builder.RegisterService(service);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port_, 0);
  }
  ~LocalServer() { Stop(); }
  LocalServer(const LocalServer&) = delete;
  LocalServer& operator=(const LocalServer&) = delete;

  std::string address() const { return absl::StrCat(host_, ":", port_); }

  std::shared_ptr<grpc::Channel> NewChannel() const {
    return grpc::CreateChannel(address(), grpc::InsecureChannelCredentials());
  }

  // Stops accepting and waits for in-flight calls; later calls fail UNAVAILABLE.
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown();
    server_->Wait();
    server_.reset();
  }

 private:
  std::string host_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace tokens::sidecar::testing
