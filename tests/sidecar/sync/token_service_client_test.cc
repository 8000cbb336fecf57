// The sidecar's proto <-> domain conversions for TokenSync.
#include "sidecar/sync/token_service_client.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace tokens::sidecar {
namespace {

constexpr char kId[] = "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b";

v1::SyncedToken GoodToken() {
  v1::SyncedToken token;
  token.set_token_hash(std::string(32, '\x7f'));
  token.set_token_id(kId);
  token.set_user_id("alice");
  token.set_expires_on("2027-04-11");
  token.set_version(42);
  token.add_scopes("things:read");
  token.add_scopes("things:write");
  return token;
}

TEST(SyncedTokenFromProtoTest, ConvertsEveryField) {
  absl::StatusOr<SyncedToken> state = SyncedTokenFromProto(GoodToken());
  ASSERT_TRUE(state.ok()) << state.status();
  TokenHash expected_hash;
  expected_hash.fill(0x7f);
  EXPECT_EQ(state->hash, expected_hash);
  EXPECT_EQ(state->id.ToString(), kId);
  EXPECT_EQ(state->user_id, "alice");
  EXPECT_EQ(state->expires_on, absl::CivilDay(2027, 4, 11));
  EXPECT_FALSE(state->revoked);
  EXPECT_EQ(state->version, 42);
  EXPECT_EQ(state->scopes, (std::vector<std::string>{"things:read", "things:write"}));
}

TEST(SyncedTokenFromProtoTest, RejectsWhatTheCacheCannotHoldNamingTheField) {
  v1::SyncedToken short_hash = GoodToken();
  short_hash.set_token_hash(std::string(31, 'x'));
  v1::SyncedToken bad_id = GoodToken();
  bad_id.set_token_id("not-a-uuid");
  v1::SyncedToken bad_date = GoodToken();
  bad_date.set_expires_on("2027-4-11");
  v1::SyncedToken bad_scope = GoodToken();
  bad_scope.add_scopes("things:read\r\nx-auth-user-role: ADMIN");
  for (const auto& [token, field] :
       {std::pair{short_hash, "token_hash"}, std::pair{bad_id, "token_id"},
        std::pair{bad_date, "expires_on"}, std::pair{bad_scope, "scopes"}}) {
    SCOPED_TRACE(field);
    absl::StatusOr<SyncedToken> state = SyncedTokenFromProto(token);
    ASSERT_FALSE(state.ok());
    EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(state.status().message().substr(0, std::string(field).size()), field);
  }
}

TEST(SyncedTokenFromProtoTest, ARevokedTokenNeedsNoDate) {
  v1::SyncedToken revoked = GoodToken();
  revoked.set_revoked(true);
  revoked.clear_expires_on();
  absl::StatusOr<SyncedToken> state = SyncedTokenFromProto(revoked);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->revoked);
}

TEST(SyncedUserFromProtoTest, MapsRoles) {
  v1::SyncedUser user;
  user.set_user_id("svc");
  user.set_role(v1::SERVICE);
  user.set_disabled(true);
  user.set_version(7);
  const SyncedUser state = SyncedUserFromProto(user);
  EXPECT_EQ(state.user_id, "svc");
  EXPECT_EQ(state.role, Role::kService);
  EXPECT_TRUE(state.disabled);
  EXPECT_EQ(state.version, 7);
  // A role this sidecar does not know leaves the owner without one.
  user.set_role(v1::ROLE_UNSPECIFIED);
  EXPECT_EQ(SyncedUserFromProto(user).role, std::nullopt);
  user.set_role(static_cast<v1::Role>(42));
  EXPECT_EQ(SyncedUserFromProto(user).role, std::nullopt);
}

