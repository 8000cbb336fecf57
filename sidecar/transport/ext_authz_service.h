#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/metrics/rpc_metrics.h"
#include "common/thread/worker_pool.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "sidecar/domain/verifier.h"

// Envoy's ext_authz gRPC API on the sidecar: Envoy asks Check for every
// request, and we answer from the verifier. The proto work lives in the free
// functions below so it can be tested without a server.
namespace tokens::sidecar {

// The identity headers an allowed request carries upstream.
inline constexpr absl::string_view kUserIdHeader = "x-auth-user-id";
inline constexpr absl::string_view kUserRoleHeader = "x-auth-user-role";
inline constexpr absl::string_view kTokenIdHeader = "x-auth-token-id";
// YYYY-MM-DD: the day the token stops working (at 00:00 UTC).
inline constexpr absl::string_view kTokenExpiresOnHeader = "x-auth-token-expires-on";
// The token's scopes, "a b"; absent (removed, so that a client cannot send
// its own) for a token without scopes, which has its user's full access.
inline constexpr absl::string_view kTokenScopesHeader = "x-auth-token-scopes";
// To the client, on the response: the same date.
inline constexpr absl::string_view kClientExpiresOnHeader = "x-token-expires-on";
// Envoy's per-route context_extensions key: the scopes a route requires,
// space-separated.
inline constexpr absl::string_view kRequiredScopesKey = "required_scopes";

struct ExtAuthzOptions {
  // Strip the bearer token before the request goes upstream, so services
  // behind Envoy never see (or leak) it.
  bool remove_authorization = true;
};

// The `authorization` header of the request Envoy describes, from either the
// `headers` map or (Envoys that send raw headers) `header_map`; the name is
// matched case-insensitively. nullopt when absent. Several authorization
// headers are ambiguous (which one would the upstream honour?), so they come
// back as an empty value, which the verifier rejects as malformed. The result
// points into `request`.
std::optional<absl::string_view> FindAuthorization(
    const envoy::service::auth::v3::CheckRequest& request);

// The downstream client's IP as Envoy saw it; empty when Envoy did not say.
// As the request states it: Check counts and records the check under
// ChooseClientAddress() of it.
absl::string_view ClientAddress(const envoy::service::auth::v3::CheckRequest& request);

// What a route requires of a token beyond authentication: Envoy's
// per-route context_extensions["required_scopes"].
struct RouteScopes {
  std::vector<std::string> required;  // empty: nothing beyond a valid token
  // The value names something that is not a scope name (IsScopeName): the
  // route is misconfigured and nothing passes on it (fail closed).
  bool misconfigured = false;
};

// The route's required scopes, as the request carries them.
RouteScopes RequiredScopes(const envoy::service::auth::v3::CheckRequest& request);

// Whether a check of `verdict` on `route` is allowed: authentication first
// (the verdict), then the route's scopes, which a token without scopes always
// has. A misconfigured route allows nothing.
bool AllowedOn(const CheckResult& verdict, const RouteScopes& route);

// Allow: status OK, the identity headers (user id, role, token id, expiry, and
// the scopes of a token that has some) set with OVERWRITE_IF_EXISTS_OR_ADD
// (and append=false for Envoys older than append_action) so a client cannot
// smuggle its own; `authorization` removed unless configured off, and
// x-auth-token-scopes removed for a token without scopes; x-token-expires-on
// added to the response to the client.
// Deny, invalid token: status UNAUTHENTICATED and a local HTTP 401 with a
// WWW-Authenticate challenge (`Bearer error="invalid_token"` for every
// reason, as the API fixes it) and a JSON body naming the reason.
// Deny, a valid token that lacks a scope the route requires: status
// PERMISSION_DENIED and a local HTTP 403 with `Bearer
// error="insufficient_scope", scope="<the route's required scopes>"` (RFC
// 6750 §3.1) and a JSON body naming the missing scopes.
// Deny, a misconfigured route: status INTERNAL and a local HTTP 500.
// Writes into an empty `response` (on its arena, if it has one), taking
// over the verdict's strings.
void WriteCheckResponse(CheckResult verdict, const RouteScopes& route,
                        const ExtAuthzOptions& options,
                        envoy::service::auth::v3::CheckResponse* response);
// The same on a route that requires no scope.
void WriteCheckResponse(CheckResult verdict, const ExtAuthzOptions& options,
                        envoy::service::auth::v3::CheckResponse* response);
envoy::service::auth::v3::CheckResponse ToCheckResponse(const CheckResult& verdict,
                                                        const ExtAuthzOptions& options,
                                                        const RouteScopes& route = {});

// A denial is a successful Check whose answer says "deny"; the RPC itself
// never fails because of the token.
//
// gRPC's callback API with the method's raw bytes: a check the cache decides
// is answered on the thread that read it, its request parsed onto an arena on
// that thread's stack and an allowing answer written straight to bytes
// (AllowBytes); a cache miss is looked up on a `lookups` worker (see
// AnswerWhenDecided), with the request parsed again into memory of its own. A
// body that is not a CheckRequest is INVALID_ARGUMENT.
class ExtAuthzService final
    : public envoy::service::auth::v3::Authorization::WithRawCallbackMethod_Check<
          envoy::service::auth::v3::Authorization::Service> {
 public:
  // `lookups` and `rpc_metrics` (optional) must outlive the server.
  ExtAuthzService(TokenVerifier& verifier, WorkerPool& lookups, ExtAuthzOptions options = {},
                  metrics::RpcMetrics* rpc_metrics = nullptr)
      : verifier_(verifier), lookups_(lookups), options_(options), rpc_metrics_(rpc_metrics) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;

 private:
  class ParsedRequest;
  void AnswerAfterLookup(const grpc::ByteBuffer& request, RouteScopes route,
                         std::string client_address, absl::Time start, grpc::ByteBuffer* response,
                         grpc::ServerUnaryReactor* reactor);
  // Writes the answer to `response` (a denial's message on `arena`) and
  // finishes the call.
  void Answer(CheckResult verdict, const RouteScopes& route, absl::Time start,
              google::protobuf::Arena& arena, grpc::ByteBuffer* response,
              grpc::ServerUnaryReactor* reactor) const;
  // Logs a misconfigured route's value once (per distinct value).
  void LogMisconfigured(absl::string_view value);

  TokenVerifier& verifier_;
  WorkerPool& lookups_;
  const ExtAuthzOptions options_;
  metrics::RpcMetrics* const rpc_metrics_;
  absl::Mutex logged_mu_;
  absl::flat_hash_set<std::string> logged_misconfigured_ ABSL_GUARDED_BY(logged_mu_);
};

}  // namespace tokens::sidecar
