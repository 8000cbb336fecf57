#pragma once

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
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

// Allow: status OK, the identity headers set with OVERWRITE_IF_EXISTS_OR_ADD
// (and append=false for Envoys older than append_action) so a client cannot
// smuggle its own, and `authorization` removed unless configured off.
// Deny: status UNAUTHENTICATED and a local HTTP 401 with a WWW-Authenticate
// challenge (`Bearer error="invalid_token"` for every reason, as the API
// fixes it) and a JSON body naming the reason.
// Writes into an empty `response` (on its arena, if it has one), taking
// over the verdict's strings.
void WriteCheckResponse(CheckResult verdict, const ExtAuthzOptions& options,
                        envoy::service::auth::v3::CheckResponse* response);
envoy::service::auth::v3::CheckResponse ToCheckResponse(const CheckResult& verdict,
                                                        const ExtAuthzOptions& options);

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
  void AnswerAfterLookup(const grpc::ByteBuffer& request, std::string client_address,
                         absl::Time start, grpc::ByteBuffer* response,
                         grpc::ServerUnaryReactor* reactor);
  // Writes the answer to `response` (a denial's message on `arena`) and
  // finishes the call.
  void Answer(CheckResult verdict, absl::Time start, google::protobuf::Arena& arena,
              grpc::ByteBuffer* response, grpc::ServerUnaryReactor* reactor) const;

  TokenVerifier& verifier_;
  WorkerPool& lookups_;
  const ExtAuthzOptions options_;
  metrics::RpcMetrics* const rpc_metrics_;
};

}  // namespace tokens::sidecar
