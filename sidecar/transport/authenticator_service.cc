#include "sidecar/transport/authenticator_service.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/role_proto.h"
#include "common/auth/scopes.h"
#include "common/grpc/arena_messages.h"
#include "common/grpc/request_parsing.h"
#include "common/log/json_logger.h"
#include "common/status/field_error.h"
#include "common/time/civil_date.h"
#include "sidecar/transport/answer.h"
#include "sidecar/transport/client_address.h"

namespace tokens::sidecar {

std::string DenialMessage(DenyReason reason) {
  return absl::StrCat(DenyReasonCode(reason), ": ", DenyReasonMessage(reason));
}

absl::StatusOr<std::vector<std::string>> RequiredScopes(const v1::AuthenticateRequest& request) {
  std::vector<std::string> required;
  for (const std::string& scope : request.required_scopes()) {
    if (!IsScopeName(scope)) {
      return FieldError("required_scopes", "must be scope names (1-64 of A-Z a-z 0-9 . _ : / -)");
    }
    required.push_back(scope);
  }
  return required;
}

grpc::Status ToAuthenticateResult(const CheckResult& verdict,
                                  const std::vector<std::string>& required,
                                  v1::AuthenticateResponse* response) {
  if (!verdict.allowed) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, DenialMessage(verdict.reason));
  }
  const Principal& principal = verdict.principal;
  if (const std::vector<std::string> missing = MissingScopes(principal.scopes->names, required);
      !missing.empty()) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, InsufficientScopeMessage(missing));
  }
  response->set_user_id(principal.user_id);
  response->set_role(RoleToProto(principal.role));
  response->set_token_id(principal.token_id.ToString());
  response->set_expires_on(FormatIsoDate(principal.expires_on));
  for (const std::string& scope : principal.scopes->names) response->add_scopes(scope);
  return grpc::Status::OK;
}

// One Authenticate call: its parsed request (which the verdict's inputs
// point into) lives until the call has finished.
class AuthenticatorService::Call final : public grpc::ServerUnaryReactor {
 public:
  Call(const AuthenticatorService& service, grpc::ByteBuffer* response)
      : service_(service), response_(response), start_(absl::Now()) {
    if (service_.rpc_metrics_ != nullptr) service_.rpc_metrics_->Started("Authenticate");
  }

  v1::AuthenticateRequest& request() { return *request_; }
  void set_required(std::vector<std::string> required) { required_ = std::move(required); }

  void Answer(const CheckResult& verdict) {
    static const auto log = Logger("authenticator");
    v1::AuthenticateResponse* answer =
        google::protobuf::Arena::CreateMessage<v1::AuthenticateResponse>(&arena_.arena());
    grpc::Status status = ToAuthenticateResult(verdict, required_, answer);
    LogVerdict(
        *log, "Authenticate", verdict, start_,
        status.error_code() == grpc::StatusCode::PERMISSION_DENIED ? "insufficient_scope" : "");
    if (status.ok()) {
      bool own = false;
      status =
          grpc::SerializationTraits<v1::AuthenticateResponse>::Serialize(*answer, response_, &own);
    }
    Finish(std::move(status));
  }

  void Refuse(const absl::Status& why) {
    Finish(grpc::Status(static_cast<grpc::StatusCode>(why.code()), std::string(why.message())));
  }

  void OnDone() override { delete this; }

 private:
  void Finish(grpc::Status status) {
    if (service_.rpc_metrics_ != nullptr) {
      service_.rpc_metrics_->Handled("Authenticate", status.error_code(), absl::Now() - start_);
    }
    grpc::ServerUnaryReactor::Finish(std::move(status));
  }

  const AuthenticatorService& service_;
  grpc::ByteBuffer* const response_;
  const absl::Time start_;
  InlineArena<1024> arena_;
  v1::AuthenticateRequest* const request_ =
      google::protobuf::Arena::CreateMessage<v1::AuthenticateRequest>(&arena_.arena());
  std::vector<std::string> required_;
};

AuthenticatorService::AuthenticatorService(TokenVerifier& verifier, WorkerPool& lookups,
                                           metrics::RpcMetrics* rpc_metrics)
    : verifier_(verifier), lookups_(lookups), rpc_metrics_(rpc_metrics) {}

grpc::ServerUnaryReactor* AuthenticatorService::Authenticate(grpc::CallbackServerContext* ctx,
                                                             const grpc::ByteBuffer* request,
                                                             grpc::ByteBuffer* response) {
  auto* call = new Call(*this, response);
  if (absl::Status parsed = ParseRequest(*request, &call->request()); !parsed.ok()) {
    call->Refuse(parsed);
    return call;
  }
  const v1::AuthenticateRequest& req = call->request();
  absl::StatusOr<std::vector<std::string>> required = RequiredScopes(req);
  if (!required.ok()) {
    call->Refuse(required.status());
    return call;
  }
  call->set_required(*std::move(required));
  const std::string client_address =
      ChooseClientAddress(req.client_address(), [ctx] { return ctx->peer(); });
  // The token and header point into the call's request, which lives until
  // the call has finished.
  const absl::string_view token = req.token();
  std::optional<absl::string_view> authorization;
  if (!req.authorization().empty()) authorization = req.authorization();
  const auto check_now = [&]() -> std::optional<CheckResult> {
    if (!token.empty()) return verifier_.CheckTokenNow(token, client_address);
    return verifier_.CheckHeaderNow(authorization, client_address);
  };
  AnswerWhenDecided(
      check_now(), verifier_, lookups_,
      [this, token, authorization, client_address] {
        if (!token.empty()) return verifier_.CheckToken(token, client_address);
        return verifier_.CheckHeader(authorization, client_address);
      },
      [call](CheckResult verdict) { call->Answer(verdict); });
  return call;
}

}  // namespace tokens::sidecar
