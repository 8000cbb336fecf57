#include "services/token_service/transport/token_sync_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/log/json_logger.h"
#include "services/token_service/transport/rpc_serve.h"
#include "services/token_service/transport/sync_conversion.h"

namespace tokens::service {
namespace {

// A SyncStream over the call's writer. A failed write means the caller is
// gone (or the server is cancelling the call).
class GrpcSyncStream final : public SyncStream {
 public:
  GrpcSyncStream(grpc::ServerContext& ctx, grpc::ServerWriter<v1::SyncTokensResponse>& writer,
                 std::string user_id)
      : ctx_(ctx), writer_(writer), user_id_(std::move(user_id)) {}

  absl::Status WriteSnapshotChunk(const SnapshotChunk& chunk) override {
    snapshot_tokens_ += chunk.tokens.size();
    return WriteAll(SnapshotMessages(chunk));
  }

  absl::Status WriteSnapshotEnd(int64_t version) override {
    static const auto log = Logger("rpc");
    log->info("SyncTokens user={} snapshot of {} tokens at version {}", user_id_, snapshot_tokens_,
              version);
    return Write(SnapshotEndMessage(version));
  }

  absl::Status WriteDelta(const ChangeBatch& batch) override {
    return WriteAll(DeltaMessages(batch));
  }

  bool Cancelled() const override { return ctx_.IsCancelled(); }

 private:
  absl::Status WriteAll(const std::vector<v1::SyncTokensResponse>& messages) {
    for (const v1::SyncTokensResponse& message : messages) {
      if (absl::Status s = Write(message); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  absl::Status Write(const v1::SyncTokensResponse& message) {
    if (!writer_.Write(message)) return absl::CancelledError("the caller went away");
    return absl::OkStatus();
  }

  grpc::ServerContext& ctx_;
  grpc::ServerWriter<v1::SyncTokensResponse>& writer_;
  const std::string user_id_;
  size_t snapshot_tokens_ = 0;
};

}  // namespace

grpc::Status TokenSyncServiceImpl::SyncTokens(grpc::ServerContext* ctx,
                                              const v1::SyncTokensRequest* req,
                                              grpc::ServerWriter<v1::SyncTokensResponse>* writer) {
  return Serve(auth_, rpc_metrics_, ctx, "SyncTokens", [&](const Principal& caller) {
    GrpcSyncStream stream(*ctx, *writer, caller.user_id);
    return sync_.SyncTokens(caller, req->from_version(), stream);
  });
}

grpc::Status TokenSyncServiceImpl::ReportUsage(grpc::ServerContext* ctx,
                                               const v1::ReportUsageRequest* req,
                                               v1::ReportUsageResponse* resp) {
  return Serve(
      auth_, rpc_metrics_, ctx, "ReportUsage", [&](const Principal& caller) -> absl::Status {
        absl::StatusOr<std::vector<TokenSyncManager::UsageReport>> usages = UsagesFromProto(*req);
        if (!usages.ok()) return usages.status();
        absl::StatusOr<int> updated = sync_.ReportUsage(caller, *usages);
        if (!updated.ok()) return updated.status();
        resp->set_updated(*updated);
        return absl::OkStatus();
      });
}

grpc::Status TokenSyncServiceImpl::LookupToken(grpc::ServerContext* ctx,
                                               const v1::LookupTokenRequest* req,
                                               v1::LookupTokenResponse* resp) {
  return Serve(auth_, rpc_metrics_, ctx, "LookupToken",
               [&](const Principal& caller) -> absl::Status {
                 absl::StatusOr<SyncLookup> found = sync_.LookupToken(caller, req->token_hash());
                 if (!found.ok()) return found.status();
                 ToProto(*found, resp);
                 return absl::OkStatus();
               });
}

}  // namespace tokens::service
