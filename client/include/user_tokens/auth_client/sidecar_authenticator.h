#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "tokens/v1/authenticator.grpc.pb.h"

// For microservices: authenticate the bearer token of each incoming gRPC call
// through the pod's token-sidecar (tokens.v1.Authenticator/Authenticate).
// Installed as UserTokens::auth_client (docs/client.md); it needs gRPC,
// protobuf, Abseil and UserTokens::protos, nothing else of this project.
//
// gRPC's server interceptors cannot reject a call cleanly, so this is a
// helper the handler calls first. The same line serves both of gRPC's server
// APIs:
//
//   // Synchronous API: blocks this gRPC thread for the sidecar's answer.
//   grpc::Status Echo(grpc::ServerContext* ctx, const EchoRequest* req,
//                     EchoResponse* resp) override {
//     return tokens::auth_client::Authenticated(auth_, ctx, req, resp,
//         [](const tokens::auth_client::Caller& caller, const EchoRequest* req,
//            EchoResponse* resp) { ...; return grpc::Status::OK; });
//   }
//
//   // Callback API: returns at once; the handler runs when the sidecar has
//   // answered, on a gRPC thread, and must not block either.
//   grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* ctx,
//                                  const EchoRequest* req, EchoResponse* resp) override {
//     return tokens::auth_client::Authenticated(auth_, ctx, req, resp, <same handler>);
//   }
//
//   tokens::auth_client::SidecarAuthenticator auth_(
//       grpc::CreateChannel("127.0.0.1:50052", grpc::InsecureChannelCredentials()));
//
// A method that needs scopes names them before the handler:
//
//     return tokens::auth_client::Authenticated(auth_, ctx, req, resp,
//         tokens::auth_client::Requirements{{"things:write"}}, <handler>);
namespace tokens::auth_client {

// Who made the call, as the sidecar established it.
struct Caller {
  std::string user_id;
  std::string role;        // "USER", "ADMIN" or "SERVICE"
  std::string token_id;    // the token's id (a UUID), never its secret
  std::string expires_on;  // YYYY-MM-DD; the token stops working at 00:00 UTC that day
  // The token's scopes, sorted; empty: the token names no scope and has its
  // user's full access.
  std::vector<std::string> scopes;
};

// What a call needs beyond a valid token.
struct Requirements {
  // Scope names from the operator's catalogue. A token that names scopes but
  // lacks one of these is refused with PERMISSION_DENIED ("insufficient_scope:
  // token lacks ..."); a token that names no scope has its user's full access
  // and passes. A name that is not a scope name is this service's mistake:
  // every call fails INTERNAL.
  std::vector<std::string> scopes;
};

// Asks the sidecar about the `authorization` metadata of incoming calls.
// Fails closed: when the sidecar cannot answer, the call is UNAVAILABLE,
// never allowed. Thread-safe. Destroy it after the server that uses it has
// shut down; its destructor waits for AuthenticateAsync's pending calls (at
// most Options::deadline), so none of them outlives it.
class SidecarAuthenticator {
 public:
  struct Options {
    // How long one Authenticate may take before the call fails UNAVAILABLE.
    absl::Duration deadline = absl::Milliseconds(200);
  };

  // Receives the verdict of AuthenticateAsync.
  using Done = absl::AnyInvocable<void(absl::StatusOr<Caller>)>;

