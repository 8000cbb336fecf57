#include "sidecar/sync/token_service_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/auth/role_proto.h"
#include "common/auth/scopes.h"
#include "common/net/ip_address.h"
#include "common/time/civil_date.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace tokens::sidecar {
namespace {

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoMicroseconds(timeout);
}

}  // namespace

absl::StatusOr<SyncedToken> SyncedTokenFromProto(const v1::SyncedToken& token) {
  SyncedToken state;
  if (token.token_hash().size() != state.hash.size()) {
    return absl::InvalidArgumentError("token_hash: must be 32 bytes");
  }
  std::copy(token.token_hash().begin(), token.token_hash().end(), state.hash.begin());
  std::optional<TokenId> id = TokenId::Parse(token.token_id());
  if (!id) return absl::InvalidArgumentError("token_id: must be a UUID");
  state.id = *id;
  absl::StatusOr<absl::CivilDay> expires_on = ParseIsoDate(token.expires_on());
  // A revoked token is only dropped, so its date does not matter.
  if (!expires_on.ok() && !token.revoked()) {
    return absl::InvalidArgumentError("expires_on: must be YYYY-MM-DD");
  }
  if (expires_on.ok()) state.expires_on = *expires_on;
  state.user_id = token.user_id();
  state.revoked = token.revoked();
  state.version = token.version();
  // They go into x-auth-token-scopes and WWW-Authenticate as they are.
  for (const std::string& scope : token.scopes()) {
    if (!IsScopeName(scope)) return absl::InvalidArgumentError("scopes: not a scope name");
  }
  state.scopes.assign(token.scopes().begin(), token.scopes().end());
  return state;
}

SyncedUser SyncedUserFromProto(const v1::SyncedUser& user) {
  return SyncedUser{user.user_id(), RoleFromProto(user.role()), user.disabled(), user.version()};
}

absl::StatusOr<FeedMessage> FeedMessageFromProto(const v1::SyncTokensResponse& message) {
  FeedMessage out;
  switch (message.kind()) {
    case v1::SyncTokensResponse::SNAPSHOT:
      out.kind = FeedMessage::Kind::kSnapshot;
      break;
    case v1::SyncTokensResponse::SNAPSHOT_END:
      out.kind = FeedMessage::Kind::kSnapshotEnd;
      break;
    case v1::SyncTokensResponse::DELTA:
      out.kind = FeedMessage::Kind::kDelta;
      break;
    default:
      out.kind = FeedMessage::Kind::kUnknown;
      break;
  }
  out.version = message.version();
  out.users.reserve(message.users_size());
  for (const v1::SyncedUser& user : message.users()) out.users.push_back(SyncedUserFromProto(user));
  out.tokens.reserve(message.tokens_size());
  for (const v1::SyncedToken& token : message.tokens()) {
    absl::StatusOr<SyncedToken> synced = SyncedTokenFromProto(token);
    if (!synced.ok()) return synced.status();
    out.tokens.push_back(*std::move(synced));
  }
  return out;
}

std::string UsableClientAddress(absl::string_view address) {
  // The rule token-service's ReportUsage applies, so a batch is never
  // refused for an address.
  return IsIpAddress(address) ? std::string(address) : "";
}

v1::ReportUsageRequest UsageToProto(const std::vector<UsageRecord>& batch) {
  v1::ReportUsageRequest request;
  request.mutable_usages()->Reserve(static_cast<int>(batch.size()));
  for (const UsageRecord& record : batch) {
    v1::TokenUsage* usage = request.add_usages();
    usage->set_token_id(record.token_id.ToString());
    *usage->mutable_last_used_at() = google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(
        absl::ToUnixMicros(record.last_used_at));
    usage->set_client_address(UsableClientAddress(record.client_address));
  }
  return request;
}

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::shared_ptr<grpc::Channel> NewTokenServiceChannel(
    const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  // Once token-service is back, reconnect well within half a second: the
  // sync stream waits for the connection (wait-for-ready), so this, not
  // SyncClient's backoff, decides how soon revocations flow again. Attempts
  // start 100 ms apart and spread to at most 300 ms (gRPC adds +-20 %
  // jitter, so 360 ms at worst); against a token-service that is down each
  // is one refused connection, cheap for both sides.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 300);
  // Despite its name, the least time gRPC gives one connection attempt
  // (default 20 s). Left above the backoff, so that a slow handshake (a
  // distant or busy token-service, a crowd of sidecars reconnecting at once)
  // still completes, yet a host that drops packets is tried afresh each
  // second.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 1000);
  // The sync stream may carry nothing for hours: ping so that a vanished
  // token-service (no RST, e.g. a lost host) ends the stream and the
  // sidecar reconnects elsewhere instead of waiting on it forever.
  // token-service accepts pings this often.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  // By default gRPC stops pinging after two pings without data, which is
  // exactly the quiet stream that needs them.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  if (credentials == nullptr) credentials = grpc::InsecureChannelCredentials();
  return grpc::CreateCustomChannel(address, credentials, args);
}

TokenServiceClient::TokenServiceClient(std::shared_ptr<grpc::Channel> channel,
                                       std::string service_token, Options options)
    : stub_(v1::TokenSync::NewStub(std::move(channel))),
      authorization_(absl::StrCat("Bearer ", service_token)),
      options_(options) {}

std::unique_ptr<grpc::ClientContext> TokenServiceClient::NewContext() const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", authorization_);
  return context;
}

absl::StatusOr<std::optional<LookupResult>> TokenServiceClient::Lookup(const TokenHash& hash) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  context->set_deadline(Deadline(options_.lookup_timeout));
  v1::LookupTokenRequest request;
  request.set_token_hash(std::string(hash.begin(), hash.end()));
  v1::LookupTokenResponse response;
  const grpc::Status status = stub_->LookupToken(context.get(), request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return std::nullopt;
  if (!status.ok()) return FromGrpc(status);
  absl::StatusOr<SyncedToken> token = SyncedTokenFromProto(response.token());
  if (!token.ok())
    return absl::InternalError(
        absl::StrCat("LookupToken answered a bad token: ", token.status().message()));
  return LookupResult{*std::move(token), SyncedUserFromProto(response.user())};
}

absl::Status TokenServiceClient::Report(const std::vector<UsageRecord>& batch) {
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  context->set_deadline(Deadline(options_.report_timeout));
  v1::ReportUsageResponse response;
  return FromGrpc(stub_->ReportUsage(context.get(), UsageToProto(batch), &response));
}

}  // namespace tokens::sidecar
