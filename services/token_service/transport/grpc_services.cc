#include "services/token_service/transport/grpc_services.h"

#include <optional>
#include <string>

#include "common/time/civil_date.h"
#include "services/token_service/transport/proto_conversion.h"
#include "services/token_service/transport/rpc_serve.h"

namespace tokens::service {
namespace {

template <typename Response>
absl::Status WriteIssued(const absl::StatusOr<TokenManager::IssuedToken>& issued, Response* resp) {
  if (!issued.ok()) return issued.status();
  ToProto(issued->token, resp->mutable_token());
  resp->set_secret(issued->secret);
  return absl::OkStatus();
}

absl::Status WriteToken(const absl::StatusOr<TokenRecord>& token, v1::Token* resp) {
  if (!token.ok()) return token.status();
  ToProto(*token, resp);
  return absl::OkStatus();
}

absl::Status WriteUser(const absl::StatusOr<User>& user, v1::User* resp) {
  if (!user.ok()) return user.status();
  ToProto(*user, resp);
  return absl::OkStatus();
}

}  // namespace

TokenServiceImpl::TokenServiceImpl(const Authenticator& auth, TokenManager& tokens,
                                   metrics::RpcMetrics* rpc_metrics, FailedAuthLog* failed_auth)
    : auth_(auth), tokens_(tokens), rpc_metrics_(rpc_metrics), failed_auth_(failed_auth) {
  const std::string service = "tokens.v1.TokenService.";
  ParseRequestsOf(this, service + "CreateToken", &TokenServiceImpl::CreateToken, rpc_metrics);
  ParseRequestsOf(this, service + "ListTokens", &TokenServiceImpl::ListTokens, rpc_metrics);
  ParseRequestsOf(this, service + "GetToken", &TokenServiceImpl::GetToken, rpc_metrics);
  ParseRequestsOf(this, service + "RevokeToken", &TokenServiceImpl::RevokeToken, rpc_metrics);
  ParseRequestsOf(this, service + "RotateToken", &TokenServiceImpl::RotateToken, rpc_metrics);
  ParseRequestsOf(this, service + "GetProfile", &TokenServiceImpl::GetProfile, rpc_metrics);
  ParseRequestsOf(this, service + "ListTokenEvents", &TokenServiceImpl::ListTokenEvents,
                  rpc_metrics);
  ParseRequestsOf(this, service + "ListScopes", &TokenServiceImpl::ListScopes, rpc_metrics);
}

grpc::Status TokenServiceImpl::CreateToken(grpc::ServerContext* ctx,
                                           const v1::CreateTokenRequest* req,
                                           v1::CreateTokenResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "CreateToken", [&](const Principal& caller) {
    TokenManager::CreateRequest request{req->name(),
                                        req->expires_on(),
                                        req->user_id(),
                                        {req->scopes().begin(), req->scopes().end()}};
    return WriteIssued(tokens_.CreateToken(caller, request), resp);
  });
}

grpc::Status TokenServiceImpl::ListTokens(grpc::ServerContext* ctx,
                                          const v1::ListTokensRequest* req,
                                          v1::ListTokensResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "ListTokens",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<std::optional<TokenStatus>> status =
                     StatusFromProto("status", req->status());
                 if (!status.ok()) return status.status();
                 TokenManager::ListRequest request{
                     req->page_size(), req->page_token(),    req->all_users(),     req->user_id(),
                     *status,          req->name_contains(), req->expires_before()};
                 absl::StatusOr<TokenManager::TokenPage> page = tokens_.ListTokens(caller, request);
                 if (!page.ok()) return page.status();
                 for (const TokenRecord& token : page->tokens) ToProto(token, resp->add_tokens());
                 resp->set_next_page_token(page->next_page_token);
                 return absl::OkStatus();
               });
}

grpc::Status TokenServiceImpl::GetToken(grpc::ServerContext* ctx, const v1::GetTokenRequest* req,
                                        v1::Token* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "GetToken", [&](const Principal& caller) {
    return WriteToken(tokens_.GetToken(caller, req->id()), resp);
  });
}

grpc::Status TokenServiceImpl::RevokeToken(grpc::ServerContext* ctx,
                                           const v1::RevokeTokenRequest* req, v1::Token* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "RevokeToken", [&](const Principal& caller) {
    return WriteToken(tokens_.RevokeToken(caller, req->id()), resp);
  });
}