  explicit SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar)
      : SidecarAuthenticator(std::move(sidecar), Options()) {}
  SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar, Options options);

  // Waits until every AuthenticateAsync call has completed and released what
  // it held, so the channel is let go here and not on one of gRPC's callback
  // threads (which gRPC's callback API does not survive). Must not run inside
  // a Done callback.
  ~SidecarAuthenticator();

  SidecarAuthenticator(const SidecarAuthenticator&) = delete;
  SidecarAuthenticator& operator=(const SidecarAuthenticator&) = delete;

  // The caller of an incoming call (grpc::ServerContext or
  // grpc::CallbackServerContext), from its `authorization` metadata and peer
  // address. UNAUTHENTICATED with the sidecar's message
  // ("<reason>: <sentence>", e.g. "revoked: token revoked");
  // PERMISSION_DENIED ("insufficient_scope: token lacks a b") for a valid
  // token without a scope `required` names; INTERNAL when `required` names
  // something that is not a scope name; UNAVAILABLE when the sidecar did not
  // answer. Blocks for the answer (at most Options::deadline): for
  // synchronous services.
  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& ctx,
                                      const Requirements& required = {}) const;

  // The same for a header value (nullopt: no header) and a client address,
  // for callers that are not gRPC servers.
  absl::StatusOr<Caller> Authenticate(std::optional<absl::string_view> authorization,
                                      absl::string_view client_address,
                                      const Requirements& required = {}) const;

  // The non-blocking form, for callback services and anything else that must
  // not hold a thread while the sidecar answers: returns at once and calls
  // `done` exactly once with what Authenticate would have returned. `done`
  // runs on one of gRPC's threads (or, rarely, on this one before this
  // returns), so it must not block. `ctx` is read before this returns.
  void AuthenticateAsync(const grpc::ServerContextBase& ctx, Done done) const;
  void AuthenticateAsync(std::optional<absl::string_view> authorization,
                         absl::string_view client_address, Done done) const;
  // The same with requirements (`required` is read before this returns).
  void AuthenticateAsync(const grpc::ServerContextBase& ctx, const Requirements& required,
                         Done done) const;
  void AuthenticateAsync(std::optional<absl::string_view> authorization,
                         absl::string_view client_address, const Requirements& required,
                         Done done) const;

 private:
  const std::unique_ptr<v1::Authenticator::Stub> stub_;
  const Options options_;
  // AuthenticateAsync calls whose completion has not yet finished.
  mutable absl::Mutex mu_;
  mutable int pending_ ABSL_GUARDED_BY(mu_) = 0;
};

// absl::Status -> grpc::Status, code for code.
grpc::Status ToGrpcStatus(const absl::Status& status);

namespace internal {

// Runs the handler of Authenticated() and gives its status as a grpc::Status.
template <class Req, class Resp, class Handler>
grpc::Status RunHandler(Handler& handler, const Caller& caller, const Req* req, Resp* resp) {
  using Result = std::invoke_result_t<Handler&, const Caller&, const Req*, Resp*>;
  static_assert(std::is_same_v<Result, grpc::Status> || std::is_same_v<Result, absl::Status>,
                "the handler returns grpc::Status or absl::Status");
  if constexpr (std::is_same_v<Result, absl::Status>) {
    return ToGrpcStatus(handler(caller, req, resp));
  } else {
    return handler(caller, req, resp);
  }
}

}  // namespace internal

// Synchronous API: runs `handler(caller, req, resp)` only for an
// authenticated call that meets `required`; any other call gets the error
// (UNAUTHENTICATED, PERMISSION_DENIED, ...) and the handler never runs.
// `handler` returns grpc::Status or absl::Status.
template <class Req, class Resp, class Handler>
grpc::Status Authenticated(const SidecarAuthenticator& auth, grpc::ServerContext* ctx,
                           const Req* req, Resp* resp, const Requirements& required,
                           Handler&& handler) {
  absl::StatusOr<Caller> caller = auth.Authenticate(*ctx, required);
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return internal::RunHandler(handler, *caller, req, resp);
}

// The same without requirements: any valid token.
template <class Req, class Resp, class Handler>
grpc::Status Authenticated(const SidecarAuthenticator& auth, grpc::ServerContext* ctx,
                           const Req* req, Resp* resp, Handler&& handler) {
  return Authenticated(auth, ctx, req, resp, Requirements{}, std::forward<Handler>(handler));
}

// Callback API: the same without blocking. Returns the call's reactor, which
// the handler's status finishes once the sidecar has answered; `req` and
// `resp` stay valid until then, as gRPC keeps them until Finish.
template <class Req, class Resp, class Handler>
grpc::ServerUnaryReactor* Authenticated(const SidecarAuthenticator& auth,
                                        grpc::CallbackServerContext* ctx, const Req* req,
                                        Resp* resp, const Requirements& required,
                                        Handler&& handler) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  auth.AuthenticateAsync(
      *ctx, required,
      [reactor, req, resp,
       handler = std::forward<Handler>(handler)](absl::StatusOr<Caller> caller) mutable {
        reactor->Finish(caller.ok() ? internal::RunHandler(handler, *caller, req, resp)
                                    : ToGrpcStatus(caller.status()));
      });
  return reactor;
}

template <class Req, class Resp, class Handler>
grpc::ServerUnaryReactor* Authenticated(const SidecarAuthenticator& auth,
                                        grpc::CallbackServerContext* ctx, const Req* req,
                                        Resp* resp, Handler&& handler) {
  return Authenticated(auth, ctx, req, resp, Requirements{}, std::forward<Handler>(handler));
}

}  // namespace tokens::auth_client
