#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/metrics/rpc_metrics.h"
#include "common/thread/worker_pool.h"
#include "sidecar/domain/verifier.h"
#include "tokens/v1/authenticator.grpc.pb.h"

// tokens.v1.Authenticator on the sidecar: microservices (through
// tokens::auth_client) ask who is behind the bearer token of a call they
// received. It is the authentication endpoint itself, so it takes no bearer
// token of its own; it is meant to be reachable only inside the pod.
namespace tokens::sidecar {

// The message of a denial: "<code>: <sentence>", e.g.
// "revoked: token revoked", so that a program can split the
// stable code off at the first ':'.
std::string DenialMessage(DenyReason reason);

// The request's required_scopes, or INVALID_ARGUMENT naming the field when
// one is not a scope name (IsScopeName).
absl::StatusOr<std::vector<std::string>> RequiredScopes(const v1::AuthenticateRequest& request);

// Allow: fills `response` and returns OK. Deny: UNAUTHENTICATED with
// DenialMessage(reason), `response` untouched; a valid token that lacks one
// of `required` (a token without scopes lacks none): PERMISSION_DENIED with
// InsufficientScopeMessage ("insufficient_scope: token lacks a b").
grpc::Status ToAuthenticateResult(const CheckResult& verdict,
                                  const std::vector<std::string>& required,
                                  v1::AuthenticateResponse* response);

// A request whose required_scopes names something that is not a scope name
// is INVALID_ARGUMENT before any token is looked at.
// `token` wins over `authorization`; an empty `authorization` means the
// header was absent. The client address is the request's when it is an IP
// address, else the peer's (ChooseClientAddress).
// Served like ExtAuthzService: answered on gRPC's callback thread when the
// cache decides, on a `lookups` worker when a miss needs token-service.
// The request arrives as bytes and is parsed here (ParseRequest), so that
// one that does not parse, a string that is not UTF-8 among them, is
// INVALID_ARGUMENT naming the field rather than gRPC's bare INTERNAL.
class AuthenticatorService final
    : public v1::Authenticator::WithRawCallbackMethod_Authenticate<v1::Authenticator::Service> {
 public:
  // `lookups` and `rpc_metrics` (optional) must outlive the server.
  AuthenticatorService(TokenVerifier& verifier, WorkerPool& lookups,
                       metrics::RpcMetrics* rpc_metrics = nullptr);

  grpc::ServerUnaryReactor* Authenticate(grpc::CallbackServerContext* ctx,
                                         const grpc::ByteBuffer* request,
                                         grpc::ByteBuffer* response) override;

 private:
  class Call;

  TokenVerifier& verifier_;
  WorkerPool& lookups_;
  metrics::RpcMetrics* const rpc_metrics_;
};

}  // namespace tokens::sidecar