TEST(FeedMessageFromProtoTest, MapsEachKindAndCarriesVersionAndRows) {
  const std::pair<v1::SyncTokensResponse::Kind, FeedMessage::Kind> kinds[] = {
      {v1::SyncTokensResponse::SNAPSHOT, FeedMessage::Kind::kSnapshot},
      {v1::SyncTokensResponse::SNAPSHOT_END, FeedMessage::Kind::kSnapshotEnd},
      {v1::SyncTokensResponse::DELTA, FeedMessage::Kind::kDelta},
      {v1::SyncTokensResponse::KIND_UNSPECIFIED, FeedMessage::Kind::kUnknown},
      // A kind added to the proto after this sidecar was built.
      {static_cast<v1::SyncTokensResponse::Kind>(7), FeedMessage::Kind::kUnknown},
  };
  for (const auto& [proto_kind, kind] : kinds) {
    v1::SyncTokensResponse message;
    message.set_kind(proto_kind);
    message.set_version(12);
    *message.add_tokens() = GoodToken();
    message.add_users()->set_user_id("alice");
    absl::StatusOr<FeedMessage> converted = FeedMessageFromProto(message);
    ASSERT_TRUE(converted.ok()) << converted.status();
    EXPECT_EQ(converted->kind, kind) << proto_kind;
    EXPECT_EQ(converted->version, 12);
    ASSERT_EQ(converted->tokens.size(), 1u);
    EXPECT_EQ(converted->tokens[0].version, 42);
    ASSERT_EQ(converted->users.size(), 1u);
    EXPECT_EQ(converted->users[0].user_id, "alice");
  }
}

TEST(FeedMessageFromProtoTest, ATokenItCannotHoldFailsTheWholeMessage) {
  v1::SyncTokensResponse message;
  message.set_kind(v1::SyncTokensResponse::DELTA);
  *message.add_tokens() = GoodToken();
  message.add_tokens()->set_token_id("not a uuid");
  absl::StatusOr<FeedMessage> converted = FeedMessageFromProto(message);
  EXPECT_EQ(converted.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(UsageToProtoTest, CarriesIdTimeAndAddress) {
  UsageRecord record;
  record.token_id = *TokenId::Parse(kId);
  record.last_used_at = absl::FromUnixMicros(1'800'000'000'123'456);
  record.client_address = "2001:db8::1";
  const v1::ReportUsageRequest request = UsageToProto({record});
  ASSERT_EQ(request.usages_size(), 1);
  EXPECT_EQ(request.usages(0).token_id(), kId);
  EXPECT_EQ(request.usages(0).last_used_at().seconds(), 1'800'000'000);
  EXPECT_EQ(request.usages(0).last_used_at().nanos(), 123'456'000);
  EXPECT_EQ(request.usages(0).client_address(), "2001:db8::1");
}

TEST(UsableClientAddressTest, KeepsOnlyPlainIpAddresses) {
  EXPECT_EQ(UsableClientAddress("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(UsableClientAddress("::1"), "::1");
  EXPECT_EQ(UsableClientAddress("2001:db8::ff00:42:8329"), "2001:db8::ff00:42:8329");
  for (const char* bad : {"", "192.0.2.1:80", "192.0.2.1, 10.0.0.1", "fe80::1%eth0", "localhost",
                          "999.1.1.1", "1.2.3", "2001:db8::1::2"}) {
    EXPECT_EQ(UsableClientAddress(bad), "") << bad;
  }
  EXPECT_EQ(UsableClientAddress(std::string(100, '1')), "");
}

TEST(UsageToProtoTest, OnlyAPlainIpAddressIsReportedAsTheClient) {
  for (const auto& [given, kept] :
       std::vector<std::pair<std::string, std::string>>{{"203.0.113.9", "203.0.113.9"},
                                                        {"2001:db8::7", "2001:db8::7"},
                                                        {"203.0.113.9, 10.0.0.2", ""},
                                                        {"fe80::1%eth0", ""},
                                                        {"client.example.com", ""},
                                                        {"10.1.2.3:4567", ""},
                                                        {"", ""}}) {
    SCOPED_TRACE(given);
    UsageRecord record;
    record.token_id = *TokenId::Parse(kId);
    record.client_address = given;
    const v1::ReportUsageRequest request = UsageToProto({record});
    ASSERT_EQ(request.usages_size(), 1);
    EXPECT_EQ(request.usages(0).client_address(), kept);
  }
}

TEST(FromGrpcTest, KeepsCodeAndMessage) {
  const absl::Status status = FromGrpc(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "down");
  EXPECT_TRUE(FromGrpc(grpc::Status::OK).ok());
}

}  // namespace
}  // namespace tokens::sidecar
