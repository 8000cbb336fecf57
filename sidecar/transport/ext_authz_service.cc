#include "sidecar/transport/ext_authz_service.h"

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/auth/scopes.h"
#include "common/grpc/arena_messages.h"
#include "common/log/json_logger.h"
#include "common/time/civil_date.h"
#include "grpc/slice.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_writer.h"
#include "sidecar/transport/allow_bytes.h"
#include "sidecar/transport/answer.h"
#include "sidecar/transport/client_address.h"

namespace tokens::sidecar {
namespace {

using envoy::config::core::v3::HeaderValue;
using envoy::config::core::v3::HeaderValueOption;
using envoy::service::auth::v3::CheckRequest;
using envoy::service::auth::v3::CheckResponse;
using HeaderOptions = google::protobuf::RepeatedPtrField<HeaderValueOption>;

constexpr absl::string_view kAuthorization = "authorization";
// google.rpc.Code, which Envoy reads from CheckResponse.status.
constexpr int kRpcPermissionDenied = 7;
constexpr int kRpcInternal = 13;
constexpr int kRpcUnauthenticated = 16;
// At most this many distinct misconfigured values are remembered as logged,
// each by at most its first kMaxLoggedValueBytes (a Check request may carry
// megabytes in it).
constexpr size_t kMaxLoggedMisconfigured = 1024;
constexpr size_t kMaxLoggedValueBytes = 256;

// OVERWRITE so that a value the client sent under the same name is
// replaced, not joined with ours; `append` for Envoys that predate
// append_action (an explicitly set false, not an absent wrapper).
HeaderValueOption* AddHeader(absl::string_view key, HeaderOptions* headers) {
  HeaderValueOption* option = headers->Add();
  option->mutable_header()->set_key(key.data(), key.size());
  option->mutable_append()->set_value(false);
  option->set_append_action(HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  return option;
}

void SetHeader(absl::string_view key, absl::string_view value, HeaderOptions* headers) {
  AddHeader(key, headers)->mutable_header()->set_value(value.data(), value.size());
}

// Takes over `value`'s buffer, also on an arena.
void SetHeaderMoved(absl::string_view key, std::string&& value, HeaderOptions* headers) {
  AddHeader(key, headers)->mutable_header()->set_value(std::move(value));
}

void WriteAllow(Principal&& principal, const ExtAuthzOptions& options, CheckResponse* response) {
  response->mutable_status();  // code 0: OK
  auto* ok = response->mutable_ok_response();
  SetHeaderMoved(kUserIdHeader, std::move(principal.user_id), ok->mutable_headers());
  SetHeader(kUserRoleHeader, RoleName(principal.role), ok->mutable_headers());
  SetHeaderMoved(kTokenIdHeader, principal.token_id.ToString(), ok->mutable_headers());
  const std::string expires_on = FormatIsoDate(principal.expires_on);
  SetHeader(kTokenExpiresOnHeader, expires_on, ok->mutable_headers());
  if (options.remove_authorization) {
    ok->add_headers_to_remove(kAuthorization.data(), kAuthorization.size());
  }
  if (principal.scopes->names.empty()) {
    ok->add_headers_to_remove(kTokenScopesHeader.data(), kTokenScopesHeader.size());
  } else {
    SetHeader(kTokenScopesHeader, principal.scopes->joined, ok->mutable_headers());
  }
  SetHeader(kClientExpiresOnHeader, expires_on, ok->mutable_response_headers_to_add());
}

// A local reply: `status` on the CheckResponse, `http_status` to the client
// with a JSON body.
envoy::service::auth::v3::DeniedHttpResponse* WriteDenied(int status, absl::string_view message,
                                                          envoy::type::v3::StatusCode http_status,
                                                          CheckResponse* response) {
  response->mutable_status()->set_code(status);
  response->mutable_status()->set_message(message.data(), message.size());
  auto* denied = response->mutable_denied_response();
  denied->mutable_status()->set_code(http_status);
  return denied;
}

void WriteInsufficientScope(const std::vector<std::string>& required,
                            const std::vector<std::string>& missing, CheckResponse* response) {
  const std::string message = InsufficientScopeMessage(missing);
  auto* denied = WriteDenied(kRpcPermissionDenied, message, envoy::type::v3::Forbidden, response);
  // RFC 6750 §3.1: the scope the resource needs, i.e. all the route's.
  SetHeader(
      "www-authenticate",
      absl::StrCat(R"(Bearer error="insufficient_scope", scope=")", JoinScopes(required), R"(")"),
      denied->mutable_headers());
  SetHeader("content-type", "application/json", denied->mutable_headers());
  denied->set_body(absl::StrCat(
      R"({"error":"insufficient_scope","reason":"insufficient_scope","message":")",
      JsonEscape(message), R"(","missing_scopes":")", JsonEscape(JoinScopes(missing)), R"("})"));
}

void WriteMisconfigured(CheckResponse* response) {
  constexpr absl::string_view kMessage =
      "misconfigured_route: the route's required_scopes is not a list of scope names";
  auto* denied =
      WriteDenied(kRpcInternal, kMessage, envoy::type::v3::InternalServerError, response);
  SetHeader("content-type", "application/json", denied->mutable_headers());
  denied->set_body(
      absl::StrCat(R"({"error":"server_error","reason":"misconfigured_route","message":")",
                   JsonEscape(kMessage), R"("})"));
}

void WriteDeny(DenyReason reason, CheckResponse* response) {
  response->mutable_status()->set_code(kRpcUnauthenticated);
  const absl::string_view message = DenyReasonMessage(reason);
  response->mutable_status()->set_message(message.data(), message.size());
  auto* denied = response->mutable_denied_response();
  denied->mutable_status()->set_code(envoy::type::v3::Unauthorized);
  // One challenge for every denial, missing token included, as the API
  // fixes it: clients and Envoy filters match on it; the JSON body's reason
  // tells the cases apart.
  SetHeader("www-authenticate", R"(Bearer error="invalid_token")", denied->mutable_headers());
  SetHeader("content-type", "application/json", denied->mutable_headers());
  denied->set_body(absl::StrCat(R"({"error":"invalid_token","reason":")",
                                JsonEscape(DenyReasonCode(reason)), R"(","message":")",
                                JsonEscape(DenyReasonMessage(reason)), R"("})"));
}

}  // namespace

