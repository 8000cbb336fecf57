#pragma once

#include <string_view>

#include "common/metrics/rpc_metrics.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/token_manager.h"
#include "services/token_service/domain/user_manager.h"
#include "services/token_service/transport/rpc_serve.h"
#include "tokens/v1/tokens.grpc.pb.h"

// The gRPC face of the token-service: authenticate the caller, convert the
// request, call the domain, convert the answer. No decisions live here.
namespace tokens::service {

// Each takes its requests' bytes and parses them itself (ParsesOwnRequests),
// so that a request that does not parse is INVALID_ARGUMENT.
class TokenServiceImpl final : public ParsesOwnRequests<v1::TokenService::Service> {
 public:
  // `rpc_metrics` (optional) records each call's handling time and code;
  // `failed_auth` (optional) takes the log lines of calls whose caller did
  // not authenticate, which are otherwise written one by one.
  TokenServiceImpl(const Authenticator& auth, TokenManager& tokens,
                   metrics::RpcMetrics* rpc_metrics = nullptr,
                   FailedAuthLog* failed_auth = nullptr);

  grpc::Status CreateToken(grpc::ServerContext* ctx, const v1::CreateTokenRequest* req,
                           v1::CreateTokenResponse* resp) override;
  grpc::Status ListTokens(grpc::ServerContext* ctx, const v1::ListTokensRequest* req,
                          v1::ListTokensResponse* resp) override;
  grpc::Status GetToken(grpc::ServerContext* ctx, const v1::GetTokenRequest* req,
                        v1::Token* resp) override;
  grpc::Status RevokeToken(grpc::ServerContext* ctx, const v1::RevokeTokenRequest* req,
                           v1::Token* resp) override;
  grpc::Status RotateToken(grpc::ServerContext* ctx, const v1::RotateTokenRequest* req,
                           v1::RotateTokenResponse* resp) override;
  grpc::Status GetProfile(grpc::ServerContext* ctx, const v1::GetProfileRequest* req,
                          v1::GetProfileResponse* resp) override;
  grpc::Status ListTokenEvents(grpc::ServerContext* ctx, const v1::ListTokenEventsRequest* req,
                               v1::ListTokenEventsResponse* resp) override;
  grpc::Status ListScopes(grpc::ServerContext* ctx, const v1::ListScopesRequest* req,
                          v1::ListScopesResponse* resp) override;

 private:
  const Authenticator& auth_;
  TokenManager& tokens_;
  metrics::RpcMetrics* const rpc_metrics_;
  FailedAuthLog* const failed_auth_;
};

class UserServiceImpl final : public ParsesOwnRequests<v1::UserService::Service> {
 public:
  UserServiceImpl(const Authenticator& auth, UserManager& users,
                  metrics::RpcMetrics* rpc_metrics = nullptr, FailedAuthLog* failed_auth = nullptr);

  grpc::Status CreateUser(grpc::ServerContext* ctx, const v1::CreateUserRequest* req,
                          v1::User* resp) override;
  grpc::Status ListUsers(grpc::ServerContext* ctx, const v1::ListUsersRequest* req,
                         v1::ListUsersResponse* resp) override;
  grpc::Status UpdateUser(grpc::ServerContext* ctx, const v1::UpdateUserRequest* req,
                          v1::User* resp) override;

 private:
  const Authenticator& auth_;
  UserManager& users_;
  metrics::RpcMetrics* const rpc_metrics_;
  FailedAuthLog* const failed_auth_;
};

}  // namespace tokens::service
