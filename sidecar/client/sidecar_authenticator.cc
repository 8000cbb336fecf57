#include "sidecar/client/sidecar_authenticator.h"

#include <chrono>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/grpc/peer_address.h"
#include "grpcpp/client_context.h"

namespace tokens::auth_client {
namespace {

// The `authorization` metadata of a call. gRPC lower-cases keys; the
// comparison still ignores case so nothing depends on that. Several values
// are joined as HTTP joins repeated headers, which the sidecar rejects as
// malformed rather than picking one.
std::optional<std::string> AuthorizationOf(const grpc::ServerContext& ctx) {
  std::vector<absl::string_view> values;
  for (const auto& [key, value] : ctx.client_metadata()) {
    if (absl::EqualsIgnoreCase(absl::string_view(key.data(), key.size()), "authorization")) {
      values.emplace_back(value.data(), value.size());
    }
  }
  if (values.empty()) return std::nullopt;
  return absl::StrJoin(values, ", ");
}

}  // namespace

SidecarAuthenticator::SidecarAuthenticator(std::shared_ptr<grpc::ChannelInterface> sidecar,
                                           Options options)
    : stub_(v1::Authenticator::NewStub(sidecar)), options_(options) {}

absl::StatusOr<Caller> SidecarAuthenticator::Authenticate(const grpc::ServerContext& ctx) const {
  const std::optional<std::string> authorization = AuthorizationOf(ctx);
  return Authenticate(authorization, PeerHost(ctx.peer()));
}

absl::StatusOr<Caller> SidecarAuthenticator::Authenticate(
    std::optional<absl::string_view> authorization, absl::string_view client_address) const {
  v1::AuthenticateRequest request;
  // An empty `authorization` tells the sidecar the header was absent; an
  // empty but present header is not a token either way.
  if (authorization.has_value()) request.set_authorization(std::string(*authorization));
  request.set_client_address(std::string(client_address));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.deadline));
  v1::AuthenticateResponse response;
  const grpc::Status status = stub_->Authenticate(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    return absl::UnauthenticatedError(status.error_message());
  }
  if (!status.ok()) {
    // Whatever went wrong on the way, the token was not vouched for.
    return absl::UnavailableError(
        absl::StrCat("the auth sidecar did not answer: ",
                     absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()))));
  }
  return Caller{response.user_id(), v1::Role_Name(response.role()), response.token_id(),
                response.expires_on()};
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace tokens::auth_client
