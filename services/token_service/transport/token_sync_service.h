#pragma once

#include "common/metrics/rpc_metrics.h"
#include "services/token_service/domain/authenticator.h"
#include "services/token_service/domain/token_sync_manager.h"
#include "tokens/v1/sync.grpc.pb.h"

namespace tokens::service {

// The gRPC face of tokens.v1.TokenSync: authenticate the caller, convert the
// request, call TokenSyncManager, convert the answer. SyncTokens blocks its
// thread for the life of the stream (a sync-API handler), writing what the
// manager hands it.
class TokenSyncServiceImpl final : public v1::TokenSync::Service {
 public:
  // `rpc_metrics` (optional) records each call's handling time and code
  // (for SyncTokens: the stream's lifetime).
  TokenSyncServiceImpl(const Authenticator& auth, TokenSyncManager& sync,
                       metrics::RpcMetrics* rpc_metrics = nullptr)
      : auth_(auth), sync_(sync), rpc_metrics_(rpc_metrics) {}

  grpc::Status SyncTokens(grpc::ServerContext* ctx, const v1::SyncTokensRequest* req,
                          grpc::ServerWriter<v1::SyncTokensResponse>* writer) override;
  grpc::Status ReportUsage(grpc::ServerContext* ctx, const v1::ReportUsageRequest* req,
                           v1::ReportUsageResponse* resp) override;
  grpc::Status LookupToken(grpc::ServerContext* ctx, const v1::LookupTokenRequest* req,
                           v1::LookupTokenResponse* resp) override;

 private:
  const Authenticator& auth_;
  TokenSyncManager& sync_;
  metrics::RpcMetrics* const rpc_metrics_;
};

}  // namespace tokens::service
