#include "sidecar/transport/authenticator_service.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/grpc/peer_address.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"

namespace tokens::sidecar {

v1::Role ToProtoRole(Role role) {
  switch (role) {
    case Role::kUser:
      return v1::USER;
    case Role::kAdmin:
      return v1::ADMIN;
    case Role::kService:
      return v1::SERVICE;
    case Role::kUnspecified:
      break;
  }
  return v1::ROLE_UNSPECIFIED;
}

std::string DenialMessage(DenyReason reason) {
  return absl::StrCat(DenyReasonCode(reason), ": ", DenyReasonMessage(reason));
}

grpc::Status ToAuthenticateResult(const Verdict& verdict, v1::AuthenticateResponse* response) {
  if (!verdict.allowed) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, DenialMessage(verdict.reason));
  }
  const Principal& principal = verdict.principal;
  response->set_user_id(principal.user_id);
  response->set_role(ToProtoRole(principal.role));
  response->set_token_id(FormatTokenId(principal.token_id));
  response->set_expires_on(FormatIsoDate(principal.expires_on));
  return grpc::Status::OK;
}

grpc::Status AuthenticatorService::Authenticate(grpc::ServerContext* ctx,
                                                const v1::AuthenticateRequest* req,
                                                v1::AuthenticateResponse* resp) {
  static const auto log = Logger("authenticator");
  const absl::Time start = absl::Now();
  const std::string client_address =
      req->client_address().empty() ? PeerHost(ctx->peer()) : req->client_address();
  Verdict verdict;
  if (!req->token().empty()) {
    verdict = verifier_.CheckToken(req->token(), client_address);
  } else {
    std::optional<absl::string_view> authorization;
    if (!req->authorization().empty()) authorization = req->authorization();
    verdict = verifier_.CheckHeader(authorization, client_address);
  }
  if (verdict.allowed) {
    log->debug("Authenticate allow user={}", verdict.principal.user_id);
  } else {
    log->debug("Authenticate deny reason={}", DenyReasonCode(verdict.reason));
  }
  grpc::Status status = ToAuthenticateResult(verdict, resp);
  if (rpc_metrics_ != nullptr) {
    rpc_metrics_->Record("Authenticate", status.error_code(), absl::Now() - start);
  }
  return status;
}

}  // namespace tokens::sidecar