std::optional<absl::string_view> FindAuthorization(const CheckRequest& request) {
  const auto& http = request.attributes().request().http();
  std::optional<absl::string_view> found;
  int count = 0;
  for (const auto& [key, value] : http.headers()) {
    if (!absl::EqualsIgnoreCase(key, kAuthorization)) continue;
    found = value;
    ++count;
  }
  for (const HeaderValue& header : http.header_map().headers()) {
    if (!absl::EqualsIgnoreCase(header.key(), kAuthorization)) continue;
    found = header.value().empty() ? header.raw_value() : header.value();
    ++count;
  }
  if (count > 1) return absl::string_view();
  return found;
}

absl::string_view ClientAddress(const CheckRequest& request) {
  return request.attributes().source().address().socket_address().address();
}

RouteScopes RequiredScopes(const CheckRequest& request) {
  RouteScopes route;
  const auto& extensions = request.attributes().context_extensions();
  if (extensions.empty()) return route;
  const auto it = extensions.find(std::string(kRequiredScopesKey));
  if (it == extensions.end()) return route;
  route.required = SplitScopes(it->second);
  for (const std::string& scope : route.required) {
    if (!IsScopeName(scope)) route.misconfigured = true;
  }
  return route;
}

bool AllowedOn(const CheckResult& verdict, const RouteScopes& route) {
  if (route.misconfigured || !verdict.allowed) return false;
  return route.required.empty() ||
         MissingScopes(verdict.principal.scopes->names, route.required).empty();
}

void WriteCheckResponse(CheckResult verdict, const RouteScopes& route,
                        const ExtAuthzOptions& options, CheckResponse* response) {
  // The route first: a misconfigured one allows nothing, whatever the token.
  if (route.misconfigured) return WriteMisconfigured(response);
  // Then authentication: an invalid token is a 401 on any route.
  if (!verdict.allowed) return WriteDeny(verdict.reason, response);
  if (!route.required.empty()) {
    const std::vector<std::string> missing =
        MissingScopes(verdict.principal.scopes->names, route.required);
    if (!missing.empty()) return WriteInsufficientScope(route.required, missing, response);
  }
  WriteAllow(std::move(verdict.principal), options, response);
}

void WriteCheckResponse(CheckResult verdict, const ExtAuthzOptions& options,
                        CheckResponse* response) {
  WriteCheckResponse(std::move(verdict), RouteScopes{}, options, response);
}

CheckResponse ToCheckResponse(const CheckResult& verdict, const ExtAuthzOptions& options,
                              const RouteScopes& route) {
  CheckResponse response;
  WriteCheckResponse(verdict, route, options, &response);
  return response;
}

// One Check's request, parsed onto an arena that is part of it.
class ExtAuthzService::ParsedRequest {
 public:
  ParsedRequest()
      : request_(google::protobuf::Arena::CreateMessage<CheckRequest>(&arena_.arena())) {}

  // False when `bytes` are not a CheckRequest.
  bool Parse(const grpc::ByteBuffer& bytes) {
    grpc::Slice slice;
    if (!bytes.TrySingleSlice(&slice).ok() && !bytes.DumpToSingleSlice(&slice).ok()) return false;
    return request_->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
  }
  const CheckRequest& request() const { return *request_; }
  google::protobuf::Arena& arena() { return arena_.arena(); }

 private:
  InlineArena<4096> arena_;
  CheckRequest* const request_;
};

