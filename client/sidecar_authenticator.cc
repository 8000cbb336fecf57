#include "user_tokens/auth_client/sidecar_authenticator.h"

#include <chrono>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpcpp/client_context.h"

namespace tokens::auth_client {
namespace {

// The `authorization` metadata of a call. gRPC lower-cases keys; the
// comparison still ignores case so nothing depends on that. Several values
// are joined as HTTP joins repeated headers, which the sidecar rejects as
// malformed rather than picking one.
std::optional<std::string> AuthorizationOf(const grpc::ServerContextBase& ctx) {
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : ctx.client_metadata()) {
    if (absl::EqualsIgnoreCase(absl::string_view(key.data(), key.size()), "authorization")) {
      values.emplace_back(value.data(), value.size());
    }
  }
  if (values.empty()) return std::nullopt;
  return absl::StrJoin(values, ", ");
}

// The host of a gRPC peer URI: "ipv4:127.0.0.1:5555" -> "127.0.0.1",
// "ipv6:[::1]:5555" (or percent-encoded, "ipv6:%5B::1%5D:5555") -> "::1";
// "" for unix sockets, in-process channels and anything unrecognised. The
// binaries' rule (common/grpc/peer_address.h), restated here because the
// installed library depends on nothing of the project's but its protos.
std::string ClientAddressOf(const grpc::ServerContextBase& ctx) {
  const std::string peer_uri = ctx.peer();
  absl::string_view rest = peer_uri;
  if (absl::ConsumePrefix(&rest, "ipv4:")) return std::string(rest.substr(0, rest.rfind(':')));
  if (!absl::ConsumePrefix(&rest, "ipv6:")) return "";
  for (const auto& [open, close] :
       {std::pair<absl::string_view, absl::string_view>{"[", "]"}, {"%5B", "%5"}, {"%5b", "%5"}}) {
    if (!absl::ConsumePrefix(&rest, open)) continue;
    const size_t end = rest.find(close);
    return end == absl::string_view::npos ? "" : std::string(rest.substr(0, end));
  }
  return "";
}

v1::AuthenticateRequest RequestFor(std::optional<absl::string_view> authorization,
                                   absl::string_view client_address, const Requirements& required) {
  v1::AuthenticateRequest request;
  // An empty `authorization` tells the sidecar the header was absent; an
  // empty but present header is not a token either way.
  if (authorization.has_value()) request.set_authorization(std::string(*authorization));
  request.set_client_address(std::string(client_address));
  for (const std::string& scope : required.scopes) request.add_required_scopes(scope);
  return request;
}

// The sidecar's answer as the caller, its refusal, or, whatever else went
// wrong on the way, UNAVAILABLE: the token was not vouched for.
absl::StatusOr<Caller> VerdictOf(const grpc::Status& status,
                                 const v1::AuthenticateResponse& response) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::UnauthenticatedError(status.error_message());
  }
  // A valid token without a required scope: the caller's to fix.
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    return absl::PermissionDeniedError(status.error_message());
  }
  // A required scope that is not a scope name: this service's own mistake,
  // not the caller's.
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    return absl::InternalError(
        absl::StrCat("the auth sidecar refused this service's request: ", status.error_message()));
  }
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat("the auth sidecar did not answer: ",
                     absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))));
  }
  return Caller{response.user_id(), v1::Role_Name(response.role()), response.token_id(),
                response.expires_on(),
                std::vector<std::string>(response.scopes().begin(), response.scopes().end())};
}

}  // namespace

SidecarAuthenticator::SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar,
                                           Options options)
    : stub_(v1::Authenticator::NewStub(sidecar)), options_(options) {}

SidecarAuthenticator::~SidecarAuthenticator() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* pending) { return *pending == 0; }, &pending_));
}

absl::StatusOr<Caller> SidecarAuthenticator::Authenticate(const grpc::ServerContextBase& ctx,
                                                          const Requirements& required) const {
  return Authenticate(AuthorizationOf(ctx), ClientAddressOf(ctx), required);
}

absl::StatusOr<Caller> SidecarAuthenticator::Authenticate(
    std::optional<absl::string_view> authorization, absl::string_view client_address,
    const Requirements& required) const {
  const v1::AuthenticateRequest request = RequestFor(authorization, client_address, required);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.deadline));
  v1::AuthenticateResponse response;
  const grpc::Status status = stub_->Authenticate(&context, request, &response);
  return VerdictOf(status, response);
}

void SidecarAuthenticator::AuthenticateAsync(const grpc::ServerContextBase& ctx, Done done) const {
  AuthenticateAsync(ctx, Requirements{}, std::move(done));
}

void SidecarAuthenticator::AuthenticateAsync(std::optional<absl::string_view> authorization,
                                             absl::string_view client_address, Done done) const {
  AuthenticateAsync(authorization, client_address, Requirements{}, std::move(done));
}

void SidecarAuthenticator::AuthenticateAsync(const grpc::ServerContextBase& ctx,
                                             const Requirements& required, Done done) const {
  AuthenticateAsync(AuthorizationOf(ctx), ClientAddressOf(ctx), required, std::move(done));
}

void SidecarAuthenticator::AuthenticateAsync(std::optional<absl::string_view> authorization,
                                             absl::string_view client_address,
                                             const Requirements& required, Done done) const {
  // What gRPC needs until the call completes; freed by the completion.
  struct PendingCall {
    grpc::ClientContext context;
    v1::AuthenticateRequest request;
    v1::AuthenticateResponse response;
    Done done;
  };
  auto* call =
      new PendingCall{{}, RequestFor(authorization, client_address, required), {}, std::move(done)};
  call->context.set_deadline(std::chrono::system_clock::now() +
                             absl::ToChronoMilliseconds(options_.deadline));
  {
    absl::MutexLock lock(&mu_);
    ++pending_;
  }
  stub_->async()->Authenticate(&call->context, &call->request, &call->response,
                               [this, call](grpc::Status status) {
                                 {
                                   std::unique_ptr<PendingCall> owned(call);
                                   std::move(owned->done)(VerdictOf(status, owned->response));
                                 }
                                 // The call's context (and its reference to
                                 // the channel) is gone: the destructor may go on.
                                 absl::MutexLock lock(&mu_);
                                 --pending_;
                               });
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace tokens::auth_client
