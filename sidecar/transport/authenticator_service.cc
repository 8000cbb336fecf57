#include "sidecar/transport/authenticator_service.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "sidecar/transport/answer.h"
#include "sidecar/transport/client_address.h"

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

AuthenticatorService::AuthenticatorService(TokenVerifier& verifier, WorkerPool& lookups,
                                           metrics::RpcMetrics* rpc_metrics)
    : verifier_(verifier), lookups_(lookups), rpc_metrics_(rpc_metrics) {
  SetMessageAllocatorFor_Authenticate(&allocator_);
}

grpc::ServerUnaryReactor* AuthenticatorService::Authenticate(grpc::CallbackServerContext* ctx,
                                                             const v1::AuthenticateRequest* req,
                                                             v1::AuthenticateResponse* resp) {
  const absl::Time start = absl::Now();
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  const std::string client_address =
      ChooseClientAddress(req->client_address(), [ctx] { return ctx->peer(); });
  // The token and header point into `req`, which lives until the reactor
  // has finished.
  const absl::string_view token = req->token();
  std::optional<absl::string_view> authorization;
  if (!req->authorization().empty()) authorization = req->authorization();
  const auto check_now = [&]() -> std::optional<Verdict> {
    if (!token.empty()) return verifier_.CheckTokenNow(token, client_address);
    return verifier_.CheckHeaderNow(authorization, client_address);
  };
  AnswerWhenDecided(
      check_now(), verifier_, lookups_,
      [this, token, authorization, client_address] {
        if (!token.empty()) return verifier_.CheckToken(token, client_address);
        return verifier_.CheckHeader(authorization, client_address);
      },
      [this, start, resp, reactor](Verdict verdict) { Answer(verdict, start, resp, reactor); });
  return reactor;
}

void AuthenticatorService::Answer(const Verdict& verdict, absl::Time start,
                                  v1::AuthenticateResponse* resp,
                                  grpc::ServerUnaryReactor* reactor) const {
  static const auto log = Logger("authenticator");
  if (verdict.allowed) {
    log->debug("Authenticate allow user={}", verdict.principal.user_id);
  } else {
    log->debug("Authenticate deny reason={}", DenyReasonCode(verdict.reason));
  }
  grpc::Status status = ToAuthenticateResult(verdict, resp);
  if (rpc_metrics_ != nullptr) {
    rpc_metrics_->Record("Authenticate", status.error_code(), absl::Now() - start);
  }
  reactor->Finish(std::move(status));
}

}  // namespace tokens::sidecar