grpc::ServerUnaryReactor* ExtAuthzService::Check(grpc::CallbackServerContext* ctx,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  const absl::Time start = absl::Now();
  if (rpc_metrics_ != nullptr) rpc_metrics_->Started("Check");
  // gRPC's own reactor: it finishes the call on the thread that finishes it.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  // On this thread's stack: nearly every check is answered before Check()
  // returns.
  ParsedRequest parsed;
  if (!parsed.Parse(*request)) {
    if (rpc_metrics_ != nullptr) {
      rpc_metrics_->Handled("Check", grpc::StatusCode::INVALID_ARGUMENT, absl::Now() - start);
    }
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "request: not an envoy.service.auth.v3.CheckRequest"));
    return reactor;
  }
  RouteScopes route = RequiredScopes(parsed.request());
  if (route.misconfigured) {
    // Fail closed, before any token is looked at: no token passes here.
    LogMisconfigured(
        parsed.request().attributes().context_extensions().at(std::string(kRequiredScopesKey)));
    Answer(CheckResult{}, route, start, parsed.arena(), response, reactor);
    return reactor;
  }
  std::string client_address =
      ChooseClientAddress(ClientAddress(parsed.request()), [ctx] { return ctx->peer(); });
  std::optional<CheckResult> verdict =
      verifier_.CheckHeaderNow(FindAuthorization(parsed.request()), client_address);
  if (verdict.has_value()) {
    Answer(*std::move(verdict), route, start, parsed.arena(), response, reactor);
  } else {
    AnswerAfterLookup(*request, std::move(route), std::move(client_address), start, response,
                      reactor);
  }
  return reactor;
}

void ExtAuthzService::LogMisconfigured(absl::string_view whole) {
  const absl::string_view value = whole.substr(0, kMaxLoggedValueBytes);
  {
    absl::MutexLock lock(&logged_mu_);
    if (logged_misconfigured_.size() >= kMaxLoggedMisconfigured) return;
    if (!logged_misconfigured_.emplace(value).second) return;
  }
  static const auto log = Logger("ext_authz");
  // The value comes from Envoy's route configuration, not from a client.
  LogEvent(*log, spdlog::level::err, "misconfigured route: every check on it is denied",
           LogFields{{"context_extension", kRequiredScopesKey},
                     {"value", value},
                     {"value_bytes", whole.size()},
                     {"expected", "space-separated scope names (1-64 of A-Z a-z 0-9 . _ : / -)"}});
}

void ExtAuthzService::AnswerAfterLookup(const grpc::ByteBuffer& request, RouteScopes route,
                                        std::string client_address, absl::Time start,
                                        grpc::ByteBuffer* response,
                                        grpc::ServerUnaryReactor* reactor) {
  // A cache miss, answered from a lookup thread after Check() has returned:
  // the request goes along, parsed again (it parsed once already) into memory
  // of its own, freed by whichever answer is given.
  auto* later = new ParsedRequest;
  later->Parse(request);
  const std::optional<absl::string_view> authorization = FindAuthorization(later->request());
  AnswerWhenDecided(
      std::nullopt, verifier_, lookups_,
      [this, authorization, client_address = std::move(client_address)] {
        return verifier_.CheckHeader(authorization, client_address);
      },
      [this, route = std::move(route), start, later, response, reactor](CheckResult verdict) {
        const std::unique_ptr<ParsedRequest> owned(later);
        Answer(std::move(verdict), route, start, owned->arena(), response, reactor);
      });
}

void ExtAuthzService::Answer(CheckResult verdict, const RouteScopes& route, absl::Time start,
                             google::protobuf::Arena& arena, grpc::ByteBuffer* response,
                             grpc::ServerUnaryReactor* reactor) const {
  static const auto log = Logger("ext_authz");
  const bool allowed = AllowedOn(verdict, route);
  LogVerdict(*log, "Check", verdict, start,
             route.misconfigured           ? "misconfigured_route"
             : verdict.allowed && !allowed ? "insufficient_scope"
                                           : "");
  if (allowed) {
    const AllowBytes bytes(verdict.principal,
                           options_.remove_authorization ? kAuthorization : absl::string_view());
    grpc_slice slice = grpc_slice_malloc(bytes.size());
    bytes.WriteTo(GRPC_SLICE_START_PTR(slice));
    grpc::Slice owned(slice, grpc::Slice::STEAL_REF);
    *response = grpc::ByteBuffer(&owned, 1);
  } else {
    auto* message = google::protobuf::Arena::CreateMessage<CheckResponse>(&arena);
    WriteCheckResponse(std::move(verdict), route, options_, message);
    bool own_buffer = false;
    grpc::SerializationTraits<CheckResponse>::Serialize(*message, response, &own_buffer);
  }
  if (rpc_metrics_ != nullptr) {
    rpc_metrics_->Handled("Check", grpc::StatusCode::OK, absl::Now() - start);
  }
  reactor->Finish(grpc::Status::OK);
}

}  // namespace tokens::sidecar