grpc::Status TokenServiceImpl::RotateToken(grpc::ServerContext* ctx,
                                           const v1::RotateTokenRequest* req,
                                           v1::RotateTokenResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "RotateToken", [&](const Principal& caller) {
    return WriteIssued(tokens_.RotateToken(caller, req->id()), resp);
  });
}

grpc::Status TokenServiceImpl::GetProfile(grpc::ServerContext* ctx, const v1::GetProfileRequest*,
                                          v1::GetProfileResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "GetProfile",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<User> user = tokens_.GetProfile(caller);
                 if (!user.ok()) return user.status();
                 resp->set_user_id(user->user_id);
                 resp->set_display_name(user->display_name);
                 resp->set_email(user->email);
                 resp->set_role(ToProto(user->role));
                 resp->set_token_id(caller.token_id);
                 resp->set_latest_expires_on(FormatIsoDate(tokens_.LatestExpiryFor(caller)));
                 for (const std::string& scope : caller.token_scopes) resp->add_token_scopes(scope);
                 return absl::OkStatus();
               });
}

grpc::Status TokenServiceImpl::ListTokenEvents(grpc::ServerContext* ctx,
                                               const v1::ListTokenEventsRequest* req,
                                               v1::ListTokenEventsResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "ListTokenEvents",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<TokenManager::EventPage> page = tokens_.ListEvents(
                     caller,
                     {req->page_size(), req->page_token(), req->user_id(), req->token_id()});
                 if (!page.ok()) return page.status();
                 for (const TokenEvent& event : page->events) ToProto(event, resp->add_events());
                 resp->set_next_page_token(page->next_page_token);
                 return absl::OkStatus();
               });
}

grpc::Status TokenServiceImpl::ListScopes(grpc::ServerContext* ctx, const v1::ListScopesRequest*,
                                          v1::ListScopesResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "ListScopes",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<std::vector<std::string>> scopes = tokens_.ListScopes(caller);
                 if (!scopes.ok()) return scopes.status();
                 for (const std::string& scope : *scopes) resp->add_scopes(scope);
                 return absl::OkStatus();
               });
}

UserServiceImpl::UserServiceImpl(const Authenticator& auth, UserManager& users,
                                 metrics::RpcMetrics* rpc_metrics, FailedAuthLog* failed_auth)
    : auth_(auth), users_(users), rpc_metrics_(rpc_metrics), failed_auth_(failed_auth) {
  const std::string service = "tokens.v1.UserService.";
  ParseRequestsOf(this, service + "CreateUser", &UserServiceImpl::CreateUser, rpc_metrics);
  ParseRequestsOf(this, service + "ListUsers", &UserServiceImpl::ListUsers, rpc_metrics);
  ParseRequestsOf(this, service + "UpdateUser", &UserServiceImpl::UpdateUser, rpc_metrics);
}

grpc::Status UserServiceImpl::CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req,
                                         v1::User* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "CreateUser",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<std::optional<Role>> role = RoleFromProto("role", req->role());
                 if (!role.ok()) return role.status();
                 return WriteUser(users_.CreateUser(caller, {req->user_id(), req->display_name(),
                                                             req->email(), *role}),
                                  resp);
               });
}

grpc::Status UserServiceImpl::ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                                        v1::ListUsersResponse* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "ListUsers",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<UserManager::UserPage> page =
                     users_.ListUsers(caller, req->page_size(), req->page_token());
                 if (!page.ok()) return page.status();
                 for (const User& user : page->users) ToProto(user, resp->add_users());
                 resp->set_next_page_token(page->next_page_token);
                 return absl::OkStatus();
               });
}

grpc::Status UserServiceImpl::UpdateUser(grpc::ServerContext* ctx, const v1::UpdateUserRequest* req,
                                         v1::User* resp) {
  return Serve(auth_, rpc_metrics_, failed_auth_, ctx, "UpdateUser",
               [&](const Principal& caller) -> absl::Status {
                 return WriteUser(users_.UpdateUser(caller, UpdateRequestFromProto(*req)), resp);
               });
}

}  // namespace tokens::service
