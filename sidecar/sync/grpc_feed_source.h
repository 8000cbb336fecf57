#pragma once

#include <cstdint>
#include <memory>

#include "sidecar/domain/feed.h"
#include "sidecar/sync/token_service_client.h"

// The feed over token-service's SyncTokens stream, read on gRPC's callback
// API. Each stream carries the sidecar's service token and is made
// wait-for-ready: opened while token-service is unreachable, or while gRPC
// still marks the channel as failed after an outage, it waits for the
// connection instead of failing at once, and starts as soon as token-service
// is back (how soon: NewTokenServiceChannel). Cancel() ends the wait.
//
// Messages are converted to the domain's FeedMessage; one the sidecar cannot
// use ends the stream: Read() returns false, the call is cancelled and
// Finish() returns INTERNAL naming the field.
namespace tokens::sidecar {

class GrpcFeedSource final : public FeedSource {
 public:
  explicit GrpcFeedSource(TokenServiceClient& client) : client_(client) {}

  std::unique_ptr<FeedStream> Open(int64_t from_version) override;

 private:
  TokenServiceClient& client_;
};

}  // namespace tokens::sidecar
