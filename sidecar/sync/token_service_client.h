#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "sidecar/domain/feed.h"
#include "sidecar/domain/miss_resolver.h"
#include "sidecar/domain/model.h"
#include "sidecar/domain/usage.h"
#include "tokens/v1/sync.grpc.pb.h"

// The sidecar's calls to token-service's TokenSync, authenticated with the
// sidecar's SERVICE token, behind the domain's TokenLookup and UsageSink
// interfaces (the SyncTokens stream: GrpcFeedSource), and the conversions
// between their protos and the domain.
namespace tokens::sidecar {

// The channel to token-service, with its reconnection and keepalive
// settings (the comments in the .cc say why); plaintext when `credentials`
// is null (TlsReloader::ChannelCredentials() for TLS).
std::shared_ptr<grpc::Channel> NewTokenServiceChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

// Proto -> domain. INVALID_ARGUMENT (naming the field) for a message the
// sidecar cannot use: a hash that is not 32 bytes, a bad token id or date.
absl::StatusOr<SyncedToken> SyncedTokenFromProto(const v1::SyncedToken& token);
SyncedUser SyncedUserFromProto(const v1::SyncedUser& user);
// A SyncTokens message; INVALID_ARGUMENT as SyncedTokenFromProto. A kind this
// sidecar does not know becomes kUnknown, which FeedApplier refuses.
absl::StatusOr<FeedMessage> FeedMessageFromProto(const v1::SyncTokensResponse& message);
// `address` if it is an IPv4 or IPv6 address in text form, else "" (a
// forwarded-for list, a host name, an address with a zone id): ReportUsage
// stores only plain addresses and refuses a batch with anything else.
std::string UsableClientAddress(absl::string_view address);
// Domain -> proto, for ReportUsage; client addresses through
// UsableClientAddress.
v1::ReportUsageRequest UsageToProto(const std::vector<UsageRecord>& batch);
// grpc::Status -> absl::Status with the same code and message.
absl::Status FromGrpc(const grpc::Status& status);

class TokenServiceClient final : public TokenLookup, public UsageSink {
 public:
  struct Options {
    absl::Duration lookup_timeout = absl::Milliseconds(500);
    absl::Duration report_timeout = absl::Seconds(5);
  };

  TokenServiceClient(std::shared_ptr<grpc::Channel> channel, std::string service_token,
                     Options options);

  absl::StatusOr<std::optional<LookupResult>> Lookup(const TokenHash& hash) override;
  absl::Status Report(const std::vector<UsageRecord>& batch) override;

  // A context that carries the service token, for the SyncTokens stream.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  v1::TokenSync::Stub& stub() { return *stub_; }

 private:
  std::unique_ptr<v1::TokenSync::Stub> stub_;
  std::string authorization_;  // "Bearer <service token>"; never logged
  Options options_;
};

}  // namespace tokens::sidecar
