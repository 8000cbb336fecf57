#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "tokens/v1/authenticator.grpc.pb.h"

// For microservices: authenticate the bearer token of each incoming gRPC call
// through the pod's token-sidecar (tokens.v1.Authenticator/Authenticate).
//
// gRPC's server interceptors cannot reject a call cleanly, so this is a
// helper the handler calls first. Usage:
//
//   class EchoService final : public Echo::Service {
//    public:
//     explicit EchoService(tokens::auth_client::SidecarAuthenticator& auth) : auth_(auth) {}
//     grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* req,
//                       EchoResponse* resp) override {
//       return tokens::auth_client::Authenticated(
//           auth_, ctx, req, resp,
//           [](const tokens::auth_client::Caller& caller, const EchoRequest* req,
//              EchoResponse* resp) { ...; return grpc::Status::OK; });
//     }
//    private:
//     tokens::auth_client::SidecarAuthenticator& auth_;
//   };
//   ...
//   tokens::auth_client::SidecarAuthenticator auth(
//       grpc::CreateChannel("127.0.0.1:50052", grpc::InsecureChannelCredentials()));
namespace tokens::auth_client {

// Who made the call, as the sidecar established it.
struct Caller {
  std::string user_id;
  std::string role;        // "USER", "ADMIN" or "SERVICE"
  std::string token_id;    // the token's id (a UUID), never its secret
  std::string expires_on;  // YYYY-MM-DD; the token stops working at 00:00 UTC that day
};

// Asks the sidecar about the `authorization` metadata of incoming calls.
// Fails closed: when the sidecar cannot answer, the call is UNAVAILABLE,
// never allowed. Thread-safe.
class SidecarAuthenticator {
 public:
  struct Options {
    // How long one Authenticate may take before the call fails UNAVAILABLE.
    absl::Duration deadline = absl::Milliseconds(200);
  };

  explicit SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar)
      : SidecarAuthenticator(std::move(sidecar), Options()) {}
  SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar, Options options);

  // The caller of an incoming call, from its `authorization` metadata and
  // peer address. UNAUTHENTICATED with the sidecar's message
  // ("<reason>: <sentence>", e.g. "revoked: token revoked");
  // UNAVAILABLE when the sidecar did not answer.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContext& ctx) const;

  // The same for a header value (nullopt: no header) and a client address,
  // for callers that are not gRPC servers.
  absl::StatusOr<Caller> Authenticate(std::optional<absl::string_view> authorization,
                                      absl::string_view client_address) const;

 private:
  const std::unique_ptr<v1::Authenticator::Stub> stub_;
  const Options options_;
};

// absl::Status -> grpc::Status, code for code.
grpc::Status ToGrpcStatus(const absl::Status& status);

// Runs `handler(caller, req, resp)` only for an authenticated call; any
// other call gets the authentication error and the handler never runs.
// `handler` returns grpc::Status or absl::Status.
template <class Req, class Resp, class Handler>
grpc::Status Authenticated(const SidecarAuthenticator& auth, grpc::ServerContext* ctx,
                           const Req* req, Resp* resp, Handler&& handler) {
  absl::StatusOr<Caller> caller = auth.Authenticate(*ctx);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  using Result = std::invoke_result_t<Handler&&, const Caller&, const Req*, Resp*>;
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return ToGrpcStatus(std::forward<Handler>(handler)(*caller, req, resp));
  } else {
    return std::forward<Handler>(handler)(*caller, req, resp);
  }
}

}  // namespace tokens::auth_client
